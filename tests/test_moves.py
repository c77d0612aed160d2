"""Moves into --processed and --failed that fail: the photo stays, the daemon stays up,
the move is tried again later (round three of "nothing lost", item 8). A real daemon,
real folders and permissions (as root without the capability to override them)."""

from __future__ import annotations

import shutil

import pytest

from tests.daemon import Daemon
from tests.helpers import DROP_DAC

pytestmark = [pytest.mark.fault, pytest.mark.slow]


def _start(inbox, out, processed):
    return Daemon(inbox, out, "--processed", str(processed), "--failed",
                  str(processed.parent / "failed"), "--log-level", "debug", prefix=DROP_DAC)


def test_a_move_into_a_folder_it_cannot_enter_leaves_the_photo_and_the_daemon(tmp_path, burst):
    """An uploader made processed/sub mode 000: before, the daemon died at the move, and
    again at every start."""
    inbox, processed = tmp_path / "inbox", tmp_path / "processed"
    (inbox / "sub").mkdir(parents=True)
    (processed / "sub").mkdir(parents=True)
    (processed / "sub").chmod(0o000)
    out = tmp_path / "scores.csv"
    shutil.copy(burst[0], inbox / "sub" / "a.jpg")
    try:
        for _ in range(2):  # and again at the next start: no crash loop
            daemon = _start(inbox, out, processed)
            try:
                daemon.wait_for_log("cannot move ")
                shutil.copy(burst[1 + _], inbox / f"b{_}.jpg")
                daemon.wait_for_log("moved ", count=_ + 1)
                assert daemon.proc.poll() is None
            finally:
                assert daemon.stop() == 0
        assert (inbox / "sub" / "a.jpg").exists()
        assert "tried again in 60 s" in daemon.log_text()
        rows = daemon.rows()
        assert [r["path"].endswith("a.jpg") for r in rows].count(True) == 1  # one row
    finally:
        (processed / "sub").chmod(0o755)


def test_a_destination_longer_than_the_system_allows_is_one_line(tmp_path, burst):
    inbox = tmp_path / "inbox"
    processed = tmp_path / ("processed-" + "p" * 200)
    deep = inbox
    while len(str(deep)) < 3900 - len(str(processed)) + len(str(inbox)) + 150:
        deep = deep / ("d" * 200)
    deep.mkdir(parents=True)
    shutil.copy(burst[0], deep / "a.jpg")
    out = tmp_path / "scores.csv"
    assert len(str(deep / "a.jpg")) < 4096 < len(str(processed)) + len(str(deep / "a.jpg")) - len(
        str(inbox))
    daemon = _start(inbox, out, processed)
    try:
        daemon.wait_for_log("cannot move ")
        assert len(daemon.wait_rows(1)) == 1 and daemon.proc.poll() is None
    finally:
        assert daemon.stop() == 0
    assert (deep / "a.jpg").exists()
