"""``spe watch``: score every photo that lands in an inbox folder, exactly once.

The CSV is the ledger: a photo whose sha256 already has an ok row for this
model is not scored again, so a restart after a crash, a kill -9 or a power
cut scores exactly the photos that have no row. Sources of work:

- inotify events (watchdog): a file closed after writing, or moved/renamed
  into the inbox, is complete. A file that was only created (``mv`` within a
  file system) is complete at once when its mtime is older than ``settle``
  seconds (a moved file keeps its mtime; a file being written has a fresh
  one), else once it stays unchanged for ``settle`` seconds.
  With ``--polling`` (network shares) there are no close events, so every
  file waits until it is unchanged for ``settle`` seconds.
- a scan at start and every ``--rescan-interval`` seconds, because events get
  lost (queue overflow, photos that arrived while the daemon was down).

Photos are moved to ``--processed`` / ``--failed`` only after their row is on
disk. When the CSV cannot be written (disk full), the photos wait, the daemon
says so, and it retries until the rows are written.

Symlinks in the inbox are not followed: each gets an error row ("symlink, not
followed"), so a link dropped into a shared inbox cannot make the daemon read
(and publish the sha256 of) a file outside it. A folder named like a photo
(``x.jpg/``) is a folder: the photos inside it are scored.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .decode import DEFAULT_MAX_PIXELS
from .discover import is_junk_dir, is_photo_name
from .engine import Engine, Outcome
from .errors import OutputError
from .ledger import Ledger, display_path, one_line
from .notify import Notifier
from .runtime import Model

log = logging.getLogger("spe.watch")

SETTLE_SECONDS = 1.0  # a created-only file unchanged this long is complete
TICK_SECONDS = 0.05  # main loop wake-up: bounds the latency added by the loop
SHUTDOWN_SECONDS = 4.0  # finish the batch in hand, within systemd's stop timeout
OUTPUT_RETRY_SECONDS = 5.0


@dataclass
class _Pending:
    """A file seen by an event but not yet known to be complete."""

    last_change: float
    stat: tuple[int, int] | None = None
    written: bool = False  # a Modified event came: wait for Closed


@dataclass
class WatchOptions:
    inbox: Path
    processed: Path | None = None
    failed: Path | None = None
    rescan_interval: float = 60.0
    polling: bool = False
    threads: int = 2
    batch_size: int = 32
    max_pixels: int = DEFAULT_MAX_PIXELS
    settle: float = SETTLE_SECONDS


class Watcher:
    def __init__(self, options: WatchOptions, model: Model, ledger: Ledger) -> None:
        self.options = options
        self.inbox = options.inbox.resolve()
        self.model = model
        self.ledger = ledger
        self.engine = Engine(model, ledger, threads=options.threads,
                             batch_size=options.batch_size, max_pixels=options.max_pixels,
                             skip_failed=True, follow_symlinks=False)
        self.notifier = Notifier()
        self.counts: Counter[str] = Counter()  # this run's photos: scored, skipped, failed
        self._events: queue.Queue[tuple[str, str]] = queue.Queue()
        self._pending: dict[str, _Pending] = {}
        self._in_flight: set[str] = set()
        # Files already handled and still in the inbox (no --processed): the
        # rescan passes over them while their size and mtime stay the same.
        self._handled: dict[str, tuple[int, int]] = {}
        self._stop = threading.Event()
        self._reopen = threading.Event()
        self._rescan_now = threading.Event()
        self._excluded = [p.resolve() for p in (options.processed, options.failed) if p]
        self._output_blocked_until = 0.0

    # -- sources of work -------------------------------------------------

    def wanted(self, path: str) -> bool:
        """A photo in the inbox (not in processed/failed, junk or temporary)."""
        p = Path(path)
        if not is_photo_name(p.name):
            return False
        try:
            relative = p.relative_to(self.inbox)
        except ValueError:
            return False
        if any(is_junk_dir(part) for part in relative.parts[:-1]):
            return False
        return not any(p == ex or ex in p.parents for ex in self._excluded)

    def on_event(self, kind: str, path: str) -> None:
        """Called from watchdog's thread: hand over to the main loop."""
        self._events.put((kind, path))

    def _handle_events(self) -> None:
        now = time.monotonic()
        while True:
            try:
                kind, path = self._events.get_nowait()
            except queue.Empty:
                return
            log.debug("event %s %s", kind, one_line(path))
            if kind == "dir-moved":  # a folder moved in: its photos are complete
                self._scan(Path(path), min_age=0.0)
                continue
            if kind == "dir-created":  # files written before its watch was set
                self._scan(Path(path), min_age=self.options.settle)
                continue
            if not self.wanted(path):
                continue
            if kind in ("closed", "moved"):
                self._pending.pop(path, None)
                self._submit(path)
            elif kind == "created":
                # A file moved in from elsewhere on the file system keeps its old
                # mtime and is complete now; one being written has a fresh mtime.
                stat = _stat(path)
                if stat and stat[0] > 0 and time.time() - stat[1] / 1e9 > self.options.settle:
                    self._pending.pop(path, None)
                    self._submit(path, stat)
                else:
                    self._pending.setdefault(path, _Pending(now, stat))
            elif kind == "modified":
                pending = self._pending.setdefault(path, _Pending(now))
                pending.last_change, pending.stat = now, _stat(path)
                # With inotify a close event will follow; polling never sends one.
                pending.written = not self.options.polling

    def _check_settled(self) -> None:
        now = time.monotonic()
        for path, pending in list(self._pending.items()):
            if pending.written or now - pending.last_change < self.options.settle:
                continue
            stat = _stat(path)
            if stat is None:
                del self._pending[path]  # gone again
            elif stat != pending.stat:
                pending.stat, pending.last_change = stat, now
            else:
                del self._pending[path]
                self._submit(path, stat)

    def _scan(self, folder: Path, min_age: float) -> int:
        """Submit every photo under ``folder`` not yet handled. A file changed in the
        last ``min_age`` seconds may still be written: it waits until it settles."""
        found = 0
        now = time.time()
        for root, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if not is_junk_dir(d)
                       and Path(root, d).resolve() not in self._excluded]
            for name in files:
                path = os.path.join(root, name)
                if not self.wanted(path) or path in self._in_flight or path in self._pending:
                    continue
                stat = _stat(path)
                if stat is None or self._handled.get(path) == stat:
                    continue
                if now - stat[1] / 1e9 < min_age:
                    self._pending[path] = _Pending(time.monotonic(), stat)
                    continue
                self._submit(path, stat)
                found += 1
        return found

    def _submit(self, path: str, stat: tuple[int, int] | None = None) -> None:
        """Hand a complete photo to the engine; ``stat`` if the caller already took it."""
        if path in self._in_flight:
            return
        self._in_flight.add(path)
        self.engine.submit(path, display_path(path), token=stat or _stat(path))

    # -- results -----------------------------------------------------------

    def _finish(self, outcome: Outcome) -> None:
        self._in_flight.discard(outcome.path)
        counts = self.counts
        shown = one_line(outcome.display)
        if outcome.row is None:
            counts["skipped"] += 1
            log.info("skipped %s: already in the CSV", shown)
            target = self.options.failed if outcome.skipped_as == "failed" \
                else self.options.processed
        elif outcome.row.ok:
            counts["scored"] += 1
            log.info("scored %s: %.1f likes (percentile %.0f)", shown,
                     outcome.row.predicted_likes, outcome.row.percentile)
            target = self.options.processed
        else:
            counts["failed"] += 1
            log.warning("failed %s: %s", shown, outcome.row.error)
            target = self.options.failed
        if target is not None:
            self._move(outcome.path, target)
        elif outcome.token is not None:
            self._handled[outcome.path] = outcome.token

    def _move(self, path: str, target: Path) -> None:
        """Move a photo whose row is on disk, keeping its place under the inbox."""
        relative = Path(path).relative_to(self.inbox)
        destination = target / relative
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            stem, suffix, n = destination.stem, destination.suffix, 1
            while destination.exists() or destination.is_symlink():
                destination = destination.with_name(f"{stem}-{n}{suffix}")
                n += 1
            shutil.move(path, destination)
        except OSError as exc:
            log.warning("cannot move %s to %s: %s", display_path(path), target, exc.strerror)
            stat = _stat(path)
            if stat is not None:
                self._handled[path] = stat  # its row is written; do not score it again

    # -- the loop ------------------------------------------------------------

    def _step(self) -> None:
        now = time.monotonic()
        if now < self._output_blocked_until:
            time.sleep(TICK_SECONDS)
            return
        try:
            outcomes = self.engine.step(timeout=TICK_SECONDS)
        except OutputError as exc:
            log.error("%s; %d photos wait, retrying in %.0f s", exc.reason,
                      self.engine.in_flight, OUTPUT_RETRY_SECONDS)
            self.notifier.status(f"cannot write scores: {exc.reason}")
            self._output_blocked_until = now + OUTPUT_RETRY_SECONDS
            return
        for outcome in outcomes:
            self._finish(outcome)

    def status_line(self) -> str:
        c = self.counts
        return (f"scored {c['scored']}, skipped {c['skipped']}, failed {c['failed']}, "
                f"queued {self.engine.in_flight + len(self._pending)}")

    def request_rescan(self) -> None:
        """Scan the inbox at the next turn of the loop (events were lost)."""
        self._rescan_now.set()

    def request_stop(self, *_args) -> None:
        self._stop.set()

    def request_reopen(self, *_args) -> None:
        self._reopen.set()

    def run(self) -> int:
        observer = self._start_observer()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.request_stop)
        signal.signal(signal.SIGHUP, self.request_reopen)
        started = self._scan(self.inbox, min_age=self.options.settle)
        log.info("watching %s (%s); %d photos found at start", self.inbox,
                 "polling" if self.options.polling else "inotify", started)
        self.notifier.ready(self.status_line())
        next_rescan = time.monotonic() + self.options.rescan_interval
        last_status = ""
        try:
            while not self._stop.is_set():
                if self._reopen.is_set():
                    self._reopen.clear()
                    self._reopen_output()
                self._handle_events()
                self._check_settled()
                if time.monotonic() >= next_rescan or self._rescan_now.is_set():
                    self._rescan_now.clear()
                    found = self._scan(self.inbox, min_age=self.options.settle)
                    if found:
                        log.info("rescan found %d photos", found)
                    next_rescan = time.monotonic() + self.options.rescan_interval
                self._step()
                self.notifier.ping_if_due()
                status = self.status_line()
                if status != last_status:
                    self.notifier.status(status)
                    last_status = status
        finally:
            self.notifier.stopping()
            observer.stop()
            self._drain()
            observer.join(timeout=1.0)
            self.engine.close()
            self.ledger.close()
        log.info("stopped: %s", self.status_line())
        return 0

    def _drain(self) -> None:
        """Finish what the workers have in hand, within the shutdown budget."""
        deadline = time.monotonic() + SHUTDOWN_SECONDS
        while self.engine.in_flight and time.monotonic() < deadline:
            try:
                for outcome in self.engine.step(timeout=0.1):
                    self._finish(outcome)
            except OutputError as exc:
                log.error("%s; unscored photos stay in the inbox", exc.reason)
                return

    def _reopen_output(self) -> None:
        try:
            self.ledger.reopen()
            log.info("reopened %s", self.ledger.path)
        except OutputError as exc:
            log.error("%s", exc.reason)
            self._output_blocked_until = time.monotonic() + OUTPUT_RETRY_SECONDS

    def _start_observer(self):
        from watchdog.events import (DirCreatedEvent, DirMovedEvent, FileClosedEvent,
                                     FileCreatedEvent, FileModifiedEvent, FileMovedEvent,
                                     FileSystemEventHandler)

        if self.options.polling:
            from watchdog.observers.polling import PollingObserver as ObserverClass
        else:
            from watchdog.observers import Observer as ObserverClass

        watcher = self

        class Handler(FileSystemEventHandler):
            # Opened and ClosedNoWrite events (our own reads among them) are ignored.
            def on_any_event(self, event) -> None:
                if isinstance(event, FileClosedEvent):
                    watcher.on_event("closed", os.fsdecode(event.src_path))
                elif isinstance(event, FileMovedEvent):
                    watcher.on_event("moved", os.fsdecode(event.dest_path))
                elif isinstance(event, FileCreatedEvent):
                    watcher.on_event("created", os.fsdecode(event.src_path))
                elif isinstance(event, FileModifiedEvent):
                    watcher.on_event("modified", os.fsdecode(event.src_path))
                elif isinstance(event, DirMovedEvent):
                    watcher.on_event("dir-moved", os.fsdecode(event.dest_path))
                elif isinstance(event, DirCreatedEvent):
                    watcher.on_event("dir-created", os.fsdecode(event.src_path))

        # watchdog only logs an inotify queue overflow (events were dropped);
        # that log record is our cue to rescan at once rather than at the next interval.
        class OverflowHook(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if "overflow" in record.getMessage().lower():
                    log.warning("inotify queue overflowed: events were lost, rescanning")
                    watcher.request_rescan()

        watchdog_log = logging.getLogger("watchdog")
        watchdog_log.setLevel(logging.WARNING)  # even at --log-level error, hear of overflows
        watchdog_log.addHandler(OverflowHook(logging.WARNING))
        observer = ObserverClass(timeout=0.5) if self.options.polling else ObserverClass()
        observer.schedule(Handler(), str(self.inbox), recursive=True)
        observer.daemon = True
        observer.start()
        return observer


def _stat(path: str) -> tuple[int, int] | None:
    """Size and mtime of the file itself: symlinks are not followed (see above)."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns
