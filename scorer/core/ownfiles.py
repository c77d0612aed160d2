"""Files spe keeps beside the CSV or the page (index, journal, temporaries): never
through a symlink, never half written.

The default CSV sits in the inbox, which uploaders can write: a symlink planted
at one of these names must not make spe truncate or overwrite the file it points
to. New files are created with O_EXCL | O_NOFOLLOW under a temporary name (any
old entry at that name, a symlink included, is removed first: unlinking a
symlink removes the link, not its target), written, fsynced, renamed over the
real name (a rename replaces a symlink at the destination, it does not follow
it) and the folder fsynced. Reads open with O_NOFOLLOW and accept only regular
files (a FIFO would block, a device could be endless).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

MAX_OWN_FILE = 1 << 30  # what spe reads of one of its own files, at most


@contextlib.contextmanager
def replaced(path: Path) -> Iterator[BinaryIO]:
    """Write ``path`` whole: a fresh temporary beside it, fsync, rename, fsync the folder.
    On any error the temporary is removed and ``path`` is as it was; OSError is raised."""
    tmp = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)  # a leftover or a planted symlink: the entry itself goes
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    sync_folder(path.parent)


def write_file(path: Path, data: bytes) -> None:
    """``path`` written whole and durably (see replaced): a power cut leaves the old file
    or the new one, never an empty or a half one."""
    with replaced(path) as handle:
        handle.write(data)


def rename_durably(source: Path, target: Path) -> None:
    """Put a file written elsewhere in its place so that a power cut after this returns
    keeps it: its bytes synced before the rename, the folder's entry after."""
    fd = os.open(source, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(source, target)
    sync_folder(target.parent)


def sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_own(path: Path, limit: int = MAX_OWN_FILE) -> bytes | None:
    """The bytes of one of spe's own files; None if it is missing, not a regular file
    (a symlink, a folder, a FIFO), larger than ``limit`` or unreadable."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        chunks, left = [], info.st_size
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 24))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)
