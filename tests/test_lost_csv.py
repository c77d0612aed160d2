"""A daemon whose CSV was deleted under it, while a second daemon took the path: the rows
the second wrote there are read, not written again (before: 40 rows for 20 photos)."""

from __future__ import annotations

import shutil
import time
from collections import Counter

import pytest

from tests.csvcheck import read_rows
from tests.daemon import Daemon

pytestmark = [pytest.mark.fault, pytest.mark.slow]


def test_a_daemon_that_lost_its_csv_never_doubles_the_rows_written_there(tmp_path, burst):
    inbox, out = tmp_path / "inbox", tmp_path / "s.csv"
    inbox.mkdir()
    first = Daemon(inbox, out, log=tmp_path / "first.log")
    try:
        shutil.copy(burst[40], inbox / "early.jpg")
        first.wait_rows(1)
        out.unlink()
        second = Daemon(inbox, out, log=tmp_path / "second.log")
        try:
            for photo in burst[41:61]:
                shutil.copy(photo, inbox / photo.name)
            # The second holds the new file's lock: the first's rows wait for it.
            second.wait_rows(21)
            first.wait_for_log("in use by another spe process")
        finally:
            assert second.stop() == 0
        time.sleep(8)  # the first's retry: it opens the file the second wrote
        first.wait_for_log("not written again")
    finally:
        assert first.stop() == 0
    rows = read_rows(out)
    counts = Counter(r["path"] for r in rows)
    assert len(counts) == 21 and set(counts.values()) == {1}, counts.most_common(3)
