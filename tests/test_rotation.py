"""What was scored is remembered across log rotation, and identical files are scored once
(issue 13, item 7).

logrotate itself is not installed here; each test does to the CSV exactly what
its mode does (copytruncate: copy, then truncate in place; create with
compress: rename to NAME.1, later gzip to NAME.2.gz), then restarts the daemon.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import spe
from tests.csvcheck import read_rows
from tests.daemon import Daemon

pytestmark = [pytest.mark.fault, pytest.mark.slow]


def copytruncate(out: Path) -> None:
    shutil.copy(out, out.with_name(out.name + ".1"))
    with open(out, "r+b") as handle:
        handle.truncate(0)


def create_and_compress(out: Path) -> None:
    """Two rotations of ``create`` + ``compress`` + ``delaycompress``: the older copy
    gzipped as NAME.2.gz, the newer one NAME.1 (empty here), a new empty NAME."""
    os.rename(out, out.with_name(out.name + ".1"))
    with open(out.with_name(out.name + ".1"), "rb") as src, \
            gzip.open(out.with_name(out.name + ".2.gz"), "wb") as dst:
        shutil.copyfileobj(src, dst)
    out.with_name(out.name + ".1").write_text("")


@pytest.mark.parametrize("rotate", [copytruncate, create_and_compress])
def test_rotation_then_restart_does_not_score_again(tmp_path, burst, rotate):
    inbox, out = tmp_path / "inbox", tmp_path / "scores.csv"
    inbox.mkdir()
    for photo in burst[:20]:
        shutil.copy(photo, inbox / photo.name)
    daemon = Daemon(inbox, out)
    try:
        assert len(daemon.wait_rows(20)) == 20
    finally:
        assert daemon.stop() == 0
    rotate(out)
    daemon = Daemon(inbox, out)
    try:
        shutil.copy(burst[20], inbox / burst[20].name)  # one new photo: proof it is working
        rows = daemon.wait_rows(1)
    finally:
        assert daemon.stop() == 0
    assert [Path(r["path"]).name for r in rows] == [burst[20].name]


def test_identical_files_in_one_run_get_one_ok_row_and_a_duplicate_row_each(tmp_path, burst):
    """Every path its row: the copies' rows say whose bytes they are and repeat the first's
    prediction; the model runs once. A second run adds nothing."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        shutil.copy(burst[0], folder / name)
    shutil.copy(burst[1], folder / "other.jpg")
    out = tmp_path / "s.csv"
    proc = spe("batch-score", str(folder), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = read_rows(out)
    assert sorted(Path(r["path"]).name for r in rows) == ["a.jpg", "b.jpg", "c.jpg", "other.jpg"]
    ok = [r for r in rows if r["status"] == "ok"]
    first = next(Path(r["path"]).name for r in ok if r["path"] != str(folder / "other.jpg"))
    copies = [r for r in rows if r["status"] == "duplicate"]
    assert sorted(Path(r["path"]).name for r in copies) == sorted({"a.jpg", "b.jpg", "c.jpg"}
                                                                  - {first})
    first_row = next(r for r in ok if r["path"] == str(folder / first))
    for row in copies:
        assert row["error"] == f"the same bytes as {folder / first}"
        assert (row["predicted_likes"], row["percentile"], row["sha256"]) == (
            first_row["predicted_likes"], first_row["percentile"], first_row["sha256"])
        assert f"{row['path']}: the same bytes as {folder / first}; its row says so" in proc.stderr
    assert "scored 2, 2 duplicates, skipped 0" in proc.stderr
    again = spe("batch-score", str(folder), "--out", str(out))
    assert again.returncode == 0 and "scored 0, skipped 4" in again.stderr, again.stderr
    assert len(read_rows(out)) == 4
