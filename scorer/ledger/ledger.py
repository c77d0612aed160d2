"""The scores CSV, which is also the ledger of what has been scored.

Rows are appended with O_APPEND in whole-row writes and fsynced after each
batch, so a kill leaves at most a half row at the very end; opening the file
again cuts that half row off before anything else is appended. An exclusive
lock keeps two spe processes from interleaving rows in one file.

The columns are defined once (COLUMNS) and rows are read and written by name:
a CSV whose header has the known columns in another order, or extra columns a
person added, is still the ledger, and the rows appended to it follow its own
header (extra columns left empty). A UTF-8 BOM before the header is allowed.
"""

from __future__ import annotations

import csv
import fcntl
import gzip
import io
import logging
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from scorer.core.errors import OutputError, os_reason
from scorer.core.text import neutralise
from scorer.ledger.csvformat import (
    COLUMNS,
    HEADER,
    PREDICTED,
    Row,
    accepted_header,
    encode_rows,
    ends_in_whole_row,
)
from scorer.ledger.csvrows import Unparsed, first_line_length, line_ends, records, whole_length
from scorer.ledger.known import (
    Coverage,
    KnownKeys,
    failed_key,
    forget_index,
    index_path_for,
    load_index,
    ok_key,
    rotated_fingerprint,
    save_index,
)

log = logging.getLogger("spe.ledger")

READ_CHUNK = 4 * 1024 * 1024  # the CSV is read in pieces, never whole
INDEX_EVERY_ROWS = 50_000  # rows read or appended past the index before it is rewritten
MAX_ROTATED_BYTES = 1 << 30  # a rotated copy is read this far at most (uncompressed)



def _same_file(path: Path, fd: int) -> bool:
    try:
        here, there = os.stat(path), os.fstat(fd)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def rotated_siblings(path: Path) -> list[Path]:
    """Rotated copies of ``path`` beside it, newest first by modification time."""
    pattern = re.compile(re.escape(path.name) + r"[.-]\d[\d-]*(\.gz)?$")
    try:
        found = [p for p in path.parent.iterdir() if pattern.match(p.name) and p.is_file()]
    except OSError:
        return []
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def _first_line(fd: int, size: int) -> bytes:
    """The header line with its line end (or all there is, if none ends in 64 KiB)."""
    data = os.pread(fd, min(size, 65536), 0) if size else b""
    length = first_line_length(data)
    return data[:length] if length else data


def _is_torn_header(data: bytes) -> bool:
    """A crash while spe wrote the header: the start of our own header, nothing else."""
    return HEADER.encode("utf-8").startswith(data)


class Ledger:
    """Append-only scores CSV; ``None`` as path writes to standard output (no memory).

    What it knows (the ok rows' (sha256, model), the error rows' (path, sha256,
    model)) is kept as 8-byte keys with an index file beside the CSV
    (``known.py``), so a start with a million rows takes a fraction of a second.
    """

    def __init__(self, path: str | os.PathLike[str] | None, stdout: bool = True) -> None:
        self.path = Path(path) if path is not None else None
        # With no path: rows go to standard output, or (stdout=False, `spe rank`) nowhere.
        self.stdout = stdout
        self._ok = KnownKeys()  # (sha256, model) with an ok row
        self._failed = KnownKeys()  # (path, sha256, model) with an error row
        self.repaired_bytes = 0
        self.columns: tuple[str, ...] = COLUMNS  # the file's own order once opened
        self._fd: int | None = None
        self._rotated_read = False  # once, at start: reopens keep what is known
        self._rotated = ""  # the rotated copies read, for the index
        self._unindexed = 0  # rows appended since the index was written
        # Keys learned from a file that is no longer at the path (deleted or replaced
        # while spe ran): still known in memory, but never written into the new file's
        # index, which must describe only what that file and its rotated copies say.
        self._carried = False
        self.open()

    def open(self) -> None:
        if self.path is None:
            if self.stdout:
                sys.stdout.write(HEADER.replace("\r\n", "\n"))
                sys.stdout.flush()
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot open for writing ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise OutputError(f"{self.path}: in use by another spe process") from None
        try:
            self._load(fd)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def _load(self, fd: int) -> None:
        assert self.path is not None
        header_line, size, self.repaired_bytes = settle_header(fd, self.path)
        if size:
            columns = accepted_header(next(csv.reader(io.StringIO(
                header_line.decode("utf-8", "replace"), newline="")), []))
            if columns is None:
                shown = header_line.decode("utf-8", "replace").strip()
                raise OutputError(f"{self.path}: not a scores CSV (header {shown[:60]!r})")
            self.columns = columns
        rotated = rotated_siblings(self.path)
        self._rotated = rotated_fingerprint(rotated)
        indexed = load_index(index_path_for(self.path), fd, self._rotated) if size else None
        if indexed is not None:
            ok, failed, start = indexed
            self._ok.absorb(ok)
            self._failed.absorb(failed)
            self._rotated_read = True  # the index holds their keys too
        else:
            start = len(header_line)
            if not self._rotated_read:
                self._rotated_read = True
                self._read_rotated(rotated)
        rows = read_rows(self, fd, start, size, header_line)
        if os.fstat(fd).st_size == 0:
            self.columns = COLUMNS
            self._write(fd, HEADER.encode("utf-8"))
        if indexed is None or rows >= INDEX_EVERY_ROWS:
            self._save_index(fd)

    def _remember(self, data: bytes, columns: tuple[str, ...] | None = None,
                  unparsed: Unparsed | None = None, first_line: int = 0) -> int:
        """Learn the keys of the rows in ``data`` (whole lines); returns how many rows."""
        ok, failed = keys_of(data, columns or self.columns, unparsed, first_line)
        self._ok.add_many(ok)
        self._failed.add_many(failed)
        return len(ok) + len(failed)

    def _read_rotated(self, rotated: list[Path]) -> None:
        """What the rotated copies (logrotate's NAME.1, NAME.2.gz, NAME-20261201) say was
        scored: after a rotation and a restart, those photos are not scored again."""
        for sibling in rotated:
            read_rotated_copy(sibling, self._remember)

    def _save_index(self, fd: int) -> None:
        assert self.path is not None
        if self._carried or not ends_at_line_end(fd):  # (cut since the last append)
            forget_index(index_path_for(self.path))
            return
        coverage = Coverage.of(fd, os.fstat(fd).st_size, self._rotated)
        save_index(index_path_for(self.path), coverage, self._ok.compact(),
                   self._failed.compact())
        self._unindexed = 0

    def learn_scored(self, keys: np.ndarray) -> None:
        """Know these ok keys (``known.ok_key``) as if their rows had been read."""
        self._ok.absorb(keys)

    def has_scored(self, sha256: str, model: str) -> bool:
        return ok_key(sha256, model) in self._ok

    def has_failed(self, path: str, sha256: str, model: str) -> bool:
        return failed_key(neutralise(path), sha256, model) in self._failed

    def append(self, rows: list[Row]) -> None:
        """Write rows whole and on disk, or raise OutputError having written nothing."""
        if not rows:
            return
        if self.path is None:
            if self.stdout:
                sys.stdout.write(encode_rows(rows).decode("utf-8").replace("\r\n", "\n"))
                sys.stdout.flush()
        else:
            known = [knows(self, row) for row in rows]
            fd, reopened = self._current_fd()
            if reopened:
                rows = not_written_since(self, rows, known)
                if not rows:
                    return
            self._write(fd, encode_rows(rows, self.columns))
            self._unindexed += len(rows)
            if self._unindexed >= INDEX_EVERY_ROWS:
                self._save_index(fd)
        for row in rows:
            if row.ok:
                self._ok.add(ok_key(row.sha256, row.model))
            else:
                self._failed.add(failed_key(neutralise(row.path), row.sha256, row.model))

    def _current_fd(self) -> tuple[int, bool]:
        """The open file, if it is still the file at the path; else the path opened again
        (and True: what it holds was read just now).

        People and tools act on the CSV while spe runs: deleted, or replaced by
        an editor's save-by-rename (rows would go to a file no one can see), or
        emptied by logrotate's copytruncate (rows would follow no header). A
        reopen that failed earlier (SIGHUP) is tried again here too; an
        OutputError makes the caller wait and retry like any output error.
        """
        assert self.path is not None
        reopened = self._fd is None
        if self._fd is not None and not _same_file(self.path, self._fd):
            reopened = True
            log.warning("%s was deleted or replaced: writing to the file now at that path",
                        self.path)
            self.close()
            self._carried = True
        if self._fd is None:
            self.open()
        assert self._fd is not None
        if os.fstat(self._fd).st_size == 0:
            log.warning("%s was emptied: writing its header again", self.path)
            self._write(self._fd, (",".join(self.columns) + "\r\n").encode("utf-8"))
        elif settle_cut_tail(self._fd, self.path):
            self._carried = True  # its key is known, its row is not whole: no index vouches
        return self._fd, reopened

    def _write(self, fd: int, data: bytes) -> None:
        write_whole(fd, data, self.path)

    def reopen(self) -> None:
        """Close and open again (after log rotation); what was scored stays known."""
        self.close()
        self.open()

    def close(self) -> None:
        if self._fd is not None:
            if self._unindexed:
                self._save_index(self._fd)
            os.close(self._fd)
            self._fd = None


def read_rows(ledger: Ledger, fd: int, start: int, size: int, header_line: bytes) -> int:
    """Learn the whole rows in [start, size), in chunks; settle what ends the file:
    a last row that only lacks its line end is ended, a torn last line is cut off.
    Lines that parse as no row are kept as they are, and said once."""
    pos, carry, count = start, b"", 0
    unparsed, line = Unparsed(), 1 if start == len(header_line) else 0
    while pos < size:
        chunk = carry + os.pread(fd, min(READ_CHUNK, size - pos), pos)
        pos = min(size, pos + READ_CHUNK)
        whole = whole_length(chunk)  # the chunk starts at a line boundary
        count += ledger._remember(chunk[:whole], unparsed=unparsed,
                                first_line=line + 1 if line else 0)
        if line:
            line += line_ends(chunk[:whole])
        carry = chunk[whole:]
    if unparsed.count:
        where = f" (the first at line {unparsed.first_line})" if line else ""
        log.warning("%s: %d line(s) are not rows of its columns%s: kept as they are, "
                    "and not read", ledger.path, unparsed.count, where)
    if carry:
        if end_or_cut(fd, ledger.path, header_line, carry, size):
            count += ledger._remember(carry + b"\r\n")
        else:
            ledger.repaired_bytes = len(carry)
    return count


def end_or_cut(fd: int, path: Path | None, header_line: bytes, tail: bytes, size: int) -> bool:
    """Settle the file's last line, ``tail``, which has no line end: a row that lost only
    its newline (a person's editor, a script) is whole, so it is ended (True); a half row
    (a crash, a truncation) is cut off so the next row starts clean (False)."""
    if ends_in_whole_row(header_line, tail):
        write_whole(fd, b"\r\n", path)
        return True
    os.ftruncate(fd, size - len(tail))
    return False


def ends_at_line_end(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size == 0 or os.pread(fd, 1, size - 1) in (b"\n", b"\r")


CUT_WINDOW = 1 << 20  # bytes read back from the end for the last line: rows are shorter


def settle_cut_tail(fd: int, path: Path) -> bool:
    """The CSV, cut mid-row while spe ran (a truncation, a torn copy): a last row that
    only lost its line end is ended; a half row is removed, so the next row is not glued
    onto it. True when a row was removed (its photo is then scored again at a start)."""
    if ends_at_line_end(fd):
        return False
    size = os.fstat(fd).st_size
    window = os.pread(fd, min(size, CUT_WINDOW), max(0, size - CUT_WINDOW))
    last = max(window.rfind(b"\n"), window.rfind(b"\r"))
    if last < 0:
        return False  # one line with no end: the header's, settled when the file opens
    tail = window[last + 1:]
    if end_or_cut(fd, path, _first_line(fd, size), tail, size):
        return False
    log.warning("%s: its last row was cut (%d bytes left of it): removed, so the next row "
                "starts clean; that photo is scored again at the next start", path, len(tail))
    return True


def knows(ledger: Ledger, row: Row) -> bool:
    return (ledger.has_scored(row.sha256, row.model) if row.ok
            else ledger.has_failed(row.path, row.sha256, row.model))


def not_written_since(ledger: Ledger, rows: list[Row], known: list[bool]) -> list[Row]:
    """The file at the path was opened again (deleted or replaced): rows another spe
    process wrote there meanwhile (keys unknown before, read from it now) are its rows,
    not written twice; rows of keys known before (--force) are written."""
    new = [row for row, before in zip(rows, known, strict=True)
           if before or not knows(ledger, row)]
    if len(new) < len(rows):
        log.warning("%s: %d row(s) were written there meanwhile (by another spe process): "
                    "not written again", ledger.path, len(rows) - len(new))
    return new


def settle_header(fd: int, path: Path) -> tuple[bytes, int, int]:
    """(the header line, the file's size, bytes cut): a header that lost its line end is
    ended; the start of our own header torn by a crash is cut; anything else is left for
    the caller to refuse, byte for byte (a token, minified JSON: not ours)."""
    size = os.fstat(fd).st_size
    header_line = _first_line(fd, size)
    if size and not header_line.endswith((b"\n", b"\r")):
        if ends_in_whole_row(b"", header_line):  # a header that lost its newline
            write_whole(fd, b"\r\n", path)
            return header_line + b"\r\n", size + 2, 0
        if _is_torn_header(header_line):  # torn by a crash while writing the header
            os.ftruncate(fd, 0)
            return b"", 0, size
    return header_line, size, 0


def keys_of(data: bytes, columns: tuple[str, ...], unparsed: Unparsed | None = None,
            first_line: int = 0) -> tuple[list[int], list[int]]:
    """The ok keys and the error keys of the rows in ``data`` (whole lines)."""
    at = {name: columns.index(name) for name in ("path", "sha256", "model", "status")}
    ok, failed = [], []
    for cells in records(data, len(columns), first_line, unparsed):
        sha256, model = cells[at["sha256"]], cells[at["model"]]
        if cells[at["status"]] in PREDICTED:
            ok.append(ok_key(sha256, model))
        else:
            failed.append(failed_key(cells[at["path"]], sha256, model))
    return ok, failed


def write_whole(fd: int, data: bytes, path: Path | None) -> None:
    """Append ``data`` and fsync, or take back the part that made it (a full disk, a file
    too large: no half row stays, nothing counts as done) and raise OutputError."""
    start = os.fstat(fd).st_size
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except OSError as exc:
        try:
            os.ftruncate(fd, start)
        except OSError:
            pass
        raise OutputError(f"{path}: cannot write ({os_reason(exc)})") from None


def read_rotated_copy(sibling: Path, remember: Callable[..., int]) -> None:
    """Learn the rows of one rotated copy (gzipped or not) through ``remember(data,
    columns)``: line by line, at most MAX_ROTATED_BYTES, any damage one log line."""
    try:
        opener = gzip.open if sibling.suffix == ".gz" else open
        with opener(sibling, "rb") as handle:
            start = handle.read(65536)
            length = first_line_length(start)
            columns = accepted_header(next(csv.reader([start[:length].decode(
                "utf-8", "replace")]), [])) if length else None
            if columns is None:
                return
            carry, read = start[length:], len(start)
            while True:
                whole = whole_length(carry)
                remember(carry[:whole], columns)
                carry = carry[whole:]
                if read >= MAX_ROTATED_BYTES:
                    log.warning("%s: only its first %d MiB were read (a rotated copy that "
                                "large is not one of ours)", sibling, MAX_ROTATED_BYTES >> 20)
                    return
                block = handle.read(READ_CHUNK)
                if not block:
                    return
                carry, read = carry + block, read + len(block)
    except (OSError, EOFError, csv.Error) as exc:
        log.warning("%s: cannot read this rotated copy (%s); photos only it "
                    "records may be scored again", sibling, exc)
