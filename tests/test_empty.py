"""An empty folder is said, never silent: batch-score says so and exits 0 (a cron job's
empty day is normal); rank says so too, and writes no empty page (exit 2)."""

from __future__ import annotations

from tests.conftest import spe

LOOKED = "(looked for .jpg, .jpeg, .png, .webp, .heic)"


def test_batch_score_of_an_empty_folder_says_so_and_succeeds(tmp_path):
    empty = tmp_path / "e"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a photo")
    proc = spe("batch-score", str(empty), "--out", str(tmp_path / "s.csv"))
    assert proc.returncode == 0, proc.stderr
    assert f"no photos found in {empty} {LOOKED}" in proc.stderr.splitlines()


def test_rank_of_an_empty_folder_writes_no_page(tmp_path):
    empty = tmp_path / "e"
    empty.mkdir()
    page = tmp_path / "page.html"
    proc = spe("rank", str(empty), "--html", str(page))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines == [f"spe: no photos found in {empty} {LOOKED}",
                     f"spe: {page}: not written: no photo was scored, so the page would be "
                     "empty"], lines
    assert not page.exists()
    table = spe("rank", str(empty))
    assert table.returncode == 0 and f"no photos found in {empty}" in table.stderr


def test_a_folder_with_photos_says_nothing_of_the_kind(photos, tmp_path):
    proc = spe("batch-score", str(photos), "--out", str(tmp_path / "s.csv"))
    assert proc.returncode == 0 and "no photos found" not in proc.stderr
