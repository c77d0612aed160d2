"""``spe rank``: the photos ranked, in the terminal and as a page in a real browser
(issue 14, item 1)."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import spe
from tests.csvcheck import read_rows

# On PATH, else where Debian, Ubuntu's snap and Chrome put it: a PATH without /usr/bin
# (a minimal CI environment, sudo's secure_path) once skipped the test where it was there.
CHROMIUM = next((found for name in ("chromium", "chromium-browser", "/usr/bin/chromium",
                                    "/usr/lib/chromium/chromium", "/snap/bin/chromium",
                                    "/usr/bin/google-chrome")
                 if (found := shutil.which(name))), None)
# As this machine's probe starts it: headless, no sandbox (root), and no background
# networking (the closed network refuses it, noisily).
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--enable-logging=stderr",
                  "--v=0", "--virtual-time-budget=5000"]


def ranked(stdout: str) -> list[tuple[str, float]]:
    rows = [line.split() for line in stdout.splitlines()[1:] if line.strip()]
    return [(Path(r[3]).name, float(r[1])) for r in rows if r and r[0].isdigit()]


def test_rank_orders_the_photos_as_batch_score_scores_them(photos, tmp_path):
    proc = spe("rank", str(photos))
    assert proc.returncode == 0, proc.stderr
    order = ranked(proc.stdout)
    assert len(order) == 5
    assert [likes for _, likes in order] == sorted((likes for _, likes in order), reverse=True)
    scored = spe("batch-score", str(photos))
    likes = {Path(r["path"]).name: float(r["predicted_likes"])
             for r in csv.DictReader(io.StringIO(scored.stdout))}
    assert dict(order) == pytest.approx(likes, abs=0.051)


def test_rank_adds_rows_only_for_photos_the_csv_lacks(photos, tmp_path):
    out = tmp_path / "s.csv"
    assert spe("batch-score", str(photos / "rocket.jpg"), "--out", str(out)).returncode == 0
    assert spe("rank", str(photos), "--out", str(out)).returncode == 0
    assert spe("rank", str(photos), "--out", str(out)).returncode == 0
    names = sorted(Path(r["path"]).name for r in read_rows(out))
    assert names == sorted(p.name for p in photos.iterdir())


def test_rank_lists_failures_and_exits_1(photos):
    (photos / "broken.jpg").write_bytes(b"not a photo")
    proc = spe("rank", str(photos))
    assert proc.returncode == 1
    assert f"not scored: {photos / 'broken.jpg'}: not a JPEG, PNG or WebP image" in proc.stdout
    assert len(ranked(proc.stdout)) == 5


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium here (Debian: apt install chromium)")
def test_the_html_page_in_a_real_browser(photos, tmp_path):
    (photos / "broken.jpg").write_bytes(b"not a photo")
    page = tmp_path / "report.html"
    proc = spe("rank", str(photos), "--html", str(page))
    assert proc.returncode == 1, proc.stderr
    html = page.read_text()
    assert "http://" not in html and "https://" not in html  # nothing fetched from anywhere
    profile = tmp_path / "chromium-profile"
    dom = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                          page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], console
    assert re.search(r'<body data-shown="5"', dom.stdout), "not every photo was shown"
    # Each photo's three best crops drawn on it, and a heat map that the switch toggles.
    assert len(re.findall(r'class="crop crop-', dom.stdout)) == 15
    assert 'data-heat-on="5"' in dom.stdout and 'data-heat-off="0"' in dom.stdout
    assert "the model's opinion, no more: its cross-validated Spearman is" in dom.stdout
    order = [Path(name).name for name in re.findall(r'<div class="name">([^<]+)</div>',
                                                     dom.stdout)]
    assert order == [name for name, _ in ranked(spe("rank", str(photos)).stdout)]
    assert "broken.jpg: not a JPEG, PNG or WebP image" in dom.stdout
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                    f"--screenshot={shot}", "--window-size=1000,1300", page.as_uri()],
                   capture_output=True, text=True, timeout=120, check=True)
    assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 20_000


# Runs spe in a process whose OpenCV counts its image decodes (the one decode path,
# scorer.photos.decode, calls cv2.imdecode once a photo; HEIC is not among these photos).
COUNTED = """
import sys, cv2
calls = []
real = cv2.imdecode
def counted(buffer, flags):
    calls.append(len(buffer))
    return real(buffer, flags)
cv2.imdecode = counted
from scorer.cli import main
sys.argv = ["spe", *sys.argv[1:]]
try:
    main()
finally:
    print(f"decodes: {len(calls)}", file=sys.stderr)
"""


@pytest.mark.parametrize("extra", [["--html", "page.html"], ["--json"],
                                   ["--html", "page.html", "--no-crops"]])
def test_rank_decodes_each_photo_once(photos, tmp_path, extra):
    """Score, crops and occlusion map, and thumbnail: all from one decode a photo."""
    proc = subprocess.run([sys.executable, "-c", COUNTED, "rank", str(photos), *extra],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == "decodes: 5", proc.stderr[-500:]
    if "--html" in extra:
        page = (tmp_path / "page.html").read_text()
        assert page.count('<img src="data:image/jpeg;base64,') == 5
        assert page.count('class="crop crop-') == (0 if "--no-crops" in extra else 15)


def test_the_page_is_never_written_over_a_photo_or_a_file_it_did_not_write(photos, tmp_path):
    """``spe rank --html *.jpg``: the shell gives the first photo as the page's path."""
    jpgs = sorted(photos.glob("*.jpg"))
    before = jpgs[0].read_bytes()
    proc = spe("rank", "--html", *map(str, jpgs))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (f"spe: {jpgs[0]}: exists and is not a page spe rank wrote (a "
                                   "photo given as --html?): refused, left as it is; give "
                                   "another --html path")
    assert jpgs[0].read_bytes() == before
    notes = tmp_path / "notes.html"
    notes.write_text("<p>my own notes</p>")
    assert spe("rank", str(photos), "--html", str(notes)).returncode == 2
    assert notes.read_text() == "<p>my own notes</p>"
    assert spe("rank", str(photos), "--html", str(tmp_path)).returncode == 2  # a folder
    link = tmp_path / "link.html"
    link.symlink_to(jpgs[0])
    assert spe("rank", str(photos), "--html", str(link)).returncode == 2
    assert jpgs[0].read_bytes() == before
    page = tmp_path / "page.html"  # a page of its own is written again
    for _ in range(2):
        assert spe("rank", str(photos), "--html", str(page), "--no-crops").returncode == 0
    assert "<title>Your photos, ranked</title>" in page.read_text()


def test_thin_photos_are_ranked_with_a_preview_like_any_other(photos, tmp_path):
    """1x20000 and 3x5000 pixels: OpenCV cannot shrink such a side below one pixel, and
    once crashed the whole page; now they are scored as batch-score scores them."""
    from PIL import Image

    Image.new("RGB", (1, 20000), (128, 128, 128)).save(photos / "thin-tall.png")
    Image.new("RGB", (5000, 3), (200, 180, 160)).save(photos / "thin-wide.png")
    page = tmp_path / "page.html"
    proc = spe("rank", str(photos), "--html", str(page))
    assert proc.returncode == 0, proc.stderr
    assert len(ranked(proc.stdout)) == 7 and "not scored" not in proc.stdout
    html = page.read_text()
    assert html.count('<img src="data:image/jpeg;base64,') == 7
    assert "height: 0px" not in html and "width: 0px" not in html
