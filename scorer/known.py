"""What the ledger knows, compactly: 8-byte keys, and an index file that keeps them.

Why: the ledger used to read the whole CSV at every start and keep each row's
sha256, model and path as Python strings. At a million rows (years of photos,
or an archive) that took 3.6 s and 1.2 GB here; a Pi Zero 2 has 512 MB. Now
each fact is one 8-byte key (a BLAKE2b digest of the cells it is about; two
different facts collide with a chance of about 1 in 10^13 at a million rows),
kept in a sorted numpy array, with a small Python set for the keys learned
since. The array is saved beside the CSV (``.NAME.index``) with what it covers
(the CSV's first bytes up to an offset, a fingerprint of the last 4 KiB before
it, and the rotated copies it read), so a start loads 8 MB and reads only the
rows appended since. The CSV stays the truth: an index that does not match it
(missing, older, the CSV replaced, edited or rotated) is rebuilt from it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FINGERPRINT_BYTES = 4096
INDEX_VERSION = 1


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
    fingerprint: str  # sha256 of the FINGERPRINT_BYTES before offset
    rotated: str  # the rotated copies read: names, sizes and mtimes

    @classmethod
    def of(cls, fd: int, offset: int, rotated: str) -> Coverage:
        info = os.fstat(fd)
        return cls(info.st_dev, info.st_ino, offset, fingerprint(fd, offset), rotated)


def fingerprint(fd: int, offset: int) -> str:
    start = max(0, offset - FINGERPRINT_BYTES)
    return hashlib.sha256(os.pread(fd, offset - start, start)).hexdigest()


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


def load_index(path: Path, fd: int, rotated: str) -> tuple[np.ndarray, np.ndarray, int] | None:
    """(ok keys, failed keys, offset covered) if the index at ``path`` matches the open
    CSV ``fd`` (same file, its covered bytes unchanged, same rotated copies), else None."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["version"]) != INDEX_VERSION:
                return None
            info = os.fstat(fd)
            offset = int(data["offset"])
            if (int(data["device"]), int(data["inode"])) != (info.st_dev, info.st_ino):
                return None
            if offset > info.st_size or str(data["rotated"]) != rotated:
                return None
            if str(data["fingerprint"]) != fingerprint(fd, offset):
                return None
            return np.asarray(data["ok"]), np.asarray(data["failed"]), offset
    except (OSError, KeyError, ValueError, EOFError):
        return None


def save_index(path: Path, coverage: Coverage, ok: np.ndarray, failed: np.ndarray) -> None:
    """Write the index whole (a temporary name, then a rename); a failure only costs a
    rebuild at the next start."""
    tmp = path.with_name(f"{path.name}.tmp.npz")
    try:
        np.savez(tmp, version=INDEX_VERSION, device=coverage.device, inode=coverage.inode,
                 offset=coverage.offset, fingerprint=coverage.fingerprint,
                 rotated=coverage.rotated, ok=ok, failed=failed)
        os.replace(tmp, path)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass
