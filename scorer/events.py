"""The watchdog adapter: file-system events in, the watcher's few kinds of event out.

One table says which watchdog event means what to the watcher. Opened and
ClosedNoWrite events (our own reads among them) are not in it, so they are
ignored. watchdog only logs an inotify queue overflow (events were dropped);
that log record is hooked, to make the watcher rescan at once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("spe.watch")

# watchdog event class name -> (the watcher's kind, which path of the event counts)
EVENT_KINDS: dict[str, tuple[str, str]] = {
    "FileClosedEvent": ("closed", "src_path"),
    "FileMovedEvent": ("moved", "dest_path"),
    "FileCreatedEvent": ("created", "src_path"),
    "FileModifiedEvent": ("modified", "src_path"),
    "FileDeletedEvent": ("deleted", "src_path"),
    "DirMovedEvent": ("dir-moved", "dest_path"),
    "DirCreatedEvent": ("dir-created", "src_path"),
}


def translate(event: Any) -> tuple[str, str] | None:
    """The watcher's (kind, path) for a watchdog event, or None for one it ignores."""
    kind = EVENT_KINDS.get(type(event).__name__)
    if kind is None:
        return None
    return kind[0], os.fsdecode(getattr(event, kind[1]))


def start_observer(folder: Path, polling: bool, on_event: Callable[[str, str], None],
                   on_overflow: Callable[[], None]) -> Any:
    """Watch ``folder`` recursively; call ``on_event(kind, path)`` from watchdog's thread."""
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer
    from watchdog.observers.polling import PollingObserver

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            translated = translate(event)
            if translated is not None:
                on_event(*translated)

    class OverflowHook(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "overflow" in record.getMessage().lower():
                log.warning("inotify queue overflowed: events were lost, rescanning")
                on_overflow()

    watchdog_log = logging.getLogger("watchdog")
    watchdog_log.setLevel(logging.WARNING)  # even at --log-level error, hear of overflows
    watchdog_log.addHandler(OverflowHook(logging.WARNING))
    observer = PollingObserver(timeout=0.5) if polling else Observer()
    observer.schedule(Handler(), str(folder), recursive=True)
    observer.daemon = True
    observer.start()
    return observer
