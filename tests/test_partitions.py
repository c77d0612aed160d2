"""scorer/ledger/partitions.py: names, whole writes, both formats read alike, the ledger."""

from __future__ import annotations

import os

import pytest

from scorer.ledger.csvformat import Row
from scorer.ledger.known import ok_key
from scorer.ledger.partitions import (
    existing_parts,
    ok_keys,
    part_name,
    read_records,
    remove_leftovers,
    write_part,
)

M1, M2 = "1a" * 20, "2b" * 20  # model ids
ROWS = [Row("a.jpg", "1" * 64, M1, 12.34, 56.7), Row("=b.jpg", "2" * 64, M1, error="broken"),
        Row("c.jpg", "3" * 64, M2, 5.0, 10.0)]


def test_a_partitions_name_follows_its_model_and_its_photos():
    members = [("a.jpg", 10, 1), ("b.jpg", 20, 2)]
    name = part_name(M1, members, "csv")
    assert name == part_name(M1, list(members), "csv")  # stable
    assert name.startswith(f"part-{M1[:12]}-") and name.endswith(".csv")
    assert part_name(M1, [("a.jpg", 10, 9), members[1]], "csv") != name  # touched
    assert part_name(M2, members, "csv") != name  # another model


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_both_formats_read_back_as_the_csvs_cells(tmp_path, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    name = part_name(M1, [("a.jpg", 1, 1)], fmt)
    write_part(tmp_path, name, ROWS)
    records = list(read_records(tmp_path / name))
    assert [r["path"] for r in records] == ["a.jpg", "'=b.jpg", "c.jpg"]  # formula-quoted
    assert [r["predicted_likes"] for r in records] == ["12.3", "", "5.0"]
    assert [r["status"] for r in records] == ["ok", "error", "ok"]
    assert existing_parts(tmp_path) == {name.rsplit(".", 1)[0]}
    assert [p for p in os.listdir(tmp_path) if p != name] == []  # no temporary left


def test_the_folders_ledger_is_its_ok_rows_for_the_model(tmp_path):
    write_part(tmp_path, part_name(M1, [], "csv"), ROWS)
    keys, rows = ok_keys(tmp_path, M1)
    assert rows == 3 and list(keys) == [ok_key("1" * 64, M1)]


def test_leftovers_of_a_killed_write_are_removed_and_parts_kept(tmp_path):
    name = part_name(M1, [], "csv")
    write_part(tmp_path, name, ROWS)
    leftover = tmp_path / f".part-{name[len('part-'):]}.tmp-4242"
    leftover.write_bytes(b"half")
    assert remove_leftovers(tmp_path) == 1
    assert os.listdir(tmp_path) == [name]
