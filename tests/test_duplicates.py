"""Every path given gets its row: identical copies of a photo get a duplicate row that
names the first path and repeats its prediction (before: no row; the watcher moved the
second copy away with nothing written of it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import spe
from tests.csvcheck import read_rows
from tests.daemon import Daemon

pytestmark = pytest.mark.slow


def _check_copies(rows: list[dict[str, str]], names: set[str]) -> None:
    assert sorted(Path(r["path"]).name for r in rows) == sorted(names)
    ok = [r for r in rows if r["status"] == "ok"]
    copies = [r for r in rows if r["status"] == "duplicate"]
    assert len(ok) == 1 and len(copies) == len(names) - 1, rows
    for row in copies:
        assert row["error"] == f"the same bytes as {ok[0]['path']}"
        for cell in ("sha256", "predicted_likes", "percentile", "model"):
            assert row[cell] == ok[0][cell]


def test_the_watcher_writes_a_row_for_each_copy_before_moving_it(tmp_path, burst):
    inbox, processed = tmp_path / "inbox", tmp_path / "processed"
    inbox.mkdir()
    daemon = Daemon(inbox, tmp_path / "s.csv", "--processed", str(processed))
    try:
        for name in ("a.jpg", "b.jpg", "c.jpg"):
            shutil.copy(burst[3], inbox / name)
        rows = daemon.wait_rows(3)
        daemon.wait_for_log("the same bytes as", count=2)
    finally:
        assert daemon.stop() == 0
    _check_copies(rows, {"a.jpg", "b.jpg", "c.jpg"})
    assert sorted(p.name for p in processed.iterdir()) == ["a.jpg", "b.jpg", "c.jpg"]
    assert "2 duplicates" in daemon.log_text()


def test_rank_out_writes_the_copies_rows_as_batch_score_does(tmp_path, burst):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.jpg", "b.jpg"):
        shutil.copy(burst[4], folder / name)
    out = tmp_path / "s.csv"
    proc = spe("rank", str(folder), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    _check_copies(read_rows(out), {"a.jpg", "b.jpg"})
    again = spe("batch-score", str(folder), "--out", str(out))
    assert again.returncode == 0 and "scored 0, skipped 2" in again.stderr, again.stderr
