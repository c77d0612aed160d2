"""iPhone photos: HEIC through the one preprocessing path, or an error row that says how
(issue 14, item 2). The photos are made here with pillow-heif's own encoder."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scorer.photos.decode import load_photo
from tests.conftest import REPO, SAMPLES, spe
from tests.csvcheck import read_rows

pillow_heif = pytest.importorskip("pillow_heif")
HINT = "HEIC photo: install the heic extra to read it"


def heic_of(jpeg: Path, target: Path) -> Path:
    buffer = io.BytesIO()
    pillow_heif.from_pillow(Image.open(jpeg)).save(buffer, quality=90)
    target.write_bytes(buffer.getvalue())
    return target


def test_a_heic_photo_gives_the_pixels_of_the_photo_it_encodes(tmp_path):
    for name in ("grace_hopper.jpg", "rocket.jpg"):
        heic = heic_of(SAMPLES / name, tmp_path / (Path(name).stem + ".heic"))
        _, from_heic = load_photo(heic, 64)  # the trainer's and the scorer's one path
        _, from_jpeg = load_photo(SAMPLES / name, 64)
        # HEVC re-encodes the picture: close, not equal (about 1 level in 255).
        assert np.abs(from_heic.astype(int) - from_jpeg.astype(int)).mean() < 2.5, name


def test_batch_score_and_rank_take_heic(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    heic_of(SAMPLES / "grace_hopper.jpg", folder / "IMG_0001.HEIC")
    out = tmp_path / "s.csv"
    proc = spe("batch-score", str(folder), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert [r["status"] for r in read_rows(out)] == ["ok"]
    assert "IMG_0001.HEIC" in spe("rank", str(folder)).stdout


WITHOUT_EXTRA = """
import sys
sys.modules["pillow_heif"] = None  # as on an install without the heic extra
from scorer.cli import main
sys.argv = ["spe", *sys.argv[1:]]
main()
"""


def test_without_the_extra_a_heic_gets_an_error_row_that_says_how(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    heic_of(SAMPLES / "rocket.jpg", folder / "IMG_0002.heic")
    (folder / "rocket.jpg").write_bytes((SAMPLES / "rocket.jpg").read_bytes())
    out = tmp_path / "s.csv"
    proc = subprocess.run([sys.executable, "-c", WITHOUT_EXTRA, "batch-score", str(folder),
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    rows = {Path(r["path"]).name: r for r in read_rows(out)}
    assert rows["rocket.jpg"]["status"] == "ok"
    assert rows["IMG_0002.heic"]["error"].startswith(HINT)
    # The command that works where spe was installed from (this clone), not a name that no
    # package registry has.
    assert f"pip install '{REPO}[heic]'" in rows["IMG_0002.heic"]["error"]


def test_the_daemon_says_what_it_passes_over(tmp_path):
    """A GIF or a camera raw dropped in the inbox is not scored, and the log says so."""
    from tests.daemon import Daemon

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    daemon = Daemon(inbox, tmp_path / "s.csv")
    try:
        Image.open(SAMPLES / "rocket.jpg").save(inbox / "anim.gif")
        (inbox / "IMG_1.DNG").write_bytes(b"raw")
        daemon.wait_for_log(f"not scored: {inbox / 'anim.gif'}: spe reads JPEG, PNG, WebP "
                            "and HEIC photos")
        daemon.wait_for_log(f"not scored: {inbox / 'IMG_1.DNG'}")
    finally:
        assert daemon.stop() == 0
