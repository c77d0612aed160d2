"""What the ledger knows, compactly: 8-byte keys, and an index file that keeps them.

Why: the ledger used to read the whole CSV at every start and keep each row's
sha256, model and path as Python strings. At a million rows (years of photos,
or an archive) that took 3.6 s and 1.2 GB here; a Pi Zero 2 has 512 MB. Now
each fact is one 8-byte key (a BLAKE2b digest of the cells it is about; two
different facts collide with a chance of about 1 in 10^13 at a million rows),
kept in a sorted numpy array, with a small Python set for the keys learned
since. The array is saved beside the CSV (``.NAME.index``) with what it covers
(the CSV's first bytes up to an offset, their digest, the file's identity and
change time, and the rotated copies it read), so a start loads 8 MB and reads
only the rows appended since. The CSV stays the truth: an index that does not
match it (missing, damaged, older, the CSV replaced, edited anywhere or rotated)
is rebuilt from it, with one log line.

Unchanged since the index was written (same inode, same change time) is
trusted at once; otherwise (rows appended by a run that was killed before it
rewrote the index, or an edit) the covered bytes are hashed again (a fraction
of a second for 100 MB) and must match. The index carries a checksum of its
own contents and is written whole (ownfiles.py), never through a symlink.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scorer.core.ownfiles import read_own, replaced

log = logging.getLogger("spe.ledger")
INDEX_VERSION = 2
DIGEST_CHUNK = 1 << 22


def _key(*cells: str) -> int:
    digest = hashlib.blake2b("\x1f".join(cells).encode("utf-8", "surrogatepass"),
                             digest_size=8).digest()
    return int.from_bytes(digest, "little")


def ok_key(sha256: str, model: str) -> int:
    return _key("ok", sha256, model)


def failed_key(path: str, sha256: str, model: str) -> int:
    return _key("error", path, sha256, model)


class KnownKeys:
    """A set of 64-bit keys: a sorted array (from the index or a rebuild) plus new ones."""

    def __init__(self) -> None:
        self._sorted = np.zeros(0, np.uint64)
        self._chunks: list[np.ndarray] = []  # bulk keys not merged yet (a rebuild)
        self._added: set[int] = set()

    def __contains__(self, key: int) -> bool:
        if key in self._added:
            return True
        if self._chunks:
            self.compact()
        i = int(np.searchsorted(self._sorted, np.uint64(key)))
        return i < len(self._sorted) and int(self._sorted[i]) == key

    def __len__(self) -> int:
        return len(self.compact())

    def add(self, key: int) -> None:
        self._added.add(key)

    def add_many(self, keys: list[int]) -> None:
        """Many keys at once (rows read from a file): kept as an array, not as Python ints."""
        if keys:
            self._chunks.append(np.array(keys, dtype=np.uint64))

    def absorb(self, keys: np.ndarray) -> None:
        """Take in a sorted array of distinct keys (an index's)."""
        if len(self._sorted) or self._chunks or self._added:
            self._chunks.append(keys.astype(np.uint64))
        else:
            self._sorted = keys.astype(np.uint64, copy=False)

    def compact(self) -> np.ndarray:
        """All keys as one sorted array (the new ones folded in)."""
        if self._added:
            self._chunks.append(np.fromiter(self._added, np.uint64, len(self._added)))
            self._added.clear()
        if self._chunks:
            self._sorted = np.unique(np.concatenate([self._sorted, *self._chunks]))
            self._chunks.clear()
        return self._sorted


@dataclass
class Coverage:
    """Which bytes of which CSV an index describes."""

    device: int
    inode: int
    offset: int  # the CSV's bytes [0, offset) are whole rows the keys include
    changed_ns: int  # the CSV's change time when the index was written
    digest: str  # sha256 of the CSV's bytes [0, offset)
    rotated: str  # the rotated copies read: names, sizes and mtimes

    @classmethod
    def of(cls, fd: int, offset: int, rotated: str) -> Coverage:
        info = os.fstat(fd)
        return cls(info.st_dev, info.st_ino, offset, info.st_ctime_ns, digest_of(fd, offset),
                   rotated)


def digest_of(fd: int, offset: int) -> str:
    """sha256 of the file's first ``offset`` bytes, read in pieces."""
    digest, pos = hashlib.sha256(), 0
    while pos < offset:
        chunk = os.pread(fd, min(DIGEST_CHUNK, offset - pos), pos)
        if not chunk:
            break
        digest.update(chunk)
        pos += len(chunk)
    return digest.hexdigest()


def rotated_fingerprint(paths: list[Path]) -> str:
    parts = []
    for path in sorted(paths):
        try:
            info = path.stat()
        except OSError:
            continue
        parts.append(f"{path.name}:{info.st_size}:{info.st_mtime_ns}")
    return "|".join(parts)


def index_path_for(csv_path: Path) -> Path:
    return csv_path.with_name(f".{csv_path.name}.index")


def _checksum(ok: np.ndarray, failed: np.ndarray, fields: str) -> str:
    digest = hashlib.sha256(fields.encode("utf-8", "surrogatepass"))
    digest.update(np.ascontiguousarray(ok, np.uint64).tobytes())
    digest.update(np.ascontiguousarray(failed, np.uint64).tobytes())
    return digest.hexdigest()


def _fields(device: int, inode: int, offset: int, changed_ns: int, digest: str,
            rotated: str) -> str:
    return f"{INDEX_VERSION}|{device}|{inode}|{offset}|{changed_ns}|{digest}|{rotated}"


def load_index(path: Path, fd: int, rotated: str) -> tuple[np.ndarray, np.ndarray, int] | None:
    """(ok keys, failed keys, offset covered) if the index at ``path`` matches the open
    CSV ``fd`` (same file, its covered bytes unchanged, same rotated copies), else None
    (a missing index silently; any other mismatch or damage with one log line)."""
    raw = read_own(path)
    if raw is None:
        return None
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            ok, failed = np.asarray(data["ok"], np.uint64), np.asarray(data["failed"], np.uint64)
            saved = (int(data["device"]), int(data["inode"]), int(data["offset"]),
                     int(data["changed_ns"]), str(data["digest"]), str(data["rotated"]))
            intact = (int(data["version"]) == INDEX_VERSION
                      and str(data["checksum"]) == _checksum(ok, failed, _fields(*saved)))
    except Exception as exc:  # noqa: BLE001 - any damage (zip, numpy, a flipped byte) is one line
        log.warning("%s: damaged (%s): rebuilt from the CSV", path, type(exc).__name__)
        return None
    reason = "damaged (checksum)" if not intact else _mismatch(saved, fd, rotated)
    if reason:
        log.warning("%s: %s: rebuilt from the CSV", path, reason)
        return None
    return ok, failed, saved[2]


def _mismatch(saved: tuple, fd: int, rotated: str) -> str:
    device, inode, offset, changed_ns, digest, saved_rotated = saved
    info = os.fstat(fd)
    if (device, inode) != (info.st_dev, info.st_ino):
        return "written for another file at that name"
    if offset > info.st_size:
        return "the CSV is shorter than what it covers"
    if saved_rotated != rotated:
        return "the rotated copies changed"
    if changed_ns != info.st_ctime_ns and digest != digest_of(fd, offset):
        return "the CSV was changed inside the rows it covers"
    return ""


def save_index(path: Path, coverage: Coverage, ok: np.ndarray, failed: np.ndarray) -> None:
    """Write the index whole, with its checksum; a failure only costs a rebuild later."""
    fields = _fields(coverage.device, coverage.inode, coverage.offset, coverage.changed_ns,
                     coverage.digest, coverage.rotated)
    buffer = io.BytesIO()  # made in memory: a failed write leaves no half-made zip behind
    np.savez(buffer, version=INDEX_VERSION, device=coverage.device, inode=coverage.inode,
             offset=coverage.offset, changed_ns=coverage.changed_ns, digest=coverage.digest,
             rotated=coverage.rotated, ok=ok, failed=failed,
             checksum=_checksum(ok, failed, fields))
    try:
        with replaced(path) as handle:
            handle.write(buffer.getvalue())
    except OSError as exc:  # a full disk, a folder spe may not write to: slower starts only
        log.debug("%s: cannot write (%s): the next start reads the whole CSV", path,
                  exc.strerror or exc)


def forget_index(path: Path) -> None:
    """Remove an index that no longer describes its CSV (never its target, if a link)."""
    try:
        os.unlink(path)
    except OSError:
        pass
