"""The watchdog adapter: its table on real watchdog events, and a real inotify observer."""

from __future__ import annotations

import queue
import time

import pytest
from watchdog import events as wd

from scorer.watch.events import EVENT_KINDS, start_observer, translate


@pytest.mark.parametrize("event, expected", [
    (wd.FileClosedEvent("/in/a.jpg"), ("closed", "/in/a.jpg")),
    (wd.FileMovedEvent("/in/.a.jpg.tmp", "/in/a.jpg"), ("moved", "/in/a.jpg")),
    (wd.FileCreatedEvent("/in/a.jpg"), ("created", "/in/a.jpg")),
    (wd.FileModifiedEvent("/in/a.jpg"), ("modified", "/in/a.jpg")),
    (wd.FileDeletedEvent("/in/a.jpg"), ("deleted", "/in/a.jpg")),
    (wd.DirMovedEvent("/tmp/album", "/in/album"), ("dir-moved", "/in/album")),
    (wd.DirCreatedEvent("/in/album"), ("dir-created", "/in/album")),
    (wd.FileOpenedEvent("/in/a.jpg"), None),          # our own reads among them
    (wd.FileClosedNoWriteEvent("/in/a.jpg"), None),
    (wd.DirModifiedEvent("/in"), None),
    (wd.FileClosedEvent(b"/in/\xe9.jpg"), ("closed", "/in/\udce9.jpg")),  # non-UTF-8 bytes
])
def test_translate(event, expected):
    assert translate(event) == expected


def test_every_table_entry_is_a_watchdog_event():
    for name in EVENT_KINDS:
        assert issubclass(getattr(wd, name), wd.FileSystemEvent)


def test_a_real_observer_reports_a_written_file_closed(tmp_path):
    seen: queue.Queue[tuple[str, str]] = queue.Queue()
    observer = start_observer(tmp_path, polling=False, on_event=lambda k, p: seen.put((k, p)),
                              on_overflow=lambda: None)
    try:
        (tmp_path / "a.jpg").write_bytes(b"x")
        deadline, kinds = time.monotonic() + 10, []
        while ("closed", str(tmp_path / "a.jpg")) not in kinds and time.monotonic() < deadline:
            try:
                kinds.append(seen.get(timeout=0.2))
            except queue.Empty:
                pass
        assert ("created", str(tmp_path / "a.jpg")) in kinds
        assert ("closed", str(tmp_path / "a.jpg")) in kinds
    finally:
        observer.stop()
        observer.join(timeout=2)
