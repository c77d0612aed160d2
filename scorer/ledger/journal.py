"""The photos being decoded, on disk: a file that kills the daemon cannot kill every start.

A photo that takes the process down while it is decoded (the kernel's OOM
killer, a crash in a decoder) has no row, so every restart would decode it
again and die the same way. Each decode is recorded in a small journal beside
the CSV (``.NAME.decoding``) once its memory is held, just before it starts
(a photo waiting for memory cannot be what killed the process), and struck
off when it ends; at
start, the entries not struck off are the photos that were being decoded when
the daemon died. A photo found there at two starts in a row (it was being
decoded at two crashes) gets an error row instead of a third try.

A photo is known by its path and the sha256 of its bytes: another photo saved
later under the same name is a new photo, never refused for the old one's
crashes. The journal is read as untrusted (any shape, any size, a folder or a
symlink at its name: at worst it is ignored, with one log line) and created
anew with O_EXCL | O_NOFOLLOW, so a link planted at its name is never followed.

Written without fsync: the journal is about the process dying, not the
machine (after a power cut every photo is simply tried again).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from scorer.core.ownfiles import read_own

log = logging.getLogger("spe.watch")

MAX_CRASHES = 2  # decoding at this many crashes: not tried again
COMPACT_BYTES = 256 * 1024  # rewritten when idle and this big
MAX_JOURNAL_BYTES = 16 * 1024 * 1024  # a larger file at its name is not ours: ignored
Key = tuple[str, str]  # (path, sha256 of its bytes)


def journal_path_for(ledger_path: Path) -> Path:
    return ledger_path.with_name(f".{ledger_path.name}.decoding")


class DecodeJournal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        # Photos that were being decoded when the daemon died, and at how many crashes.
        self.suspects: dict[Key, int] = self._load()
        self._active = 0
        self._file = self._create()
        for (name, _), crashes in self.suspects.items():
            log.warning("%s was being decoded when the daemon stopped unexpectedly (%d time%s)",
                        name, crashes, "" if crashes == 1 else "s")

    def _create(self) -> IO[str] | None:
        """A fresh journal: the old entry at its name removed (a link: the link itself),
        then created exclusively. None, with one line, if that cannot be done."""
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            log.warning("%s: cannot keep the decode journal there (%s): a photo that kills "
                        "the daemon will be tried again at every start", self.path,
                        exc.strerror or exc)
            return None
        return os.fdopen(fd, "w", encoding="utf-8")

    def _load(self) -> dict[Key, int]:
        raw = read_own(self.path, MAX_JOURNAL_BYTES)
        if raw is None:
            if os.path.lexists(self.path):
                log.warning("%s: not a decode journal (not a regular file, or too large): "
                            "ignored", self.path)
            return {}
        open_entries: dict[Key, int] = {}
        for line in raw.decode("utf-8", "replace").splitlines():
            entry = _entry(line)
            if entry is None:
                continue  # a line cut short by the crash itself, or not ours
            key, crashes, done = entry
            if done:
                open_entries.pop(key, None)
            else:
                open_entries[key] = crashes
        return {key: crashes + 1 for key, crashes in open_entries.items()}

    def refused(self, path: str, sha256: str) -> str | None:
        """The error for a photo that was being decoded at MAX_CRASHES crashes, else None."""
        crashes = self.suspects.get((path, sha256), 0)
        if crashes < MAX_CRASHES:
            return None
        return (f"the daemon died {crashes} times while decoding this file "
                "(out of memory?); not tried again")

    def is_suspect(self, path: str, sha256: str) -> bool:
        return (path, sha256) in self.suspects

    def suspect_path(self, path: str) -> bool:
        """Some bytes at ``path`` were being decoded when the daemon died: before they are
        read (and their sha256 known), they take the whole memory budget."""
        return any(suspect == path for suspect, _ in self.suspects)

    @contextlib.contextmanager
    def decoding(self, path: str, sha256: str) -> Iterator[None]:
        """Around the decode of ``path``: its entry, then its end."""
        self.begin(path, sha256)
        try:
            yield
        finally:
            self.end(path, sha256)

    def begin(self, path: str, sha256: str) -> None:
        self._write({"path": path, "sha256": sha256,
                     "crashes": self.suspects.get((path, sha256), 0)}, +1)

    def end(self, path: str, sha256: str) -> None:
        self._write({"path": path, "sha256": sha256, "done": True}, -1)

    def _write(self, entry: dict, change: int) -> None:
        line = json.dumps(entry, ensure_ascii=True) + "\n"
        with self._lock:
            if self._file is None or self._file.closed:
                return  # no journal here, or a decode abandoned at a stop, ending after it
            if entry.get("done"):
                self.suspects.pop((entry["path"], entry["sha256"]), None)
            try:
                self._file.write(line)
                self._file.flush()
                self._active += change
                if self._active == 0 and self._file.tell() > COMPACT_BYTES:
                    self._file.seek(0)
                    self._file.truncate()
            except OSError as exc:  # a full disk: the journal is a safeguard, not the work
                log.debug("cannot write %s: %s", self.path, exc)

    def close(self) -> None:
        """A clean stop: decodes abandoned now did not crash anything; forget them all."""
        with self._lock:
            if self._file is None:
                return
            self._file.close()
            try:
                os.unlink(self.path)
            except OSError:
                pass


def _entry(line: str) -> tuple[Key, int, bool] | None:
    """One journal line as (key, crashes, done), or None for anything else."""
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if not isinstance(entry, dict):
        return None
    path, sha256, crashes = entry.get("path"), entry.get("sha256", ""), entry.get("crashes", 0)
    if not (isinstance(path, str) and isinstance(sha256, str) and isinstance(crashes, int)
            and not isinstance(crashes, bool) and 0 <= crashes < 1000):
        return None
    return (path, sha256), crashes, entry.get("done") is True
