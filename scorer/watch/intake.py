"""What the watcher hands the engine: photos from inotify's events and from scans, each
once while it is in flight, complete (the tracker judges that) and wanted (the inbox)."""

from __future__ import annotations

import logging
from pathlib import Path

from scorer.core.text import display_path, one_line
from scorer.scoring.engine import Engine, Outcome
from scorer.watch.completion import CompletionTracker, Stat, lstat
from scorer.watch.inbox import Inbox

log = logging.getLogger("spe.watch")


class Intake:
    def __init__(self, inbox: Inbox, tracker: CompletionTracker, engine: Engine,
                 settle: float) -> None:
        self.inbox, self.tracker, self.engine, self.settle = inbox, tracker, engine, settle
        self.in_flight: set[str] = set()

    def event(self, kind: str, path: str) -> None:
        """One of watchdog's events (events.py names them), on the main loop's thread."""
        log.debug("event %s %s", kind, one_line(path))
        if kind in ("dir-moved", "dir-created"):
            # Moved in: its photos are complete. Created: files written before
            # its watch was set, maybe still being written.
            self.scan(Path(path), min_age=0.0 if kind == "dir-moved" else self.settle)
        elif kind == "deleted":
            self.tracker.deleted(path)
        elif not self.inbox.wanted(path):
            if kind in ("closed", "moved", "created"):
                self.inbox.passed_over(path)
        else:
            judge = {"closed": self.tracker.closed, "moved": self.tracker.moved,
                     "created": self.tracker.created, "modified": self.tracker.modified}
            stat = judge[kind](path)
            if stat is not None:  # complete now
                self.submit(path, stat)

    def scan(self, folder: Path, min_age: float) -> int:
        """Submit every photo under ``folder`` not yet handled; count them. A file
        changed in the last ``min_age`` seconds waits in the tracker until it settles."""
        found = 0
        busy = self.in_flight.__contains__
        for path, stat in self.inbox.scan(folder, skip=lambda p: busy(p) or p in self.tracker):
            if ((min_age and self.inbox.recent(stat, min_age))
                    or (stat[0] == 0 and self.inbox.recent(stat, self.tracker.empty_timeout))):
                self.tracker.wait(path, stat)
            else:
                self.submit(path, stat)
                found += 1
        return found

    def submit(self, path: str, stat: Stat | None = None) -> None:
        if path not in self.in_flight:
            self.in_flight.add(path)
            self.engine.submit(path, display_path(path), token=stat or lstat(path))

    def deferred(self, outcome: Outcome) -> bool:
        """Nothing to finish yet: gone before it was read, or cut short (its writer may
        still be adding to it: it waits, said once, for a longer quiet period)."""
        if outcome.skipped_as == "gone":
            log.debug("gone before it was read: %s", one_line(outcome.display))
            return True
        if outcome.skipped_as != "cut short":
            return False
        wait = self.engine.policy.wait_cut_short
        log.info("waiting for the rest of %s: it ends before its format's end; it is scored "
                 "once unchanged for %.0f s", one_line(outcome.display), wait)
        self.tracker.wait(outcome.path, outcome.token, quiet=wait)
        return True

    def settled(self) -> None:
        """Submit the files the tracker judges complete now."""
        for path, stat in self.tracker.due():
            self.submit(path, stat)
