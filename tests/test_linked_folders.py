"""Nothing outside the inbox: symlinked folders are passed over wherever they appear
(round three of "nothing lost", items 5 and 12). A real daemon on a real inotify watch."""

from __future__ import annotations

import shutil
import time

import pytest

from tests.daemon import Daemon

pytestmark = [pytest.mark.fault, pytest.mark.slow]


@pytest.fixture
def outside(tmp_path, burst):
    """A folder outside the inbox with two photos in it (another user's, say)."""
    folder = tmp_path / "private"
    folder.mkdir()
    for photo in burst[10:12]:
        shutil.copy(photo, folder / photo.name)
    return folder


def _untouched(outside, burst) -> None:
    assert sorted(p.name for p in outside.iterdir()) == sorted(p.name for p in burst[10:13])


def test_a_link_to_a_folder_in_the_inbox_at_start(tmp_path, burst, outside):
    """Before, the daemon refused to start: "the inotify watch limit is reached (only 1
    of 2 folders could be watched)"."""
    inbox, processed = tmp_path / "inbox", tmp_path / "processed"
    inbox.mkdir()
    (inbox / "link").symlink_to(outside, target_is_directory=True)
    shutil.copy(burst[0], inbox / "mine.jpg")
    daemon = Daemon(inbox, tmp_path / "scores.csv", "--processed", str(processed))
    try:
        rows = daemon.wait_rows(1)
        shutil.copy(burst[12], outside / burst[12].name)  # saved there later
        time.sleep(1.5)
        rows = daemon.rows()
        assert [r["path"] for r in rows] == [str(inbox / "mine.jpg")]
    finally:
        assert daemon.stop() == 0
    _untouched(outside, burst)
    assert "passed over" in daemon.log_text() and "symlinked folder" in daemon.log_text()


@pytest.mark.parametrize("how", ["a folder holding a link", "the link itself"])
def test_a_link_to_a_folder_moved_into_the_inbox(tmp_path, burst, outside, how):
    """Before, the scan of the folder moved in walked into the link: the outside folder's
    photos were scored and moved into processed/ (and photos saved there later too)."""
    inbox, processed = tmp_path / "inbox", tmp_path / "processed"
    inbox.mkdir()
    daemon = Daemon(inbox, tmp_path / "scores.csv", "--processed", str(processed))
    try:
        staged = tmp_path / "staged"
        if how == "the link itself":
            staged.symlink_to(outside, target_is_directory=True)
        else:
            staged.mkdir()
            (staged / "link").symlink_to(outside, target_is_directory=True)
            shutil.copy(burst[1], staged / "mine.jpg")
        staged.rename(inbox / "upload")
        time.sleep(1.0)
        shutil.copy(burst[12], outside / burst[12].name)  # saved there later
        shutil.copy(burst[2], inbox / "after.jpg")
        rows = daemon.wait_rows(2 if how != "the link itself" else 1)
        time.sleep(1.0)
        names = sorted(r["path"].rsplit("/", 1)[-1] for r in daemon.rows())
        expected = ["after.jpg"] + (["mine.jpg"] if how != "the link itself" else [])
        assert names == sorted(expected), rows
    finally:
        assert daemon.stop() == 0
    _untouched(outside, burst)


@pytest.mark.parametrize("links", [1, 2])
def test_batch_score_patterns_with_r_enter_no_symlinked_folder(tmp_path, burst, links):
    """Before, 'dir/**/*.jpg' -r followed links to folders (unlike folders given
    directly): one link to a parent listed each photo 41 times; two made it exponential
    (100% CPU, memory growing, no rows after 40 s)."""
    from tests.conftest import spe

    top = tmp_path / "dir"
    (top / "a" / "b").mkdir(parents=True)
    shutil.copy(burst[0], top / "one.jpg")
    shutil.copy(burst[1], top / "a" / "two.jpg")
    shutil.copy(burst[2], top / "a" / "b" / "three.jpg")
    (top / "a" / "b" / "up").symlink_to(top, target_is_directory=True)
    if links == 2:
        (top / "a" / "back").symlink_to(top / "a", target_is_directory=True)
    proc = spe("batch-score", f"{top}/**/*.jpg", "-r", timeout=60)
    assert proc.returncode == 0, proc.stderr
    paths = [line.split(",")[1] for line in proc.stdout.splitlines()[1:]]
    assert sorted(paths) == sorted(str(p) for p in (top / "one.jpg", top / "a" / "two.jpg",
                                                   top / "a" / "b" / "three.jpg"))


def test_the_rank_pages_temporary_name_follows_no_link(tmp_path, photos):
    """Before, a link planted at `.page.html.tmp` made `spe rank --html` overwrite the file
    it points to."""
    from tests.conftest import spe

    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    page = tmp_path / "page.html"
    (tmp_path / ".page.html.tmp").symlink_to(victim)
    proc = spe("rank", str(photos), "--html", str(page))
    assert proc.returncode == 0, proc.stderr
    assert victim.read_text() == "precious\n" and "<html" in page.read_text().lower()


def test_a_move_across_file_systems_follows_no_link_at_its_partial_name(tmp_path, burst):
    """processed/ on another file system (tmpfs): the photo is copied to a hidden partial
    name first; a link planted at that name is replaced, never written through."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(dir="/dev/shm") as shm:
        processed = Path(shm) / "processed"
        processed.mkdir()
        victim = tmp_path / "victim"
        victim.write_text("precious\n")
        (processed / ".a.jpg.spe-partial").symlink_to(victim)
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        daemon = Daemon(inbox, tmp_path / "scores.csv", "--processed", str(processed))
        try:
            shutil.copy(burst[0], inbox / "a.jpg")
            daemon.wait_rows(1)
            deadline = time.monotonic() + 30
            while (inbox / "a.jpg").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            assert daemon.stop() == 0
        assert victim.read_text() == "precious\n"
        assert (processed / "a.jpg").read_bytes() == burst[0].read_bytes()
