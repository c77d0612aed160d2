"""A CSV cut mid-row while the daemon runs: the half row is removed before the next row
is written (before: the next row was glued onto it, and both were lost), and no index
vouches for the photo whose row was cut, so it is scored again at the next start."""

from __future__ import annotations

import os
import shutil
from collections import Counter

import pytest

from tests.daemon import Daemon

pytestmark = [pytest.mark.fault, pytest.mark.slow]


def test_a_row_cut_while_the_daemon_runs_is_repaired_and_scored_again(tmp_path, burst):
    inbox, out = tmp_path / "inbox", tmp_path / "s.csv"
    inbox.mkdir()
    daemon = Daemon(inbox, out)
    try:
        shutil.copy(burst[70], inbox / "a.jpg")
        daemon.wait_rows(1)
        os.truncate(out, out.stat().st_size - 12)  # a.jpg's row loses its end
        shutil.copy(burst[71], inbox / "b.jpg")
        daemon.wait_for_log("its last row was cut")
        rows = daemon.wait_rows(1)
    finally:
        assert daemon.stop() == 0
    assert [os.path.basename(r["path"]) for r in rows] == ["b.jpg"]
    assert out.read_bytes().endswith(b"\r\n")
    again = Daemon(inbox, out, log=tmp_path / "again.log")
    try:
        rows = again.wait_rows(2)
    finally:
        assert again.stop() == 0
    counts = Counter(os.path.basename(r["path"]) for r in rows)
    assert counts == {"a.jpg": 1, "b.jpg": 1}, counts
    assert all(r["status"] == "ok" for r in rows)
