"""The ledger after a person or a tool touched it: nothing they wrote is cut, nothing is
scored twice, a file that is not ours is left as it was (round three of "nothing
lost"). Real photos, the real `spe batch-score`, real files on disk.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from tests.conftest import spe

PHOTOS = 50


@pytest.fixture
def scored(tmp_path, burst) -> tuple[Path, Path]:
    """A folder of 50 photos and the CSV batch-score wrote for them."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for photo in burst[:PHOTOS]:
        shutil.copy(photo, folder / photo.name)
    out = tmp_path / "scores.csv"
    proc = spe("batch-score", str(folder), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return folder, out


def _rescore(folder: Path, out: Path):
    proc = spe("batch-score", str(folder), "--out", str(out), timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.parametrize("cell, edit", [(1, " 12\" print"), (7, "\"12 print")])
def test_a_stray_quote_in_a_middle_row_costs_no_row(scored, cell, edit):
    """A note with a quote typed into row 10 (after its path, or as its error cell):
    before, every row after it was cut at the next start (50 rows became 10) and those
    photos were scored again."""
    folder, out = scored
    lines = out.read_bytes().split(b"\r\n")
    cells = lines[10].split(b",")
    cells[cell] = (cells[cell] + edit.encode()) if cell == 1 else edit.encode()
    lines[10] = b",".join(cells)
    out.write_bytes(b"\r\n".join(lines))
    before = out.read_bytes()
    proc = _rescore(folder, out)
    after = out.read_bytes()
    assert after.startswith(before), "rows a person wrote were cut"
    new_rows = after[len(before):].count(b"\r\n")
    # The row made unreadable names a photo that is then scored once more (its row no
    # longer says what it scored); every other photo is known, every row is kept.
    assert new_rows <= 1, after[len(before):]
    assert f"scored {new_rows}, skipped {PHOTOS - new_rows}" in proc.stderr


def test_a_line_that_is_no_row_is_kept_and_reported_with_its_number(tmp_path, caplog):
    from scorer.ledger.csvformat import HEADER
    from scorer.ledger.ledger import Ledger

    good = "2026-01-01T00:00:00.000Z,{},{},10.0,50.0,{},ok,\r\n"
    rows = [good.format(f"p{i}.jpg", f"{i:064x}", "m" * 12) for i in range(30)]
    rows.insert(12, 'a note, "typed in, by hand\r\n')
    path = tmp_path / "scores.csv"
    path.write_text(HEADER + "".join(rows), newline="")
    before = path.read_bytes()
    with caplog.at_level("WARNING", logger="spe.ledger"):
        ledger = Ledger(path)
    assert all(ledger.has_scored(f"{i:064x}", "m" * 12) for i in range(30))
    ledger.close()
    assert path.read_bytes() == before
    assert "1 line(s) are not rows of its columns (the first at line 14)" in caplog.text


@pytest.mark.parametrize("rows", [PHOTOS, 500])
def test_a_ledger_saved_with_cr_only_line_ends_is_read(tmp_path, burst, rows):
    """Excel for Mac's "CSV (Macintosh)": before, under 64 KiB every row was ignored and
    scored again (rows doubled); over 64 KiB the whole file was cut."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for photo in burst[:rows]:
        shutil.copy(photo, folder / photo.name)
    out = tmp_path / "scores.csv"
    assert spe("batch-score", str(folder), "--out", str(out)).returncode == 0
    out.write_bytes(out.read_bytes().replace(b"\r\n", b"\r"))
    assert (out.stat().st_size > 65536) is (rows == 500)
    before = out.read_bytes()
    proc = _rescore(folder, out)
    assert out.read_bytes() == before
    assert f"scored 0, skipped {rows}" in proc.stderr


@pytest.mark.parametrize("content", [b"x" * 100_000, b'{"token": "' + b"a" * 70_000 + b'"}',
                                     b"secret-token-without-a-newline"],
                         ids=["100-kB-line", "minified-json", "short-token"])
def test_an_out_file_that_is_not_ours_is_refused_and_left_as_it_was(tmp_path, photos, content):
    """Before, a file with no newline in its first 64 KiB was emptied and made a CSV."""
    out = tmp_path / "important.json"
    out.write_bytes(content)
    proc = spe("batch-score", str(photos), "--out", str(out))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        proc.stderr.strip().splitlines()[0]] and "not a scores CSV" in proc.stderr
    assert out.read_bytes() == content


def test_a_torn_header_from_a_crash_is_still_repaired(tmp_path, photos):
    out = tmp_path / "scores.csv"
    out.write_bytes(b"scored_at,path,sha2")
    proc = spe("batch-score", str(photos), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes().startswith(b"scored_at,path,sha256,predicted_likes,")


def test_a_planted_rotated_copy_of_newlines_does_not_stall_the_start(scored):
    """A stray quote, then 120 MB of newlines, gzipped to a few hundred KB, beside the CSV:
    before, every start spent minutes at 100% CPU. Now it is read in linear time (and at
    most 1 GiB of any rotated copy is read)."""
    folder, out = scored
    header = out.read_bytes().split(b"\r\n")[0] + b"\r\n"
    planted = out.with_name(out.name + ".9.gz")
    planted.write_bytes(gzip.compress(header + b'"' + b"\n" * 120_000_000, compresslevel=1))
    proc = _rescore(folder, out)  # the helper's timeout (120 s) is the bound
    assert f"scored 0, skipped {PHOTOS}" in proc.stderr
