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


def test_identical_files_in_one_run_get_one_ok_row(tmp_path, burst):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        shutil.copy(burst[0], folder / name)
    shutil.copy(burst[1], folder / "other.jpg")
    out = tmp_path / "s.csv"
    proc = spe("batch-score", str(folder), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = read_rows(out)
    names = sorted(Path(r["path"]).name for r in rows)
    assert len(names) == 2 and "other.jpg" in names, names
    first = next(name for name in names if name != "other.jpg")  # whichever decoded first
    for copy in {"a.jpg", "b.jpg", "c.jpg"} - {first}:
        assert (f"{folder / copy}: skipped, the same bytes as {folder / first} (scored once)"
                in proc.stderr)
    assert "scored 2, skipped 2" in proc.stderr
