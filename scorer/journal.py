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

log = logging.getLogger("spe.watch")

MAX_CRASHES = 2  # decoding at this many crashes: not tried again
COMPACT_BYTES = 256 * 1024  # rewritten when idle and this big


def journal_path_for(ledger_path: Path) -> Path:
    return ledger_path.with_name(f".{ledger_path.name}.decoding")


class DecodeJournal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        # Photos that were being decoded when the daemon died, and at how many crashes.
        self.suspects: dict[str, int] = self._load()
        self._active = 0
        self._file = open(path, "w", encoding="utf-8")  # noqa: SIM115 - held open for appends
        for name, crashes in self.suspects.items():
            log.warning("%s was being decoded when the daemon stopped unexpectedly (%d time%s)",
                        name, crashes, "" if crashes == 1 else "s")

    def _load(self) -> dict[str, int]:
        try:
            lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return {}
        open_entries: dict[str, int] = {}
        for line in lines:
            try:
                entry = json.loads(line)
                path, crashes = entry["path"], int(entry.get("crashes", 0))
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by the crash itself
            if entry.get("done"):
                open_entries.pop(path, None)
            else:
                open_entries[path] = crashes
        return {path: crashes + 1 for path, crashes in open_entries.items()}

    def refused(self, path: str) -> str | None:
        """The error for a photo that was being decoded at MAX_CRASHES crashes, else None."""
        crashes = self.suspects.get(path, 0)
        if crashes < MAX_CRASHES:
            return None
        return (f"the daemon died {crashes} times while decoding this file "
                "(out of memory?); not tried again")

    @contextlib.contextmanager
    def decoding(self, path: str) -> Iterator[None]:
        """Around the decode of ``path``: its entry, then its end."""
        self.begin(path)
        try:
            yield
        finally:
            self.end(path)

    def begin(self, path: str) -> None:
        self._write({"path": path, "crashes": self.suspects.get(path, 0)}, +1)

    def end(self, path: str) -> None:
        self._write({"path": path, "done": True}, -1)

    def _write(self, entry: dict, change: int) -> None:
        line = json.dumps(entry, ensure_ascii=True) + "\n"
        with self._lock:
            if self._file.closed:
                return  # a decode abandoned at a stop, ending after it
            if entry.get("done"):
                self.suspects.pop(entry["path"], None)
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
            self._file.close()
            try:
                os.unlink(self.path)
            except OSError:
                pass
