"""The ledger's index beside the CSV: used when it matches, rebuilt when it does not.

The CSV is the truth; the index (``.NAME.index``) only saves reading it whole
at every start (issue 15: a million rows took 3.6 s and 1.2 GB).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from scorer.ledger.csvformat import Row
from scorer.ledger.known import index_path_for
from scorer.ledger.ledger import Ledger
from tests.conftest import spe

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


def test_an_index_never_outlives_a_csv_deleted_under_it(tmp_path):
    """The CSV deleted while spe runs, a new row written: before, the index written at
    the end kept the deleted rows' keys, and at the next start a photo with no row
    anywhere was "already scored" (and the daemon moved it without a row)."""
    out = tmp_path / "s.csv"
    ledger = Ledger(out)
    ledger.append([Row(f"/in/{i}.jpg", sha(i), MODEL, 10.0, 50.0) for i in range(5)])
    out.unlink()
    ledger.append([Row("/in/new.jpg", sha(99), MODEL, 10.0, 50.0)])
    assert ledger.has_scored(sha(0), MODEL)  # still known while it runs
    ledger.close()
    again = Ledger(out)
    try:
        assert not any(again.has_scored(sha(i), MODEL) for i in range(5))
        assert again.has_scored(sha(99), MODEL)
    finally:
        again.close()


def test_an_edit_far_from_the_end_is_seen(tmp_path):
    """The same length, the same inode, more than 4 KiB before the end: before, only the
    last 4 KiB were fingerprinted, and the edit was not seen."""
    out = tmp_path / "s.csv"
    fill(out, 200)
    data = out.read_bytes()
    assert len(data) > 20_000 and sha(3).encode() in data
    with open(out, "r+b") as handle:  # in place: same inode
        handle.seek(data.index(sha(3).encode()))
        handle.write(sha(1000).encode())
    ledger = Ledger(out)
    try:
        assert ledger.has_scored(sha(1000), MODEL)
        assert not ledger.has_scored(sha(3), MODEL)
    finally:
        ledger.close()


@pytest.mark.parametrize("damage", ["cut in half", "one byte flipped", "a folder", "empty"])
def test_a_damaged_index_is_rebuilt_with_one_line(tmp_path, photos, damage):
    """Before, a damaged index gave a zipfile.BadZipFile traceback at every start."""
    out = tmp_path / "s.csv"
    assert spe("batch-score", str(photos), "--out", str(out)).returncode == 0
    index = index_path_for(out)
    data = index.read_bytes()
    index.unlink()
    if damage == "cut in half":
        index.write_bytes(data[: len(data) // 2])
    elif damage == "one byte flipped":
        flipped = bytearray(data)
        flipped[len(data) // 2] ^= 0x40
        index.write_bytes(bytes(flipped))
    elif damage == "a folder":
        index.mkdir()
    else:
        index.write_bytes(b"")
    proc = spe("batch-score", str(photos), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "scored 0, skipped 5" in proc.stderr
    if damage != "a folder":
        assert "rebuilt from the CSV" in proc.stderr or damage == "empty", proc.stderr


def test_files_beside_the_csv_follow_no_symlink(tmp_path, photos):
    """Planted links at the index's names (and its old temporary name) point at a file
    the uploader cannot read: before, it was truncated and overwritten."""
    out = tmp_path / "s.csv"
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious\n")
    victim.chmod(0o600)
    index = index_path_for(out)
    for name in (index.name, f"{index.name}.tmp.npz", f".{index.name}.tmp"):
        (tmp_path / name).symlink_to(victim)
    proc = spe("batch-score", str(photos), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert victim.read_bytes() == b"precious\n"
    assert not index.is_symlink() and index.is_file()  # the link replaced, not followed
    again = spe("batch-score", str(photos), "--out", str(out))
    assert "scored 0, skipped 5" in again.stderr
