"""The inbox's choices on real files: what is wanted, the scan, the handled memory, moves."""

from __future__ import annotations

import os

import pytest

from scorer.watch.inbox import Inbox


@pytest.fixture
def inbox(tmp_path) -> Inbox:
    (tmp_path / "in").mkdir()
    return Inbox(tmp_path / "in", [tmp_path / "in" / "done", tmp_path / "failed"])


@pytest.mark.parametrize("relative, wanted", [
    ("a.jpg", True), ("sub/b.JPEG", True), ("c.png", True), ("d.webp", True),
    ("notes.txt", False), (".hidden.jpg", False), ("e.jpg.part", False), ("~f.jpg", False),
    ("done/g.jpg", False),             # --processed inside the inbox
    ("@eaDir/h.jpg", False),           # NAS litter
    ("x.jpg/i.jpg", True),             # a folder named like a photo is a folder
])
def test_wanted(inbox, relative, wanted):
    assert inbox.wanted(str(inbox.root / relative)) is wanted


def test_outside_the_inbox_is_not_wanted(inbox, tmp_path):
    assert not inbox.wanted(str(tmp_path / "a.jpg"))
    assert not inbox.wanted(str(tmp_path / "failed" / "a.jpg"))


def test_scan_passes_over_handled_files_until_they_change(inbox):
    photo = inbox.root / "a.jpg"
    photo.write_bytes(b"x")
    (inbox.root / "done").mkdir()
    (inbox.root / "done" / "old.jpg").write_bytes(b"x")
    found = dict(inbox.scan(inbox.root, skip=lambda p: False))
    assert list(found) == [str(photo)]
    inbox.remember(str(photo), found[str(photo)])
    assert list(inbox.scan(inbox.root, skip=lambda p: False)) == []
    photo.write_bytes(b"changed")
    assert [p for p, _ in inbox.scan(inbox.root, skip=lambda p: False)] == [str(photo)]
    assert list(inbox.scan(inbox.root, skip=lambda p: p == str(photo))) == []


def test_prune_forgets_files_gone_or_changed(inbox):
    kept, gone = inbox.root / "a.jpg", inbox.root / "b.jpg"
    for path in (kept, gone):
        path.write_bytes(b"x")
        inbox.remember(str(path), (1, path.lstat().st_mtime_ns))
    gone.unlink()
    assert inbox.prune() == 1
    assert inbox.prune() == 0


def test_move_keeps_the_place_under_the_inbox_and_never_overwrites(inbox, tmp_path):
    target = tmp_path / "failed"
    for content in (b"1", b"2"):
        (inbox.root / "sub").mkdir(exist_ok=True)
        (inbox.root / "sub" / "a.jpg").write_bytes(content)
        inbox.move(str(inbox.root / "sub" / "a.jpg"), target)
    assert sorted(os.listdir(target / "sub")) == ["a-1.jpg", "a.jpg"]
    assert (target / "sub" / "a.jpg").read_bytes() == b"1"


def test_a_move_removes_the_folders_it_left_empty_and_nothing_else(inbox, tmp_path, caplog):
    """inbox/a/b/x.jpg moved: b and a go; c keeps a file, so c stays; the inbox stays
    even when empty. Each move is one log line naming where the photo went."""
    root, target = inbox.root, tmp_path / "failed"
    (root / "a" / "b").mkdir(parents=True)
    (root / "c").mkdir()
    (root / "a" / "b" / "x.jpg").write_bytes(b"x")
    (root / "c" / "y.jpg").write_bytes(b"y")
    (root / "c" / "notes.txt").write_bytes(b"kept")
    (root / "z.jpg").write_bytes(b"z")
    with caplog.at_level("INFO", logger="spe"):
        for name in ("a/b/x.jpg", "c/y.jpg", "z.jpg"):
            inbox.move(str(root / name), target)
    assert sorted(os.listdir(root)) == ["c"]
    assert os.listdir(root / "c") == ["notes.txt"]
    assert (target / "a" / "b" / "x.jpg").read_bytes() == b"x"
    moves = [r.getMessage() for r in caplog.records if r.getMessage().startswith("moved ")]
    assert moves == [f"moved {root / n} to {target / n}" for n in ("a/b/x.jpg", "c/y.jpg", "z.jpg")]
    os.unlink(root / "c" / "notes.txt")
    (root / "c" / "d").mkdir()
    (root / "c" / "d" / "w.jpg").write_bytes(b"w")
    inbox.move(str(root / "c" / "d" / "w.jpg"), target)
    assert root.is_dir() and os.listdir(root) == []  # the inbox itself is never removed
