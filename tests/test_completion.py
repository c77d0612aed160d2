"""The completion rules on a fake clock and a fake file system: no threads, no inotify."""

from __future__ import annotations

import pytest

from scorer.watch.completion import CompletionTracker


class World:
    """A clock, a wall clock and files (path -> (size, mtime ns)) the tests move by hand."""

    def __init__(self) -> None:
        self.now, self.wall = 100.0, 1_000_000.0
        self.files: dict[str, tuple[int, int]] = {}

    def write(self, path: str, size: int, age: float = 0.0) -> None:
        self.files[path] = (size, int((self.wall - age) * 1e9))

    def tick(self, seconds: float) -> None:
        self.now += seconds
        self.wall += seconds

    def tracker(self, **kwargs) -> CompletionTracker:
        return CompletionTracker(clock=lambda: self.now, wall=lambda: self.wall,
                                 stat=self.files.get, **kwargs)


def due(tracker: CompletionTracker) -> list[str]:
    return [path for path, _ in tracker.due()]


@pytest.mark.parametrize("event", ["closed", "moved"])
def test_closed_or_moved_in_is_complete_at_once(event):
    world = World()
    tracker = world.tracker(settle=1.0)
    world.write("a.jpg", 100)
    tracker.modified("a.jpg")
    assert getattr(tracker, event)("a.jpg") == world.files["a.jpg"]
    assert "a.jpg" not in tracker and due(tracker) == []


@pytest.mark.parametrize("age, size, complete_now", [
    (5.0, 100, True),    # moved within the file system: keeps its old mtime
    (0.1, 100, False),   # being written: a fresh mtime
    (5.0, 0, False),     # an old but empty file is not judged at once
])
def test_created_only(age, size, complete_now):
    world = World()
    tracker = world.tracker(settle=1.0)
    world.write("a.jpg", size, age=age)
    assert (tracker.created("a.jpg") is not None) is complete_now
    assert ("a.jpg" in tracker) is not complete_now


def test_created_only_settles_when_unchanged_for_settle_seconds():
    world = World()
    tracker = world.tracker(settle=1.0)
    world.write("a.jpg", 10)
    assert tracker.created("a.jpg") is None
    world.tick(0.5)
    assert due(tracker) == []
    world.tick(0.6)
    world.write("a.jpg", 20)  # still growing: the clock starts again
    assert due(tracker) == []
    world.tick(1.1)
    assert due(tracker) == ["a.jpg"] and len(tracker) == 0


def test_modified_waits_for_closed_not_for_settle():
    world = World()
    tracker = world.tracker(settle=1.0)
    world.write("a.jpg", 10)
    tracker.modified("a.jpg")
    world.tick(5.0)  # unchanged for 5 settles: a writer may just be slow
    assert due(tracker) == []
    assert tracker.closed("a.jpg") is not None


def test_a_lost_closed_event_is_judged_by_stat_after_the_timeout():
    """The bug of the unsplit watcher: Modified, then no Closed, pending for ever."""
    world = World()
    tracker = world.tracker(settle=1.0)
    assert tracker.closed_timeout == 30.0
    world.write("a.jpg", 10)
    tracker.modified("a.jpg")
    world.tick(29.0)
    assert due(tracker) == []
    world.tick(1.5)
    assert due(tracker) == ["a.jpg"]


def test_after_the_timeout_a_file_still_changing_waits_to_settle():
    world = World()
    tracker = world.tracker(settle=1.0, closed_timeout=10.0)
    world.write("a.jpg", 10)
    tracker.modified("a.jpg")
    world.tick(11.0)
    world.write("a.jpg", 30)  # changed since the Modified event
    assert due(tracker) == []
    world.tick(1.1)
    assert due(tracker) == ["a.jpg"]


def test_polling_has_no_closed_events_so_settle_decides():
    world = World()
    tracker = world.tracker(settle=1.0, polling=True)
    world.write("a.jpg", 10)
    tracker.modified("a.jpg")
    world.tick(1.1)
    assert due(tracker) == ["a.jpg"]


def test_a_file_gone_or_deleted_is_forgotten():
    world = World()
    tracker = world.tracker(settle=1.0)
    world.write("a.jpg", 10)
    world.write("b.jpg", 10)
    tracker.created("a.jpg")
    tracker.created("b.jpg")
    del world.files["a.jpg"]
    tracker.deleted("b.jpg")
    world.tick(2.0)
    assert due(tracker) == [] and len(tracker) == 0


def test_a_scanned_file_that_may_be_written_waits():
    world = World()
    tracker = world.tracker(settle=1.0)
    world.write("a.jpg", 10)
    tracker.wait("a.jpg", world.files["a.jpg"])
    assert due(tracker) == []
    world.tick(1.1)
    assert due(tracker) == ["a.jpg"]


@pytest.mark.parametrize("event", ["created", "closed"])
def test_an_empty_file_waits_for_its_bytes(event):
    """``(sleep 2.5; cat photo.jpg) > in/slow.jpg``: created (the shell may close it too)
    long before the first byte; it was judged complete after one settle (issue 13, item 3)."""
    world = World()
    tracker = world.tracker(settle=1.0, empty_timeout=30.0)
    world.write("slow.jpg", 0)
    assert getattr(tracker, event)("slow.jpg") is None
    world.tick(2.5)
    assert due(tracker) == [], "an empty file was judged before its bytes came"
    world.write("slow.jpg", 18_000)
    tracker.modified("slow.jpg")
    assert tracker.closed("slow.jpg") == world.files["slow.jpg"]
    assert len(tracker) == 0


def test_a_file_that_stays_empty_is_judged_after_the_empty_timeout():
    world = World()
    tracker = world.tracker(settle=1.0, empty_timeout=30.0)
    world.write("empty.jpg", 0)
    assert tracker.closed("empty.jpg") is None
    world.tick(29.0)
    assert due(tracker) == []
    world.tick(1.5)
    assert due(tracker) == ["empty.jpg"]
