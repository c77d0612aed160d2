"""The ledger's index beside the CSV: used when it matches, rebuilt when it does not.

The CSV is the truth; the index (``.NAME.index``) only saves reading it whole
at every start (issue 15: a million rows took 3.6 s and 1.2 GB).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from scorer.known import index_path_for
from scorer.ledger import Ledger, Row

MODEL = "57e4f1e44af2"


def sha(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def fill(path: Path, n: int, start: int = 0) -> None:
    ledger = Ledger(path)
    ledger.append([Row(f"/in/{i}.jpg", sha(i), MODEL, 10.0, 50.0) for i in range(start, n)]
                  + [Row("/in/bad.jpg", sha(-1), MODEL, error="empty file")])
    ledger.close()


def test_the_index_is_written_and_used(tmp_path):
    out = tmp_path / "s.csv"
    fill(out, 1000)
    index = index_path_for(out)
    assert index.exists()
    ledger = Ledger(out)
    try:
        assert all(ledger.has_scored(sha(i), MODEL) for i in range(1000))
        assert not ledger.has_scored(sha(1000), MODEL)
        assert ledger.has_failed("/in/bad.jpg", sha(-1), MODEL)
    finally:
        ledger.close()


def test_rows_appended_past_the_index_are_read(tmp_path):
    """Another writer (a script, a crash before the index was saved) appended rows."""
    out = tmp_path / "s.csv"
    fill(out, 100)
    with open(out, "ab") as handle:  # a row the index does not cover
        handle.write(f"2026-12-01T00:00:00.000Z,/in/x.jpg,{sha(500)},1.0,1.0,{MODEL},ok,"
                     "\r\n".encode())
    ledger = Ledger(out)
    try:
        assert ledger.has_scored(sha(500), MODEL) and ledger.has_scored(sha(5), MODEL)
    finally:
        ledger.close()


def test_an_index_that_does_not_match_the_csv_is_rebuilt_from_it(tmp_path):
    """Replaced by an editor's save (another file, a row removed): the CSV wins."""
    out = tmp_path / "s.csv"
    fill(out, 100)
    lines = out.read_bytes().split(b"\r\n")
    edited = tmp_path / "edited.csv"
    edited.write_bytes(b"\r\n".join(line for line in lines if sha(7).encode() not in line))
    os.replace(edited, out)
    ledger = Ledger(out)
    try:
        assert not ledger.has_scored(sha(7), MODEL)
        assert ledger.has_scored(sha(8), MODEL)
    finally:
        ledger.close()


def test_an_edit_inside_the_covered_rows_is_noticed(tmp_path):
    """The same file edited in place (its inode kept): the fingerprint no longer matches."""
    out = tmp_path / "s.csv"
    fill(out, 100)
    data = out.read_bytes()
    with open(out, "r+b") as handle:  # overwrite the last ok row's sha256 in place
        at = data.rindex(sha(99).encode())
        handle.seek(at)
        handle.write(sha(12345).encode())
    ledger = Ledger(out)
    try:
        assert not ledger.has_scored(sha(99), MODEL)
        assert ledger.has_scored(sha(12345), MODEL)
    finally:
        ledger.close()


def test_a_missing_or_corrupt_index_is_rebuilt(tmp_path):
    out = tmp_path / "s.csv"
    fill(out, 100)
    index = index_path_for(out)
    for damage in (lambda: index.unlink(), lambda: index.write_bytes(b"not an index")):
        damage()
        ledger = Ledger(out)
        try:
            assert ledger.has_scored(sha(42), MODEL)
        finally:
            ledger.close()
        assert index.exists()
