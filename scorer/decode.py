"""The one preprocessing path: photo file -> RGB uint8 array at the model's size.

The trainer imports this module too, so training and scoring see exactly the
same pixels. Steps: read the bytes (hashed for the ledger), check the header
(format, pixel count), decode with OpenCV honouring EXIF orientation, at a
reduced JPEG scale when the photo is large, convert BGR to RGB, and squash to
``size`` x ``size`` with INTER_AREA, as the original notebook resized.
"""

from __future__ import annotations

import errno
import hashlib
import os
from dataclasses import dataclass

import cv2
import numpy as np

from .errors import PhotoError
from .header import Header, read_header

# 100 megapixels: well above any phone camera, far below what would exhaust a
# 512 MB Raspberry Pi (a decoded 100 MP image is 300 MB).
DEFAULT_MAX_PIXELS = 100_000_000

# libjpeg can decode at 1/2, 1/4 or 1/8 scale at a fraction of the cost; OpenCV
# still applies EXIF orientation with these flags.
_REDUCED_FLAGS = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4),
                  (2, cv2.IMREAD_REDUCED_COLOR_2))


@dataclass(frozen=True)
class RawPhoto:
    """A photo's bytes as read from disk, with their sha256."""

    data: bytes
    sha256: str


def read_photo(path: str | os.PathLike[str]) -> RawPhoto:
    """Read a photo's bytes; file-system errors become a one-line PhotoError."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise PhotoError(_os_reason(exc)) from None
    return RawPhoto(data, hashlib.sha256(data).hexdigest())


def decode_rgb(data: bytes, size: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode image bytes to a ``(size, size, 3)`` RGB uint8 array."""
    header = read_header(data)
    pixels = header.width * header.height
    if pixels > max_pixels:
        raise PhotoError(
            f"{header.width}x{header.height} pixels exceeds the limit of {max_pixels:,}"
            " (refused before decoding)"
        )
    image = cv2.imdecode(np.frombuffer(data, np.uint8), reduced_flag(header, size))
    if image is None:
        raise PhotoError(f"cannot decode {header.format.upper()}: corrupt or truncated")
    image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


def load_photo(path: str | os.PathLike[str], size: int,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[str, np.ndarray]:
    """Read and decode one photo: ``(sha256, pixels)``. Used by trainer and scorer."""
    raw = read_photo(path)
    return raw.sha256, decode_rgb(raw.data, size, max_pixels)


def reduced_flag(header: Header, size: int) -> int:
    """The cheapest decode flag that keeps the image at least twice the model's input."""
    if header.format == "jpeg":
        short_side = min(header.width, header.height)
        for factor, flag in _REDUCED_FLAGS:
            if short_side // factor >= 2 * size:
                return flag
    return cv2.IMREAD_COLOR


def _os_reason(exc: OSError) -> str:
    reasons = {
        errno.ENOENT: "file not found (vanished?)",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EISDIR: "is a directory",
        errno.ELOOP: "symlink loop",
        errno.ENAMETOOLONG: "file name too long",
    }
    return reasons.get(exc.errno or 0, exc.strerror or type(exc).__name__)
