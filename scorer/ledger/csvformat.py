"""The scores CSV's format: its columns, a row and how it is encoded, which header is
ours, and which last line is a whole row. The file ledger (ledger.py) and the
cluster's partitions (partitions.py) both read and write it through this."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timezone

from scorer.core.text import neutralise
from scorer.ledger.csvrows import first_line_length

COLUMNS = ("scored_at", "path", "sha256", "predicted_likes", "percentile", "model", "status",
           "error")
HEADER = ",".join(COLUMNS) + "\r\n"
@dataclass(frozen=True)
class Row:
    path: str
    sha256: str
    model: str
    predicted_likes: float | None = None
    percentile: float | None = None
    error: str = ""
    # The first path with the same bytes in this run: this row repeats its prediction,
    # so every path given has its row (status "duplicate", that path in the error cell).
    duplicate_of: str = ""

    @property
    def ok(self) -> bool:
        """A prediction the row carries: scored, or a duplicate of a photo scored."""
        return not self.error

    def record(self) -> dict[str, str]:
        """The row's cells by column name."""
        failed = bool(self.error) or self.predicted_likes is None
        return {
            "scored_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "path": neutralise(self.path),
            "sha256": self.sha256,
            "predicted_likes": "" if failed else f"{max(self.predicted_likes or 0.0, 0.0):.1f}",
            "percentile": "" if self.percentile is None or self.error else f"{self.percentile:.1f}",
            "model": self.model,
            "status": "error" if self.error else "duplicate" if self.duplicate_of else "ok",
            "error": neutralise(self.error or (f"the same bytes as {self.duplicate_of}"
                                               if self.duplicate_of else "")),
        }


# The statuses whose row carries a prediction (a duplicate: the same bytes as the path in
# `error`): their (sha256, model) was scored.
PREDICTED = ("ok", "duplicate")


def encode_rows(rows: list[Row], columns: tuple[str, ...] = COLUMNS) -> bytes:
    """RFC 4180 rows in the order of ``columns``; a column the row does not know is empty."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        record = row.record()
        writer.writerow([record.get(column, "") for column in columns])
    return buffer.getvalue().encode("utf-8")


def accepted_header(header: list[str]) -> tuple[str, ...] | None:
    """The file's columns if it is a scores CSV (all known columns, any order), else None."""
    columns = tuple(cell.strip() for cell in header)
    if columns and columns[0].startswith("\ufeff"):
        columns = (columns[0][1:], *columns[1:])
    return columns if set(COLUMNS) <= set(columns) else None


def ends_in_whole_row(head: bytes, tail: bytes) -> bool:
    """Is ``tail`` (after the last newline) a whole row that only lacks its newline?

    Whole: balanced quotes, as many cells as the header and a known status (an
    ok row ends with its empty error cell). A half row from a crash fails one
    of these unless it was cut exactly before its newline, and then it is whole.
    """
    if tail.count(b'"') % 2:
        return False
    header_line = head[: first_line_length(head)]  # only the header and the tail are parsed
    text = (header_line + tail).decode("utf-8", "replace")
    lines = list(csv.reader(io.StringIO(text, newline="")))
    if not lines or (header := accepted_header(lines[0])) is None:
        return False
    if len(lines) == 1:
        return True  # the header itself
    record = dict(zip(header, lines[-1], strict=False))
    status, error = record.get("status"), record.get("error")
    return len(lines[-1]) == len(header) and (
        status == "error" or (status == "ok" and error == "")
        or (status == "duplicate" and error != ""))  # ok ends in its empty error cell
