"""The scores CSV as a ledger: one definition of the columns, read and written by name."""

from __future__ import annotations

import csv
import io

import pytest

from scorer.core.errors import OutputError
from scorer.core.text import neutralise
from scorer.ledger.csvformat import COLUMNS, HEADER, Row, accepted_header
from scorer.ledger.ledger import Ledger


@pytest.mark.parametrize("text, expected", [
    ("=SUM(A1)", "'=SUM(A1)"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("photo.jpg", "photo.jpg"), ("a=b", "a=b"), ("", ""),
])
def test_neutralise(text, expected):
    assert neutralise(text) == expected


@pytest.mark.parametrize("header, accepted", [
    (list(COLUMNS), True),
    (list(reversed(COLUMNS)), True),
    ([*COLUMNS, "note"], True),
    (["\ufeff" + COLUMNS[0], *COLUMNS[1:]], True),   # saved with a BOM
    (list(COLUMNS[:-1]), False),                      # a known column missing
    (["name", "likes"], False),
])
def test_header_acceptance(header, accepted):
    assert (accepted_header(header) is not None) is accepted


def test_reordered_columns_and_an_extra_one_stay_the_ledger(tmp_path):
    path = tmp_path / "scores.csv"
    columns = ["note", *reversed(COLUMNS)]
    old = {"note": "kept", "path": "a.jpg", "sha256": "ab" * 32, "model": "m" * 12,
           "status": "ok", "predicted_likes": "10.0", "percentile": "50.0", "error": "",
           "scored_at": "2026-01-01T00:00:00.000Z"}
    path.write_text(",".join(columns) + "\r\n" + ",".join(old[c] for c in columns) + "\r\n",
                    encoding="utf-8")
    ledger = Ledger(path)
    assert ledger.has_scored("ab" * 32, "m" * 12)
    ledger.append([Row("b.jpg", "cd" * 32, "m" * 12, 20.0, 60.0)])
    ledger.close()
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    assert rows[0] == old
    assert rows[1]["note"] == "" and rows[1]["path"] == "b.jpg"
    assert rows[1]["predicted_likes"] == "20.0" and rows[1]["status"] == "ok"
    assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(columns)


def test_a_new_file_gets_the_header_once(tmp_path):
    path = tmp_path / "scores.csv"
    ledger = Ledger(path)
    ledger.append([Row("a.jpg", "ab" * 32, "m" * 12, error="empty file")])
    ledger.close()
    Ledger(path).close()
    text = path.read_bytes().decode("utf-8")
    assert text.startswith(HEADER) and text.count(HEADER) == 1


def test_a_failed_reopen_is_retried_by_the_next_append(tmp_path):
    """SIGHUP while the CSV cannot be opened: the next append tries again, no assert."""
    path = tmp_path / "scores.csv"
    ledger = Ledger(path)
    path.unlink()
    path.mkdir()  # something that cannot be opened as the CSV, even by root
    with pytest.raises(OutputError):
        ledger.reopen()
    with pytest.raises(OutputError, match="cannot open for writing"):
        ledger.append([Row("a.jpg", "ab" * 32, "m" * 12, 1.0, 1.0)])
    path.rmdir()
    ledger.append([Row("a.jpg", "ab" * 32, "m" * 12, 1.0, 1.0)])
    ledger.close()
    text = path.read_bytes().decode("utf-8")
    assert text.startswith(HEADER) and text.count("a.jpg") == 1


def _scores(path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


def test_a_last_row_without_its_newline_is_kept_and_ended(tmp_path):
    path = tmp_path / "scores.csv"
    ledger = Ledger(path)
    ledger.append([Row("a.jpg", "ab" * 32, "m" * 12, 10.0, 50.0)])
    ledger.close()
    path.write_bytes(path.read_bytes()[:-2])  # an editor saved it without the final newline
    ledger = Ledger(path)
    assert ledger.repaired_bytes == 0 and ledger.has_scored("ab" * 32, "m" * 12)
    ledger.append([Row("b.jpg", "cd" * 32, "m" * 12, 1.0, 1.0)])
    ledger.close()
    assert [r["path"] for r in _scores(path)] == ["a.jpg", "b.jpg"]


def test_a_half_row_from_a_crash_is_still_cut(tmp_path):
    path = tmp_path / "scores.csv"
    ledger = Ledger(path)
    ledger.append([Row("a.jpg", "ab" * 32, "m" * 12, 10.0, 50.0)])
    ledger.close()
    whole = path.read_bytes()
    path.write_bytes(whole + b"2026-12-01T00:00:00.000Z,b.jpg,cdcd")
    ledger = Ledger(path)
    assert ledger.repaired_bytes == len(b"2026-12-01T00:00:00.000Z,b.jpg,cdcd")
    ledger.close()
    assert path.read_bytes() == whole


def test_rows_follow_the_file_when_it_is_deleted_replaced_or_emptied(tmp_path):
    path = tmp_path / "scores.csv"
    ledger = Ledger(path)
    ledger.append([Row("a.jpg", "ab" * 32, "m" * 12, 1.0, 1.0)])
    path.unlink()  # deleted
    ledger.append([Row("b.jpg", "cd" * 32, "m" * 12, 1.0, 1.0)])
    assert [r["path"] for r in _scores(path)] == ["b.jpg"]
    replacement = tmp_path / "saved-by-an-editor.csv"
    replacement.write_bytes(path.read_bytes())
    replacement.replace(path)  # replaced by a rename
    ledger.append([Row("c.jpg", "ef" * 32, "m" * 12, 1.0, 1.0)])
    assert [r["path"] for r in _scores(path)] == ["b.jpg", "c.jpg"]
    with open(path, "r+b") as handle:  # logrotate's copytruncate
        handle.truncate(0)
    ledger.append([Row("d.jpg", "01" * 32, "m" * 12, 1.0, 1.0)])
    ledger.close()
    assert path.read_bytes().startswith(HEADER.encode())
    assert [r["path"] for r in _scores(path)] == ["d.jpg"]
    assert Ledger(path).has_scored("01" * 32, "m" * 12)
