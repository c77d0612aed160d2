"""The one preprocessing path: photo file -> RGB uint8 array at the model's size.

The trainer imports this module too, so training and scoring see exactly the
same pixels. Steps: read the bytes (hashed for the ledger), check the header
(format, pixel count), decode with OpenCV honouring EXIF orientation, at a
reduced JPEG scale when the photo is large, convert BGR to RGB, and squash to
``size`` x ``size`` with INTER_AREA, as the original notebook resized.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

import cv2
import numpy as np

from scorer.core.errors import PhotoError, PhotoGone, os_reason
from scorer.core.settings import DEFAULT_MAX_PIXELS, MIB
from scorer.photos.budget import MemoryBudget, decode_cost
from scorer.photos.header import Header, heif_module, read_header

# No phone photo comes near this; a larger "photo" would only fill the memory.
MAX_FILE_BYTES = 256 * 1024 * 1024
# The first bytes read to judge a decode's cost: a JPEG's size comes after its EXIF
# (and the thumbnail in it), which phones keep well under this.
HEADER_BYTES = 256 * 1024

# libjpeg can decode at 1/2, 1/4 or 1/8 scale at a fraction of the cost; OpenCV
# still applies EXIF orientation with these flags.
_REDUCED_FLAGS = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4),
                  (2, cv2.IMREAD_REDUCED_COLOR_2))


Identity = tuple[int, int, int, int]  # device, inode, size, mtime in ns


@dataclass(frozen=True)
class RawPhoto:
    """A photo's bytes as read from disk, with their sha256 and the file they came from."""

    data: bytes
    sha256: str
    # The file that was read (from fstat of the open file), so the watcher can
    # tell whether the file at the path is still the one that was scored.
    identity: Identity | None = None


def read_photo(path: str | os.PathLike[str], follow_symlinks: bool = True,
               max_bytes: int = MAX_FILE_BYTES) -> RawPhoto:
    """Read a photo's bytes; file-system errors become a one-line PhotoError.

    Only regular files are read: a FIFO named ``x.jpg`` would block a reader
    forever (hence O_NONBLOCK on open), and a device has no end. With
    ``follow_symlinks=False`` (the watcher) a symlink is refused, so a link in a
    shared inbox cannot make the daemon read, and hash, files outside it.
    """
    fd, info = _open_photo(path, follow_symlinks, max_bytes)
    try:
        return _read_all(fd, info, max_bytes)
    finally:
        os.close(fd)


@contextlib.contextmanager
def read_within(path: str | os.PathLike[str], follow_symlinks: bool, size: int,
                budget: MemoryBudget | None, whole_budget: bool = False,
                max_pixels: int = DEFAULT_MAX_PIXELS) -> Iterator[RawPhoto]:
    """Read a photo with its memory held from ``budget`` from before its bytes are read
    until the ``with`` block (its decode) ends: the file's bytes and its decode's cost,
    judged from its size and first bytes, in one hold (two, one inside the other, could
    wait on each other for ever). When the first bytes do not tell the cost, or with
    ``whole_budget`` (a photo the daemon died decoding), the whole budget. A photo whose
    file alone is more than the budget is refused before a byte of it is read."""
    with contextlib.ExitStack() as held:
        fd, info = _open_photo(path, follow_symlinks, MAX_FILE_BYTES)
        try:
            if budget is not None:
                held.enter_context(budget.hold(_held_cost(
                    fd, info.st_size, size, budget.limit, whole_budget, max_pixels)))
            raw = _read_all(fd, info, MAX_FILE_BYTES)
        finally:
            os.close(fd)  # the bytes are read: the hold stays until the decode ends
        yield raw


def _held_cost(fd: int, file_bytes: int, size: int, limit: int, whole: bool,
               max_pixels: int) -> int:
    if file_bytes > limit:
        raise PhotoError(f"the file's {file_bytes / MIB:,.0f} MiB alone are more than the "
                         f"--max-memory budget of {limit / MIB:,.0f} MiB (refused before "
                         "reading)")
    if whole:
        return limit
    try:
        header = read_header(os.pread(fd, HEADER_BYTES, 0))
    except (PhotoError, OSError):
        return limit  # the first bytes do not tell: this photo decodes alone
    if header.width * header.height > max_pixels:
        return file_bytes  # refused by its size in pixels, never decoded
    return file_bytes + decode_cost(header, reduced_scale(header, size)[0])


def _open_photo(path: str | os.PathLike[str], follow_symlinks: bool,
                max_bytes: int) -> tuple[int, os.stat_result]:
    """An open regular file of at most ``max_bytes``, and its fstat."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow_symlinks else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks:
            raise PhotoError("symlink, not followed") from None
        if exc.errno == errno.ENOENT:
            raise PhotoGone(os_reason(exc)) from None
        raise PhotoError(os_reason(exc)) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise PhotoError("is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise PhotoError("not a regular file")
        if info.st_size > max_bytes:
            raise PhotoError(f"file of {info.st_size:,} bytes exceeds the limit of {max_bytes:,}")
    except OSError as exc:
        os.close(fd)
        raise PhotoError(os_reason(exc)) from None
    except PhotoError:
        os.close(fd)
        raise
    return fd, info


def _read_all(fd: int, info: os.stat_result, max_bytes: int) -> RawPhoto:
    try:
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise PhotoError(os_reason(exc)) from None
    if len(data) > max_bytes:  # grew while being read
        raise PhotoError(f"file exceeds the limit of {max_bytes:,} bytes")
    return RawPhoto(data, hashlib.sha256(data).hexdigest(), identity_of(info))


def identity_of(info: os.stat_result) -> Identity:
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns


def current_identity(path: str | os.PathLike[str]) -> Identity | None:
    """The identity of the file now at ``path`` (not following symlinks), None if none."""
    try:
        return identity_of(os.lstat(path))
    except OSError:
        return None


def decode_rgb(data: bytes, size: int, max_pixels: int = DEFAULT_MAX_PIXELS,
               budget: MemoryBudget | None = None,
               during: AbstractContextManager | None = None) -> np.ndarray:
    """Decode image bytes to a ``(size, size, 3)`` RGB uint8 array.

    With a ``budget``, the decode first takes its estimated memory from it
    (waiting while other decodes hold too much); one that could never fit is
    refused before anything is allocated. ``during`` is entered once the
    memory is held and left when the decode ends (the daemon's journal).
    """
    # Resized while the decode's memory is still held: the full image lives until then.
    with decoding(data, size, max_pixels, budget, during) as decoded:
        return model_view(decoded.image, size)


def model_view(image: np.ndarray, size: int) -> np.ndarray:
    """What the model sees of a decoded image (or of a crop of it): the whole of it,
    resized to its square input. The one resize of every path (scoring, crops)."""
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class Decoded:
    """A photo decoded for a model of input ``size``: RGB at 1/``scale`` of the original
    (JPEG's reduced decode), and the original's width and height."""

    image: np.ndarray
    scale: float
    width: int
    height: int


@contextlib.contextmanager
def decoding(data: bytes, size: int, max_pixels: int = DEFAULT_MAX_PIXELS,
             budget: MemoryBudget | None = None,
             during: AbstractContextManager | None = None) -> Iterator[Decoded]:
    """The decode itself, before the resize to the model's input (see decode_rgb), its
    memory held from the budget until the ``with`` block that uses the image ends."""
    header = read_header(data)
    pixels = header.width * header.height
    if pixels > max_pixels:
        raise PhotoError(
            f"{header.width}x{header.height} pixels exceeds the limit of {max_pixels:,}"
            " (refused before decoding)"
        )
    scale, flag = reduced_scale(header, size)
    with (budget.hold(decode_cost(header, scale)) if budget else contextlib.nullcontext(),
          during or contextlib.nullcontext()):
        if header.format == "heif":
            image = _decode_heif(data)
        else:
            image = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
            if image is None:
                raise PhotoError(f"cannot decode {header.format.upper()}: corrupt or truncated")
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        # Orientation applied (EXIF, HEIC's own): the original's sides are the decoded
        # image's, times the reduced decode's scale (long side against long side).
        factor = max(header.width, header.height) / max(image.shape[:2])
        yield Decoded(image, factor, round(image.shape[1] * factor),
                      round(image.shape[0] * factor))


def _decode_heif(data: bytes) -> np.ndarray:
    """An iPhone's HEIC as RGB uint8 (libheif applies the container's rotation and
    mirroring, which is where HEIC keeps a photo's orientation)."""
    try:
        heif = heif_module().open_heif(data, convert_hdr_to_8bit=True)
        image = np.asarray(heif)
    except (ValueError, RuntimeError, OSError) as exc:
        raise PhotoError(f"cannot decode HEIC: {str(exc).splitlines()[0][:80]}") from None
    return np.ascontiguousarray(image[:, :, :3])


def load_photo(path: str | os.PathLike[str], size: int,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[str, np.ndarray]:
    """Read and decode one photo: ``(sha256, pixels)``. Used by trainer and scorer."""
    raw = read_photo(path)
    return raw.sha256, decode_rgb(raw.data, size, max_pixels)


def reduced_flag(header: Header, size: int) -> int:
    """The cheapest decode flag that keeps the image at least twice the model's input."""
    return reduced_scale(header, size)[1]


def reduced_scale(header: Header, size: int) -> tuple[int, int]:
    """(scale, OpenCV flag): JPEGs decode at 1/2, 1/4 or 1/8 while the short side stays at
    least twice the model's input; other formats only at full size."""
    if header.format == "jpeg":
        short_side = min(header.width, header.height)
        for factor, flag in _REDUCED_FLAGS:
            if short_side // factor >= 2 * size:
                return factor, flag
    return 1, cv2.IMREAD_COLOR

