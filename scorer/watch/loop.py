"""``spe watch``: score every photo that lands in an inbox folder, exactly once.

The CSV is the ledger: a photo whose sha256 already has an ok row for this
model is not scored again, so a restart after a crash, a kill -9 or a power
cut scores exactly the photos that have no row. Work comes from inotify
events (``events.py``) once the completion tracker (``completion.py``) judges
a file complete, and from a scan of the inbox (``inbox.py``) at start and
every ``--rescan-interval`` seconds, because events get lost (queue overflow,
photos that arrived while the daemon was down).

Photos are moved to ``--processed`` / ``--failed`` only after their row is on
disk. When the CSV cannot be written (disk full), the photos wait, the daemon
says so, and it retries until the rows are written. This module is the loop
that wires those parts together, with the signals and systemd's notify.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scorer.core.errors import OutputError, SpeError
from scorer.core.settings import DEFAULTS, RESCAN_INTERVAL, SETTLE_SECONDS, WATCH, Scoring
from scorer.core.text import one_line
from scorer.ledger.journal import DecodeJournal, journal_path_for
from scorer.ledger.ledger import Ledger
from scorer.model.runtime import Model
from scorer.photos.decode import current_identity
from scorer.scoring.engine import Engine, Outcome
from scorer.watch.completion import CompletionTracker
from scorer.watch.inbox import Inbox
from scorer.watch.intake import Intake
from scorer.watch.notify import Notifier
from scorer.watch.observing import InboxObserver

log = logging.getLogger("spe.watch")

TICK_SECONDS = 0.05  # main loop wake-up: bounds the latency added by the loop
# Rows for photos already decoded are written at a stop, for at most this long
# (the README promises a stop within 5 s; decodes in progress are abandoned).
SHUTDOWN_SECONDS = 2.0
OUTPUT_RETRY_SECONDS = 5.0
OVERFLOW_RESCAN_SECONDS = 5.0  # at least this long between scans asked for by overflows


@dataclass
class WatchOptions:
    inbox: Path
    processed: Path | None = None
    failed: Path | None = None
    rescan_interval: float = RESCAN_INTERVAL
    polling: bool = False
    scoring: Scoring = DEFAULTS
    settle: float = SETTLE_SECONDS


class OutputRetry:
    """While the CSV cannot be written (disk full, a failed reopen): say so, wait, try again."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier, self._until = notifier, 0.0

    def waiting(self) -> bool:
        return time.monotonic() < self._until

    def failed(self, exc: OutputError, photos_waiting: int | None = None) -> None:
        if photos_waiting is None:
            log.error("%s", exc.reason)
        else:
            log.error("%s; %d photos wait, retrying in %.0f s", exc.reason, photos_waiting,
                      OUTPUT_RETRY_SECONDS)
            self.notifier.status(f"cannot write scores: {exc.reason}")
        self._until = time.monotonic() + OUTPUT_RETRY_SECONDS


def report(outcome: Outcome, counts: Counter[str]) -> bool:
    """Log one photo's outcome and count it; True if it belongs in --failed."""
    shown, row = one_line(outcome.display), outcome.row
    if row is None:
        counts["skipped"] += 1
        if outcome.same_as:
            log.info("skipped %s: the same bytes as %s (scored once)", shown,
                     one_line(outcome.same_as))
        else:
            log.info("skipped %s: already in the CSV", shown)
        return outcome.skipped_as == "failed"
    if row.duplicate_of:
        counts["duplicates"] += 1
        log.info("scored %s: the same bytes as %s, %.1f likes (percentile %.0f)", shown,
                 one_line(row.duplicate_of), row.predicted_likes, row.percentile)
        return False
    if row.ok:
        counts["scored"] += 1
        log.info("scored %s: %.1f likes (percentile %.0f)", shown, row.predicted_likes,
                 row.percentile)
        return False
    counts["failed"] += 1
    log.warning("failed %s: %s", shown, row.error)
    return True


class Watcher:
    """The loop: events and scans in, the engine's outcomes out, moves, signals, notify."""

    def __init__(self, options: WatchOptions, model: Model, ledger: Ledger,
                 reload: Callable[[], Model] | None = None) -> None:
        self.options = options
        self.inbox = Inbox(options.inbox, [p for p in (options.processed, options.failed) if p])
        self.tracker = CompletionTracker(options.settle, options.polling)
        self.ledger = ledger
        self.journal = DecodeJournal(journal_path_for(ledger.path)) if ledger.path else None
        self.engine = Engine(model, ledger, options.scoring, WATCH, journal=self.journal)
        self.notifier = Notifier()
        self.counts: Counter[str] = Counter()  # this run's photos: scored, skipped, failed
        self._events: queue.Queue[tuple[str, str]] = queue.Queue()
        self.intake = Intake(self.inbox, self.tracker, self.engine, options.settle)
        self._stop, self._reopen, self._rescan_now = (threading.Event() for _ in range(3))
        self._output = OutputRetry(self.notifier)
        self._reload = reload  # loads the model and card at --model again (SIGHUP)
        self._observer = InboxObserver(self.inbox.root, options, self.on_event, self.request_rescan)

    def on_event(self, kind: str, path: str) -> None:
        """Called from watchdog's thread: hand over to the main loop."""
        self._events.put((kind, path))

    def _handle_events(self) -> None:
        while True:
            try:
                kind, path = self._events.get_nowait()
            except queue.Empty:
                return
            self.intake.event(kind, path)

    def _finish(self, outcome: Outcome) -> None:
        self.intake.in_flight.discard(outcome.path)
        if self.intake.deferred(outcome):
            return
        failed = report(outcome, self.counts)
        if outcome.identity is not None and current_identity(outcome.path) != outcome.identity:
            # Replaced (or rewritten) after its bytes were read: the row is for the
            # old bytes; the file now there is new work, never moved unscored.
            log.info("changed while being scored, scoring it again: %s",
                     one_line(outcome.display))
            self.intake.submit(outcome.path)
            return
        target = self.options.failed if failed else self.options.processed
        if target is not None:
            if not self.inbox.move(outcome.path, target, outcome.identity):
                self.intake.submit(outcome.path)  # replaced during the move: put back, new work
        else:
            self.inbox.remember(outcome.path, outcome.token)

    def _step(self) -> None:
        if self._output.waiting():
            time.sleep(TICK_SECONDS)
            return
        try:
            outcomes = self.engine.step(timeout=TICK_SECONDS)
        except OutputError as exc:
            self._output.failed(exc, self.engine.in_flight)
            return
        for outcome in outcomes:
            self._finish(outcome)

    def status_line(self) -> str:
        copies = self.counts["duplicates"]
        return (f"scored {self.counts['scored']}{f', {copies} duplicates' if copies else ''}, "
                f"skipped {self.counts['skipped']}, failed "
                f"{self.counts['failed']}, queued {self.engine.in_flight + len(self.tracker)}; "
                f"model {self.engine.model.model_id}")

    def request_rescan(self) -> None:
        """Scan the inbox at the next turn of the loop (events were lost)."""
        self._rescan_now.set()

    def run(self) -> int:
        self._observer.start()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self._stop.set())
        signal.signal(signal.SIGHUP, lambda *_: self._reopen.set())
        started = self.intake.scan(self.inbox.root, min_age=self.options.settle)
        log.info("watching %s (%s); %d photos found at start; model %s on %s, %s kernels",
                 self.inbox.root, "polling" if self.options.polling else "inotify", started,
                 self.engine.model.model_id, self.engine.model.runtime,
                 self.engine.model.kernels)
        self.notifier.ready(self.status_line())
        try:
            self._loop()
        finally:
            self.notifier.stopping()
            self._observer.stop()
            self._drain()
            self._observer.join(timeout=1.0)
            self.engine.close(wait=False)
            if self.journal is not None:
                self.journal.close()
            self.ledger.close()
        log.info("stopped: %s", self.status_line())
        return 0

    def _loop(self) -> None:
        next_rescan = time.monotonic() + self.options.rescan_interval
        last_scan = time.monotonic()
        while not self._stop.is_set():
            if self._reopen.is_set():
                self._reopen.clear()
                self._reopen_output()
            self._observer.check()
            self._handle_events()
            self.intake.settled()
            now = time.monotonic()
            # After an overflow, rescan soon but not at once again: should a scan
            # itself ever overflow the queue, that must not become a loop.
            if now >= next_rescan or (self._rescan_now.is_set()
                                      and now - last_scan >= OVERFLOW_RESCAN_SECONDS):
                self._rescan_now.clear()
                last_scan = now
                self.inbox.prune()
                found = self.intake.scan(self.inbox.root, min_age=self.options.settle)
                if found:
                    log.info("rescan found %d photos", found)
                next_rescan = time.monotonic() + self.options.rescan_interval
            self._step()
            self.notifier.ping_if_due()
            self.notifier.status(self.status_line())

    def _drain(self) -> None:
        """Write the rows of the photos already decoded; abandon decodes in progress
        (their photos stay in the inbox for the next start), so a stop is prompt."""
        deadline = time.monotonic() + SHUTDOWN_SECONDS
        while self.engine.in_flight and time.monotonic() < deadline:
            try:
                outcomes = self.engine.step(timeout=0)
            except OutputError as exc:
                log.error("%s; unscored photos stay in the inbox", exc.reason)
                return
            if not outcomes:
                return  # the rest are still decoding
            for outcome in outcomes:
                self._finish(outcome)

    def _reopen_output(self) -> None:
        try:
            self.ledger.reopen()
            log.info("reopened %s", self.ledger.path)
        except OutputError as exc:
            self._output.failed(exc)
        if self._reload is not None:
            reload_model(self.engine, self._reload)


def reload_model(engine: Engine, reload: Callable[[], Model]) -> None:
    """SIGHUP: load the model and card at --model again. A model that fails to load
    (or to answer, in its trial: scorer/model/modeltrial.py) leaves the running one in place;
    rows from now on carry the new model's id."""
    old = engine.model
    try:
        new = reload()
    except SpeError as exc:
        log.error("cannot reload the model (%s); still scoring with %s", exc.reason,
                  old.model_id)
        return
    engine.swap_model(new)
    if new.model_id == old.model_id:
        log.info("model reloaded: unchanged (%s)", new.model_id)
    else:
        log.info("model reloaded: now %s (was %s), on %s, %s kernels", new.model_id,
                 old.model_id, new.runtime, new.kernels)
