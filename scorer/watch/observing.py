"""The inbox's watch, kept on the inbox that is there: one removed and made again
(`rm -r inbox && mkdir inbox`, a re-mounted share) is a new folder, which inotify's
watch on the old one never sees. Its identity is checked about once a second; when it
changes, the watch is set up again on the new folder, said in the log, and the new
folder is scanned (what arrived before the new watch). A missing inbox is said once,
and watched again when it is back."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scorer.core.errors import SpeError
from scorer.watch.events import start_observer

log = logging.getLogger("spe.watch")
CHECK_SECONDS = 1.0  # how often the inbox's identity is looked at


def identity(folder: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(folder)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


class InboxObserver:
    """watchdog's observer on the inbox, set up again when the inbox is replaced."""

    def __init__(self, root: Path, options: Any, on_event: Callable[[str, str], None],
                 on_rescan: Callable[[], None]) -> None:
        self.root, self.polling = root, bool(options.polling)  # options: WatchOptions
        self._on_event, self._on_rescan = on_event, on_rescan
        self._observer: Any = None
        self._identity: tuple[int, int] | None = None
        self._next_check = 0.0
        self._given_up = False  # this folder could not be watched: the rescans find its photos

    def start(self) -> None:
        """Watch the inbox (WatchError when the system's watch limit is too low)."""
        self._identity, self._given_up = identity(self.root), False
        self._observer = start_observer(self.root, self.polling, self._on_event,
                                        self._on_rescan)

    def check(self) -> None:
        """About once a second: is the inbox still the folder being watched?"""
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + CHECK_SECONDS
        current = identity(self.root)
        # A folder made again may get the old one's inode number back: the watch itself
        # says it ended (inotify's IN_DELETE_SELF stops watchdog's emitter).
        if current == self._identity and (self._watching() or self._given_up):
            return
        if current is None:
            if self._identity is not None:
                log.warning("the inbox %s is gone; it is watched again when it is back",
                            self.root)
            self._identity = None
            return
        log.warning("the inbox %s was removed and made again: watching the new folder",
                    self.root)
        self.stop()
        try:
            self.start()
        except (SpeError, OSError) as exc:  # said, and the rescans still see the photos
            log.error("cannot watch the new inbox (%s); photos are found by the rescans",
                      getattr(exc, "reason", exc))
            self._identity, self._given_up = current, True
        self._on_rescan()

    def _watching(self) -> bool:
        emitters = list(getattr(self._observer, "emitters", ()))
        return bool(emitters) and all(emitter.is_alive() for emitter in emitters)

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()

    def join(self, timeout: float) -> None:
        if self._observer is not None:
            self._observer.join(timeout=timeout)
