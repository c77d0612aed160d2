"""The shared preprocessing: real files in every awkward form a phone or PC makes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from scorer.core.errors import PhotoError
from scorer.photos.decode import decode_rgb, load_photo, read_photo, reduced_flag
from scorer.photos.header import read_header
from tests.conftest import SAMPLES
from tests.helpers import png_header


def test_exif_orientation_is_applied(tmp_path):
    # A wide picture, white on the left, stored with "rotate 90 CW" in EXIF.
    wide = np.zeros((100, 200, 3), np.uint8)
    wide[:, :100] = 255
    image = Image.fromarray(wide)
    exif = image.getexif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif.tobytes(), quality=95)
    pixels = load_photo(path, 64)[1]
    # Rotated to portrait: white is now on top, black at the bottom.
    assert pixels[:16].mean() > 200 and pixels[-16:].mean() < 50


def test_channels_are_rgb(tmp_path):
    red = np.zeros((80, 80, 3), np.uint8)
    red[..., 0] = 255
    path = tmp_path / "red.png"
    Image.fromarray(red).save(path)
    pixels = load_photo(path, 64)[1]
    assert pixels.shape == (64, 64, 3) and pixels.dtype == np.uint8
    assert pixels[..., 0].min() == 255 and pixels[..., 1:].max() == 0


@pytest.mark.parametrize("mode", ["L", "CMYK", "RGBA", "I;16"])
def test_unusual_colour_modes_decode(tmp_path, mode):
    source = Image.open(SAMPLES / "grace_hopper.jpg").convert("RGB")
    if mode == "I;16":
        grey = np.asarray(source.convert("L"), np.uint16) * 257
        path = tmp_path / "deep.png"
        assert cv2.imwrite(str(path), grey)
    else:
        path = tmp_path / ("photo.png" if mode == "RGBA" else "photo.jpg")
        source.convert(mode).save(path)
    pixels = load_photo(path, 64)[1]
    assert pixels.shape == (64, 64, 3)
    assert 20 < pixels.mean() < 235  # a real picture, not black or white


def test_webp_decodes(tmp_path):
    path = tmp_path / "photo.webp"
    Image.open(SAMPLES / "rocket.jpg").save(path, quality=90)
    header = read_header(path.read_bytes())
    assert (header.format, header.width, header.height) == ("webp", 640, 427)
    assert load_photo(path, 64)[1].shape == (64, 64, 3)


def test_large_jpeg_uses_reduced_decode_and_stays_close(tmp_path):
    big = cv2.resize(cv2.imread(str(SAMPLES / "hubble_deep_field.jpg")), (1080, 1080))
    path = tmp_path / "big.jpg"
    cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 90])
    data = path.read_bytes()
    header = read_header(data)
    assert reduced_flag(header, 64) == cv2.IMREAD_REDUCED_COLOR_8  # 1080/8 = 135 >= 128
    assert reduced_flag(header, 128) == cv2.IMREAD_REDUCED_COLOR_4
    assert reduced_flag(read_header((SAMPLES / "coffee.png").read_bytes()), 64) == cv2.IMREAD_COLOR
    reduced = decode_rgb(data, 64)
    full = cv2.resize(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), (64, 64),
                      interpolation=cv2.INTER_AREA)
    assert np.abs(reduced.astype(int) - full.astype(int)).mean() < 4


def test_decompression_bomb_refused_from_header(tmp_path):
    data = png_header(50000, 50000) + b"\x00" * 100
    with pytest.raises(PhotoError, match="50000x50000 pixels exceeds the limit"):
        decode_rgb(data, 64)


@pytest.mark.parametrize("data, reason", [
    (b"", "empty file"),
    (b"hello, I am text", "not a JPEG, PNG or WebP"),
    (b"<html><body>hi</body></html>", "not a JPEG, PNG or WebP"),
    (b"\xff\xd8\xff\xe0\x00", "truncated JPEG header"),
])
def test_bad_bytes_have_one_line_reasons(data, reason):
    with pytest.raises(PhotoError, match=reason) as info:
        decode_rgb(data, 64)
    assert "\n" not in str(info.value)


def test_truncated_jpeg_is_an_error():
    data = (SAMPLES / "grace_hopper.jpg").read_bytes()
    with pytest.raises(PhotoError, match="corrupt or truncated"):
        decode_rgb(data[: len(data) // 2], 64)


def test_file_system_errors_are_one_line(tmp_path):
    with pytest.raises(PhotoError, match="file not found"):
        read_photo(tmp_path / "nope.jpg")
    with pytest.raises(PhotoError, match="is a directory"):
        (tmp_path / "d.jpg").mkdir()
        read_photo(tmp_path / "d.jpg")
    loop = tmp_path / "loop.jpg"
    loop.symlink_to(loop)
    with pytest.raises(PhotoError, match="symlink loop"):
        read_photo(loop)


def test_trainer_and_scorer_see_identical_pixels(synth_dir):
    """The trainer's loader and the scorer's engine path give the same array."""
    from trainer.data.layouts import load_dataset, load_pixels

    dataset = load_dataset(synth_dir)
    dataset.samples = dataset.samples[:20]
    trained = load_pixels(dataset, 64)
    scored = np.stack([decode_rgb(read_photo(s.path).data, 64) for s in dataset.samples])
    assert trained.dtype == scored.dtype == np.uint8
    np.testing.assert_array_equal(trained, scored)
