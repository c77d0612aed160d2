"""Read a scores CSV strictly, as a spreadsheet or a script would."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from scorer.ledger.csvformat import COLUMNS


def read_rows(path: Path) -> list[dict[str, str]]:
    """Every row, after checking the file is whole RFC 4180 with one header."""
    data = path.read_bytes()
    assert data.endswith(b"\r\n"), "the file ends in a half row"
    text = data.decode("utf-8")  # must be valid UTF-8
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    assert tuple(rows[0]) == COLUMNS
    for row in rows[1:]:
        assert len(row) == len(COLUMNS), row
        assert tuple(row) != COLUMNS, "header written twice"
    return [dict(zip(COLUMNS, row, strict=False)) for row in rows[1:]]
