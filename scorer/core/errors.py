"""The scorer's few exceptions, each carrying the one-line reason a person reads.

OpenCV, the TFLite runtimes and the file system raise many kinds of errors;
they are mapped into these at the place they happen, so the CLI, the CSV and
the daemon only ever deal with these.
"""

from __future__ import annotations

import errno

# One table: an OSError's errno as the few words a person reads, in a CSV cell or a log
# line, wherever the file system refused (a photo, a folder, the CSV).
OS_REASONS = {
    errno.ENOENT: "file not found (vanished?)",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EISDIR: "is a directory",
    errno.ELOOP: "symlink loop",
    errno.ENAMETOOLONG: "path too long",
    errno.ENOSPC: "disk full",
    errno.EFBIG: "file too large",
}


def os_reason(exc: OSError) -> str:
    """The table's words for ``exc``, else the system's own."""
    return OS_REASONS.get(exc.errno or 0, exc.strerror or type(exc).__name__)


class SpeError(Exception):
    """Base class: ``str(err)`` is a single line fit for a CSV cell or stderr."""

    def __init__(self, reason: str) -> None:
        # A reason must stay on one line wherever it lands.
        super().__init__(" ".join(str(reason).split()))

    @property
    def reason(self) -> str:
        return str(self)


class PhotoError(SpeError):
    """One input photo cannot be scored; the batch goes on."""


class PhotoGone(PhotoError):
    """The file was not there when it was to be read (batch-score: an error row;
    the daemon: nothing to do, it was deleted or renamed since its event)."""


class ModelError(SpeError):
    """The model or its card is missing, corrupt or does not match (fatal, exit 2)."""


class RuntimeMissing(ModelError):
    """The TFLite runtime asked for is not installed (the trainer skips it when verifying)."""


class OutputError(SpeError):
    """The scores CSV cannot be opened or written (fatal at start, exit 2)."""


class UsageError(SpeError):
    """The command's arguments cannot work together (exit 2)."""


class WatchError(SpeError):
    """The inbox cannot be watched (inotify's limits; exit 2)."""


class ClusterError(SpeError):
    """The Ray cluster cannot be reached or used (exit 2)."""
