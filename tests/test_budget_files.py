"""--max-memory counts a file's own bytes (issue 34, kind 7): four 230 MB files on four
threads peaked at 989 MiB under a 64 MiB budget, because only the decode was held.
Now a file's bytes and its decode are one hold, taken before the file is read."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import cv2
import numpy as np

from tests.conftest import BIN
from tests.csvcheck import read_rows

MIB = 1 << 20


def padded_jpeg(path: Path, megabytes: int, seed: int) -> None:
    """A small real JPEG followed by ``megabytes`` of bytes after its end (libjpeg stops
    at the end marker): a large file that decodes cheaply."""
    image = np.random.default_rng(seed).integers(0, 255, (64, 64, 3), np.uint8)
    ok, jpeg = cv2.imencode(".jpg", image)
    assert ok
    path.write_bytes(jpeg.tobytes() + os.urandom(megabytes * MIB))


def peak_rss_mib(args: list[str]) -> tuple[float, int]:
    """The peak resident memory of one `spe` run (from the kernel's rusage), and its status."""
    proc = subprocess.Popen([str(BIN / "spe"), *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024, proc.returncode


def test_files_are_held_by_the_budget_from_before_they_are_read(tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    padded_jpeg(small / "a.jpg", 0, 1)
    base, code = peak_rss_mib(["batch-score", str(small), "--out", str(tmp_path / "s.csv"),
                               "--threads", "4", "--max-memory", "64"])
    assert code == 0
    large = tmp_path / "large"
    large.mkdir()
    for i in range(4):
        padded_jpeg(large / f"{i}.jpg", 40, i)  # two at once would be 80 MiB: one at a time
    out = tmp_path / "l.csv"
    peak, code = peak_rss_mib(["batch-score", str(large), "--out", str(out), "--threads", "4",
                               "--max-memory", "64"])
    assert code == 0 and [r["status"] for r in read_rows(out)] == ["ok"] * 4
    assert peak - base < 64 + 16, (peak, base)  # four at once: 160 MiB more


def test_a_file_larger_than_the_budget_is_refused_before_it_is_read(tmp_path):
    for i in range(4):
        padded_jpeg(tmp_path / f"{i}.jpg", 100, i)
    padded_jpeg(tmp_path / "fine.jpg", 0, 9)
    out = tmp_path / "scores.csv"
    peak, code = peak_rss_mib(["batch-score", str(tmp_path), "--out", str(out), "--threads",
                               "4", "--max-memory", "64"])
    rows = {Path(r["path"]).name: r for r in read_rows(out)}
    assert code == 1 and rows["fine.jpg"]["status"] == "ok"
    for i in range(4):
        assert "more than the --max-memory budget" in rows[f"{i}.jpg"]["error"]
        assert "refused before reading" in rows[f"{i}.jpg"]["error"]
    assert peak < 400, peak  # 4 x 100 MiB read at once before: over 500 MiB
