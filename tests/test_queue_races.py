"""Files that change while the daemon has them in hand (issue 13, items 2 and 3).

A real daemon, real files, real renames: a photo replaced under its name while
queued must not be moved unscored, and a file created now and written later
must not be judged by its empty beginning.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.daemon import Daemon
from tests.helpers import wait_until

pytestmark = [pytest.mark.fault, pytest.mark.slow]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_photo_replaced_while_queued_is_scored_again_not_moved_unscored(tmp_path, burst):
    inbox, done, out = tmp_path / "inbox", tmp_path / "done", tmp_path / "scores.csv"
    inbox.mkdir()
    daemon = Daemon(inbox, out, "--processed", str(done), "--threads", "1")
    try:
        originals, replacements = burst[:300], burst[300:350]
        for photo in originals:
            shutil.copy(photo, inbox / photo.name)
        # Once scoring has begun (most photos are read and decoded, waiting for the
        # model), write-then-rename new versions over names still in the inbox.
        daemon.wait_rows(1)
        still_there = [p for p in originals[::-1] if (inbox / p.name).exists()][:50]
        assert len(still_there) == 50, "the daemon finished too soon to race with"
        for photo, new in zip(still_there, replacements, strict=True):
            temporary = inbox / f".{photo.name}.tmp"
            shutil.copy(new, temporary)
            os.rename(temporary, inbox / photo.name)
        wait_until(lambda: not any(inbox.glob("*.jpg")), 120, "the inbox to empty")
        wait_until(lambda: len(list(done.glob("*.jpg"))) == 300, 30, "300 photos moved")
        rows = daemon.rows()
    finally:
        assert daemon.stop() == 0
    ok = {r["sha256"] for r in rows if r["status"] == "ok"}
    moved_unscored = [p.name for p in done.glob("*.jpg") if sha256(p) not in ok]
    assert moved_unscored == [], f"{len(moved_unscored)} photos moved without an ok row"
    assert {sha256(p) for p in replacements} <= ok, "a replacement was never scored"
    errors = [(r["path"], r["error"]) for r in rows if r["status"] != "ok"]
    assert errors == [], errors[:5]


def test_a_file_created_now_and_written_later_is_scored(tmp_path, burst):
    """``(sleep 2.5; cat photo.jpg) > in/slow.jpg``: an "empty file" row and the photo in
    failed/ before (the settle time is 0.3 s in these tests)."""
    inbox, done, failed = tmp_path / "inbox", tmp_path / "done", tmp_path / "failed"
    out = tmp_path / "scores.csv"
    inbox.mkdir()
    daemon = Daemon(inbox, out, "--processed", str(done), "--failed", str(failed))
    try:
        slow = inbox / "slow.jpg"
        writer = subprocess.Popen(["sh", "-c", f"(sleep 2.5; cat {shlex.quote(str(burst[0]))}) "
                                               f"> {shlex.quote(str(slow))}"])
        assert writer.wait(timeout=30) == 0
        rows = daemon.wait_rows(1, timeout=30)
        wait_until(lambda: (done / "slow.jpg").exists(), 10, "slow.jpg moved to done/")
    finally:
        assert daemon.stop() == 0
    assert [(r["status"], r["sha256"]) for r in rows] == [("ok", sha256(burst[0]))]
    assert not failed.exists() or not any(failed.iterdir())
