"""A symlinked folder inside processed/ is never followed: the photo's row is written, the
move refused with one log line naming the link, the photo left in the inbox (before: the
daemon wrote outside processed/, and a link back into the inbox moved one photo 149
times in 6 s)."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from tests.daemon import Daemon

pytestmark = [pytest.mark.fault, pytest.mark.slow]


@pytest.mark.parametrize("points", ["outside", "inbox"])
def test_a_symlinked_folder_in_processed_is_not_followed(tmp_path, burst, points):
    inbox, processed, outside = tmp_path / "inbox", tmp_path / "processed", tmp_path / "elsewhere"
    (inbox / "sub").mkdir(parents=True)
    processed.mkdir()
    outside.mkdir()
    os.symlink(outside if points == "outside" else inbox / "sub", processed / "sub")
    daemon = Daemon(inbox, tmp_path / "s.csv", "--processed", str(processed))
    try:
        shutil.copy(burst[5], inbox / "sub" / "a.jpg")
        rows = daemon.wait_rows(1)
        daemon.wait_for_log("is a symlink; photos are not moved through it")
        time.sleep(2)  # time for a loop to show, were there one
        rows = daemon.rows()
    finally:
        assert daemon.stop() == 0
    assert [r["status"] for r in rows] == ["ok"]
    assert (inbox / "sub" / "a.jpg").read_bytes() == burst[5].read_bytes()
    assert list(outside.iterdir()) == []
    assert " INFO moved " not in daemon.log_text()
