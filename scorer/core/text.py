"""Text as spe shows it: paths as UTF-8, names on one log line, cells a spreadsheet
will not run."""

from __future__ import annotations

import os

# A cell starting with one of these runs as a formula in spreadsheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """Make a text cell inert in a spreadsheet: a leading quote, as OWASP advises."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as UTF-8 text; bytes that are not UTF-8 are shown as \\x escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def one_line(text: str) -> str:
    """A file name fit for one log line: control characters shown as escapes."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)
