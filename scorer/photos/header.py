"""Read a photo's format and pixel size from its first bytes, without decoding it.

Two uses: refuse decompression bombs before OpenCV allocates anything, and pick
the reduced-scale JPEG decode that still leaves enough pixels for the model.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from scorer.core.errors import PhotoError

# JPEG start-of-frame markers that carry the frame size (not DHT, JPG, DAC).
_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


# Progressive (and lossless/hierarchical) JPEGs: the decoder keeps every DCT
# coefficient of the whole frame, whatever the output scale.
_PROGRESSIVE_MARKERS = {0xC2, 0xC6, 0xCA, 0xCE}
# ISO-BMFF brands of HEIC/HEIF stills and sequences (iPhone photos are "heic").
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
HEIC_HINT = "HEIC photo: install the heic extra to read it ({command})"


def heic_hint() -> str:
    """The one-line reason for a HEIC photo without the extra, with the install command
    that works where spe was installed from."""
    from scorer.core.extras import install_command

    return HEIC_HINT.format(command=install_command("heic"))


@dataclass(frozen=True)
class Header:
    format: str  # "jpeg", "png", "webp" or "heif"
    width: int
    height: int
    progressive: bool = False  # JPEG only
    # Samples per pixel the decoder keeps for a progressive JPEG's coefficients
    # (Y plus subsampled chroma: 1.5 for 4:2:0, 3 for 4:4:4).
    coefficient_planes: float = 3.0
    bit_depth: int = 8  # PNG: 16-bit photos take twice the memory while decoding


def sniff_format(data: bytes) -> str:
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return "heif"
    if not data:
        raise PhotoError("empty file")
    raise PhotoError("not a JPEG, PNG or WebP image")  # nor HEIC: the text scripts know


def read_header(data: bytes) -> Header:
    fmt = sniff_format(data)
    try:
        header = {"jpeg": _jpeg_header, "png": _png_header, "webp": _webp_header,
                  "heif": _heif_header}[fmt](data)
    except (struct.error, IndexError):
        raise PhotoError(f"truncated {fmt.upper()} header") from None
    if header.width <= 0 or header.height <= 0:
        raise PhotoError(f"{fmt.upper()} header gives an empty size "
                         f"{header.width}x{header.height}")
    return header


def cut_short(data: bytes, fmt: str) -> bool:
    """The file ends before its format's end (an upload still arriving, or stopped half
    way): a JPEG without an end-of-image marker after its last scan, a PNG without its
    IEND chunk, a WebP shorter than its RIFF size. (A JPEG's scan data holds no 0xFFD9:
    its 0xFF bytes are followed by 0 or a restart marker.)"""
    if fmt == "jpeg":
        return data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda")
    if fmt == "png":
        return b"IEND\xaeB`\x82" not in data[-64:]
    if fmt == "webp":
        return len(data) < 8 or int.from_bytes(data[4:8], "little") + 8 > len(data)
    return False


def _jpeg_header(data: bytes) -> Header:
    pos = 2
    while True:
        # Markers may be padded with any number of 0xFF bytes.
        while data[pos] == 0xFF and data[pos + 1] == 0xFF:
            pos += 1
        if data[pos] != 0xFF:
            raise PhotoError("corrupt JPEG: bad marker")
        marker = data[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):
            raise PhotoError("corrupt JPEG: no frame header")
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _SOF_MARKERS:
            height, width, count = struct.unpack(">HHB", data[pos + 5 : pos + 10])
            factors = [(data[pos + 11 + 3 * i] >> 4, data[pos + 11 + 3 * i] & 0x0F)
                       for i in range(count)]
            h_max = max((h for h, _ in factors), default=1) or 1
            v_max = max((v for _, v in factors), default=1) or 1
            planes = sum(h * v for h, v in factors) / (h_max * v_max) if factors else 3.0
            return Header("jpeg", width, height, marker in _PROGRESSIVE_MARKERS, planes)
        if length < 2:
            raise PhotoError("corrupt JPEG: bad segment length")
        pos += 2 + length


def _png_header(data: bytes) -> Header:
    if data[12:16] != b"IHDR":
        raise PhotoError("corrupt PNG: no IHDR chunk")
    width, height, depth = struct.unpack(">IIB", data[16:25])
    return Header("png", width, height, bit_depth=depth)


def heif_module() -> Any:  # pillow_heif, an optional extra
    """pillow_heif if the heic extra is installed; else the error row's reason."""
    try:
        import pillow_heif
    except ImportError:
        raise PhotoError(heic_hint()) from None
    return pillow_heif


def _heif_header(data: bytes) -> Header:
    try:  # libheif reads the size from the container, without decoding the image
        width, height = heif_module().open_heif(data, convert_hdr_to_8bit=True).size
    except (ValueError, RuntimeError, OSError) as exc:
        raise PhotoError(f"corrupt HEIC: {str(exc).splitlines()[0][:80]}") from None
    return Header("heif", width, height)


def _webp_header(data: bytes) -> Header:
    return Header("webp", *_webp_size(data))


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise PhotoError("corrupt WebP: bad VP8 frame tag")
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    raise PhotoError("corrupt WebP: unknown chunk")
