"""The watchdog adapter: file-system events in, the watcher's few kinds of event out.

One table says which watchdog event means what to the watcher, and only those
events are asked of inotify: not Opened nor ClosedNoWrite, which our own reads
and every scan (it opens each folder) would raise. With them asked for, a scan
of more than about 4,100 folders overflowed inotify's queue, and the overflow
started another scan: an idle daemon at 120% CPU. watchdog only logs an
inotify queue overflow (events were dropped); that log record is hooked, to
make the watcher rescan (at a bounded rate, watch.py).
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scorer.core.errors import WatchError

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
    from watchdog import events
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
    wanted = [getattr(events, name) for name in EVENT_KINDS]
    observer.schedule(Handler(), str(folder), recursive=True, event_filter=wanted)
    observer.daemon = True
    folders = 0 if polling else count_folders(folder)
    try:
        observer.start()
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EMFILE):
            raise WatchError(_limit_message(folder, folders)) from None
        raise
    watched = _watched_folders(observer)
    # watchdog gives up silently on sub-folders it cannot watch: they would be
    # seen only by the rescans. Better to say so at start.
    if watched is not None and watched < folders:
        observer.stop()
        raise WatchError(_limit_message(folder, folders))
    return observer


def count_folders(folder: Path) -> int:
    """The folder and every folder under it, as watchdog watches them: a symlink to a
    folder is neither followed nor counted (os.walk lists it among the folders)."""
    return 1 + sum(sum(1 for d in dirs if not os.path.islink(os.path.join(root, d)))
                   for root, dirs, _ in os.walk(folder))


def _watched_folders(observer: Any) -> int | None:
    """How many folders inotify watches (watchdog's own bookkeeping), if it tells."""
    try:
        return sum(len(emitter._inotify._active_callbacks_by_path)
                   for emitter in observer.emitters)
    except AttributeError:  # polling, or another watchdog version: cannot tell
        return None


def _limit_message(folder: Path, folders: int) -> str:
    # One line whichever way the limit shows: watchdog either fails to start (ENOSPC) or
    # starts having watched fewer folders, depending on the kernel and on the watches the
    # user already holds, so the count that could be watched is not always known.
    return (f"{folder}: cannot watch its {folders} folders: the inotify watch limit is "
            f"reached (fs.inotify.max_user_watches is {_sysctl('max_user_watches')}); raise "
            "it, e.g. sysctl fs.inotify.max_user_watches=524288, or use --polling")


def _sysctl(name: str) -> str:
    try:
        return Path(f"/proc/sys/fs/inotify/{name}").read_text().strip()
    except OSError:
        return "unknown"
