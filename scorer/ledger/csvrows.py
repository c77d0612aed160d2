"""Reading a scores CSV that people and tools have touched, in linear time.

A row ends at a line end: LF, CRLF, or a lone CR (Excel for Mac's "CSV
(Macintosh)"). Only the bytes after the last line end can be a crash's torn
row. Everything before it is whole lines; each line is a row on its own unless
its quotes open a field that a following line closes (a path with a newline in
it, as RFC 4180 allows), and then a few lines together make one row. A line
that parses as no row of the file's columns (a stray quote typed into a cell
that makes it unbalanced, a note pasted in) is counted and skipped: it is never
a reason to drop the rows after it, and it stays in the file as it was.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass

MAX_LINES_PER_ROW = 4  # a quoted field may hold a newline or two (a strange file name)


def whole_length(data: bytes) -> int:
    """Length of ``data`` up to and including its last line end; the rest is a torn tail."""
    return max(data.rfind(b"\n"), data.rfind(b"\r")) + 1


def first_line_length(data: bytes) -> int:
    """Length of the first line with its line end (CRLF, LF or CR); 0 if none ends."""
    match = re.search(rb"\r\n|\r|\n", data)
    if match is None:
        return 0
    if match.group() == b"\r" and match.end() == len(data):
        return 0  # a CR at the very end may be the first half of a CRLF
    return match.end()


@dataclass
class Unparsed:
    """Lines that parse as no row: how many, and the first one's number (1 = the header)."""

    count: int = 0
    first_line: int = 0

    def add(self, line: int) -> None:
        self.count += 1
        self.first_line = self.first_line or line


def _cells(text: str) -> list[str] | None:
    """The cells of ``text`` if it is exactly one CSV record, else None."""
    try:
        rows = list(csv.reader(text.splitlines(True)))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None


NON_EMPTY_LINE = re.compile(rb"[^\r\n]+")


def records(data: bytes, width: int, first_line: int = 1,
            unparsed: Unparsed | None = None) -> Iterator[list[str]]:
    """The rows of ``width`` cells in ``data`` (whole lines only: see ``whole_length``).

    ``first_line`` is the line number of ``data``'s first line, for ``unparsed``.
    Empty lines cost nothing (a file of a hundred megabytes of line ends is read in
    a moment: the regular expression skips them in C).
    """
    spans = [(m.start(), m.group()) for m in NON_EMPTY_LINE.finditer(data)]
    lines = [raw.decode("utf-8", "replace") for _, raw in spans]
    i = 0
    while i < len(lines):
        line = lines[i]
        if '"' not in line:
            cells: list[str] | None = line.split(",")
            used = 1
        else:
            cells, used = _quoted(lines, i, width)
        if cells is not None and len(cells) == width:
            yield cells
        elif unparsed is not None and line.strip():
            unparsed.add(first_line + line_ends(data[:spans[i][0]]))
        i += used


def line_ends(data: bytes) -> int:
    """How many lines end in ``data`` (CRLF counts once)."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def _quoted(lines: list[str], i: int, width: int) -> tuple[list[str] | None, int]:
    """A line with quotes: alone if they balance; else joined with the next lines until
    they do (a quoted newline); else alone again, its quotes taken as plain text."""
    if lines[i].count('"') % 2 == 0:
        return _cells(lines[i]), 1
    for end in range(i + 1, min(i + MAX_LINES_PER_ROW, len(lines))):
        joined = "\n".join(lines[i:end + 1])
        if joined.count('"') % 2 == 0:
            cells = _cells(joined)
            if cells is not None and len(cells) == width:
                return cells, end + 1 - i
            break
    return _cells(lines[i]), 1
