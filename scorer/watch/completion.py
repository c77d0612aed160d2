"""Is this file complete? The judgement the watcher makes before scoring a photo.

A photo must be scored only once its writer is done with it. inotify tells a
lot, but not everything, and events get lost:

- Closed after a write, or Moved in (rename, `mv` from elsewhere): complete now.
- Created only (`mv` within a file system gives nothing else): complete now if
  its mtime is older than ``settle`` (a moved file keeps its mtime; one being
  written has a fresh one), else once size and mtime stay unchanged for
  ``settle`` seconds.
- Modified: a Closed event will follow (inotify), so it waits for that; but
  events get lost, so after ``closed_timeout`` seconds without one the file is
  judged by its size and mtime alone, like a created-only file. (Without the
  timeout a lost Closed left the file pending for ever.)
- With polling (network shares) there are no Closed events: every file waits
  until it is unchanged for ``settle`` seconds.
- An empty file is never complete on an event: a shell's ``cmd > photo.jpg``
  creates (and may close) the file long before the first byte arrives. It is
  judged (an "empty file" row) only once it has stayed empty for
  ``empty_timeout`` seconds (30 settle times: 30 s at the default).

The clock and the stat are injected, so the rules are tested without threads,
inotify or waiting (tests/test_completion.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from scorer.core.settings import SETTLE_SECONDS

Stat = tuple[int, int]  # size in bytes, mtime in nanoseconds
# A Modified file with no Closed event after this many settle times (30 s at the
# default) is judged by its size and mtime alone: its Closed event was lost.
CLOSED_TIMEOUT_SETTLES = 30
# An empty file gets its "empty file" row only after staying empty this long.
EMPTY_TIMEOUT_SETTLES = 30


def lstat(path: str) -> Stat | None:
    """Size and mtime of the file itself: symlinks are not followed (the inbox never does)."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


@dataclass
class _Pending:
    """A file seen by an event but not yet known to be complete."""

    last_change: float
    stat: Stat | None = None
    written: bool = False  # a Modified event came: wait for Closed (or the timeout)
    quiet: float | None = None  # seconds unchanged it needs, if not the settle time


class CompletionTracker:
    """Pending files, and the rules that say when each is complete."""

    def __init__(self, settle: float = SETTLE_SECONDS, polling: bool = False,
                 closed_timeout: float | None = None, empty_timeout: float | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time,
                 stat: Callable[[str], Stat | None] = lstat) -> None:
        self.settle, self.polling = settle, polling
        self.closed_timeout = (closed_timeout if closed_timeout is not None
                               else max(CLOSED_TIMEOUT_SETTLES * settle, 1.0))
        self.empty_timeout = (empty_timeout if empty_timeout is not None
                              else max(EMPTY_TIMEOUT_SETTLES * settle, 1.0))
        self._clock, self._wall, self._stat = clock, wall, stat
        self._pending: dict[str, _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, path: str) -> bool:
        return path in self._pending

    def closed(self, path: str) -> Stat | None:
        """Closed after a write: complete now, unless empty. Returns its stat for the caller
        to submit, or None (pending)."""
        stat = self._stat(path)
        if stat is not None and stat[0] == 0:
            self._pending.setdefault(path, _Pending(self._clock(), stat)).written = False
            return None
        self._pending.pop(path, None)
        return stat

    moved = closed  # renamed or moved in: complete now

    def created(self, path: str) -> Stat | None:
        """Created only: its stat if complete now (an old mtime), else None (pending)."""
        stat = self._stat(path)
        if stat and stat[0] > 0 and self._wall() - stat[1] / 1e9 > self.settle:
            self._pending.pop(path, None)
            return stat
        self._pending.setdefault(path, _Pending(self._clock(), stat))
        return None

    def modified(self, path: str) -> None:
        pending = self._pending.setdefault(path, _Pending(self._clock()))
        pending.last_change, pending.stat = self._clock(), self._stat(path)
        # With inotify a close event will follow; polling never sends one.
        pending.written = not self.polling

    def deleted(self, path: str) -> None:
        self._pending.pop(path, None)

    def wait(self, path: str, stat: Stat | None, quiet: float | None = None) -> None:
        """Found by a scan while maybe still being written: pending until it settles (or
        until unchanged for ``quiet`` seconds: a photo cut short, its writer maybe still
        at it)."""
        pending = self._pending.setdefault(path, _Pending(self._clock(), stat))
        if quiet is not None:
            pending.quiet = quiet

    def due(self) -> Iterator[tuple[str, Stat]]:
        """The pending files that are complete now (and no longer pending)."""
        now = self._clock()
        for path, pending in list(self._pending.items()):
            quiet = now - pending.last_change
            if pending.written and quiet < self.closed_timeout:
                continue
            if quiet < (pending.quiet if pending.quiet is not None else self.settle):
                continue
            stat = self._stat(path)
            if stat is None:
                del self._pending[path]  # gone again
            elif stat[0] == 0 and stat == pending.stat and quiet < self.empty_timeout:
                continue  # created, its bytes still to come
            elif stat != pending.stat:
                pending.stat, pending.last_change, pending.written = stat, now, False
            else:
                del self._pending[path]
                yield path, stat
