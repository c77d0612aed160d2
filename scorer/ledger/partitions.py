"""The output of ``spe cluster-score``: a folder of partitions, each a whole file.

A partition holds the rows of one chunk of photos, in the columns of the scores
CSV (CSV, or Parquet where pyarrow is installed). It is written under a hidden
temporary name, synced, then renamed: a run killed at any moment leaves whole
partitions and, at worst, a hidden temporary file that the next run removes.

A partition's name is a digest of what it was made from: the model and, for
each photo, its path, size and modification time. A rerun with the same photos
finds the name already there and passes over the whole chunk without reading a
byte; a photo changed since (new size or time) changes its chunk's name, and
that chunk is read again, where the ledger rule (an ok row for the same sha256
and model) skips the photos that were scored. The folder's ok rows are the
ledger, as the scores CSV is for ``spe batch-score``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from scorer.core.errors import OutputError
from scorer.core.ownfiles import sync_folder
from scorer.core.settings import PARTITION_FORMATS
from scorer.core.text import neutralise
from scorer.ledger.csvformat import COLUMNS, HEADER, Row, accepted_header, encode_rows
from scorer.ledger.known import ok_key

FORMATS = PARTITION_FORMATS
PART_NAME = re.compile(r"^part-[0-9a-f]{12}-[0-9a-f]{20}\.(csv|parquet)$")
TEMP_PREFIX = ".part-"


def part_name(model_id: str, members: Iterable[tuple[str, int, int]], fmt: str) -> str:
    """The name of the partition made by ``model_id`` from these (path, size, mtime_ns)."""
    digest = hashlib.blake2b(model_id.encode(), digest_size=10)
    for path, size, mtime_ns in members:
        digest.update(os.fsencode(path) + b"\0" + f"{size}:{mtime_ns}".encode() + b"\n")
    return f"part-{model_id[:12]}-{digest.hexdigest()}.{fmt}"


def existing_parts(folder: Path) -> set[str]:
    """Names of the whole partitions in ``folder``: a name without its extension, so a
    chunk written as CSV is not scored again when Parquet is asked for, or the reverse."""
    return {name.rsplit(".", 1)[0] for name in os.listdir(folder) if PART_NAME.match(name)}


def remove_leftovers(folder: Path) -> int:
    """Delete the temporary files of an earlier run that was killed while writing."""
    removed = 0
    for name in os.listdir(folder):
        if name.startswith(TEMP_PREFIX) and ".tmp-" in name:
            try:
                os.unlink(folder / name)
                removed += 1
            except FileNotFoundError:
                pass
    return removed


def write_part(folder: Path, name: str, rows: list[Row]) -> None:
    """Write ``rows`` as the partition ``name``, whole or not at all."""
    data = _encode(rows, name.rsplit(".", 1)[1])
    temp = folder / f"{TEMP_PREFIX}{name[len('part-'):]}.tmp-{os.getpid()}"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(temp, folder / name)
        sync_folder(folder)
    except OSError as exc:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise OutputError(f"{folder / name}: cannot write ({exc.strerror})") from None


def _encode(rows: list[Row], fmt: str) -> bytes:
    if fmt == "csv":
        return HEADER.encode() + encode_rows(rows)
    import pyarrow as pa
    import pyarrow.parquet as pq

    # The CSV's cells, with the numbers as numbers (None on error rows) and the
    # texts as they are: the formula quoting is for spreadsheets, not for Parquet.
    records = [row.record() for row in rows]
    columns: dict[str, list[Any]] = {column: [r[column] for r in records] for column in COLUMNS}
    for column in ("predicted_likes", "percentile"):
        columns[column] = [float(v) if v else None for v in columns[column]]
    columns["path"] = [row.path for row in rows]
    columns["error"] = [row.error for row in rows]
    schema = pa.schema([(c, pa.float64() if c in ("predicted_likes", "percentile")
                         else pa.string()) for c in COLUMNS])
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pydict(columns, schema=schema), sink)
    return sink.getvalue()


def read_records(path: Path) -> Iterator[dict[str, str]]:
    """The rows of one partition as the CSV's cells (numbers as the CSV writes them)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        for record in pq.read_table(path).to_pylist():
            cells = {c: "" if record.get(c) is None else str(record[c]) for c in COLUMNS}
            for column in ("predicted_likes", "percentile"):
                if record.get(column) is not None:
                    cells[column] = f"{record[column]:.1f}"
            cells["path"], cells["error"] = neutralise(cells["path"]), neutralise(cells["error"])
            yield cells
        return
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = accepted_header(next(reader, []))
        if header is None:
            raise OutputError(f"{path}: not a partition of scores (its header lacks the "
                              "scores columns)")
        for line in reader:
            if len(line) == len(header):
                yield dict(zip(header, line, strict=True))


def part_files(folder: Path) -> list[Path]:
    return sorted(folder / name for name in os.listdir(folder) if PART_NAME.match(name))


def ok_keys(folder: Path, model_id: str) -> tuple[np.ndarray, int]:
    """The ledger of the folder for ``model_id``: sorted 8-byte keys of its ok rows, and
    how many rows the folder has in all."""
    keys: list[int] = []
    rows = 0
    for path in part_files(folder):
        for record in read_records(path):
            rows += 1
            if record["status"] == "ok" and record["model"] == model_id:
                keys.append(ok_key(record["sha256"], model_id))
    return np.unique(np.array(keys, dtype=np.uint64)), rows


def merge_into(folder: Path, out: Path | None) -> int:
    """Every partition's rows as one scores CSV (header first, partitions in name order),
    to ``out`` (written under a temporary name, then renamed) or to standard output."""
    try:
        parts = part_files(folder)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot read the partitions ({exc.strerror})") from None
    rows = 0
    temp = out.with_name(f".{out.name}.tmp-{os.getpid()}") if out is not None else None
    try:
        with (open(temp, "w", encoding="utf-8", newline="") if temp is not None
              else open(sys.stdout.fileno(), "w", encoding="utf-8", newline="\n",
                        closefd=False)) as handle:
            handle.write(HEADER if temp is not None else HEADER.replace("\r\n", "\n"))
            writer = csv.writer(handle, lineterminator="\r\n" if temp is not None else "\n")
            for path in parts:
                for record in read_records(path):
                    writer.writerow([record[c] for c in COLUMNS])
                    rows += 1
            if temp is not None:
                handle.flush()
                os.fsync(handle.fileno())
        if temp is not None and out is not None:
            os.rename(temp, out)
            sync_folder(out.parent)
    except BrokenPipeError:  # `spe cluster-merge DIR | head`: the reader has enough
        return rows
    except OSError as exc:
        if temp is not None:
            try:
                os.unlink(temp)
            except OSError:
                pass
        raise OutputError(f"{out or 'standard output'}: cannot write ({exc.strerror})") from None
    return rows
