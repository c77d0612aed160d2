"""``spe cluster-score`` on a real local Ray cluster (``ray start --head``), started here.

An archive of 500 distinct photos in nested folders, plus broken files: the
cluster's rows must equal batch-score's (same paths, sha256, predicted likes,
percentiles and error reasons); a Ray worker killed with SIGKILL mid-run costs
a retry, not a row; the driver killed mid-run leaves only whole partitions, and
the same command run again adds exactly the missing rows.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import BIN, REPO, SAMPLES, spe
from tests.helpers import bomb_png, wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.xdist_group("ray")]  # `ray stop` ends all

PHOTO_COLUMNS = ("path", "sha256", "predicted_likes", "percentile", "model", "status", "error")


@pytest.fixture(scope="module")
def archive(burst, tmp_path_factory) -> Path:
    """500 distinct photos in account/year folders and at the top, and 4 broken files."""
    root = tmp_path_factory.mktemp("cluster") / "archive"
    for i, photo in enumerate(burst):
        folder = root if i < 20 else root / f"account-{i % 4}" / f"{2020 + i % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        os.link(photo, folder / f"{i:03d}-{photo.name}")
    broken = root / "account-1" / "2021"
    (broken / "empty.jpg").write_bytes(b"")
    (broken / "notes.jpg").write_text("not a photo\n")
    (broken / "cut.jpg").write_bytes((SAMPLES / "rocket.jpg").read_bytes()[:700])
    (root / "account-2" / "bomb.png").write_bytes(bomb_png())
    return root


@pytest.fixture(scope="module")
def reference(archive) -> list[tuple[str, ...]]:
    """batch-score's rows for the archive (the path as typed: relative)."""
    out = archive.parent / "batch.csv"
    proc = spe("batch-score", archive.name, "-r", "--out", str(out), cwd=archive.parent,
               timeout=300)
    assert proc.returncode == 1, proc.stderr  # the broken files
    rows = photo_rows(out)
    assert len(rows) == 504 and sum(r[5] == "error" for r in rows) == 4
    return rows


def photo_rows(csv_path: Path) -> list[tuple[str, ...]]:
    with open(csv_path, newline="", encoding="utf-8") as handle:
        return sorted(tuple(r[c] for c in PHOTO_COLUMNS) for r in csv.DictReader(handle))


def merged_rows(parts: Path, tmp: Path) -> list[tuple[str, ...]]:
    out = tmp / f"merged-{parts.name}.csv"
    proc = spe("cluster-merge", str(parts), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return photo_rows(out)


def cluster_command(archive: Path, parts: Path, address: str, *extra: str) -> list[str]:
    return [str(BIN / "spe"), "cluster-score", archive.name, "-r", "--out", str(parts),
            "--address", address, *extra]


def part_files(parts: Path) -> list[Path]:
    return sorted(p for p in parts.glob("part-*") if not p.name.startswith("."))


def assert_whole(part: Path) -> int:
    """A partition is a header and whole rows, ending with its last row's newline."""
    data = part.read_bytes()
    assert data.endswith(b"\r\n"), part
    rows = list(csv.reader(data.decode("utf-8").splitlines()))
    assert rows[0][:2] == ["scored_at", "path"]
    assert all(len(r) == 8 and r[6] in ("ok", "error") for r in rows[1:]), part
    return len(rows) - 1


@pytest.mark.slow  # 20-50 s each on a real Ray cluster: the full suite's
def test_rows_equal_batch_score_in_csv_and_parquet(archive, reference, ray_address, tmp_path):
    for fmt in ("csv", "parquet"):
        parts = tmp_path / fmt
        proc = subprocess.run(cluster_command(archive, parts, ray_address, "--partition-size",
                                              "50", "--format", fmt),
                              capture_output=True, text=True, cwd=archive.parent, timeout=300)
        assert proc.returncode == 1, proc.stderr  # 1: the broken files have error rows
        assert "scored 500, skipped 0 (scored before, or the same bytes as a photo scored), " \
               "failed 4" in proc.stderr, proc.stderr
        assert len(part_files(parts)) == 11  # 504 photos in partitions of 50
        assert all(p.suffix == f".{fmt}" for p in part_files(parts))
        assert merged_rows(parts, tmp_path) == reference
    # The same run again: every partition is there, nothing is read or written.
    proc = subprocess.run(cluster_command(archive, tmp_path / "csv", ray_address,
                                          "--partition-size", "50"),
                          capture_output=True, text=True, cwd=archive.parent, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "11 already in" in proc.stderr and "wrote 0 partition(s)" in proc.stderr


def actor_pids() -> list[int]:
    """Processes of Ray workers running our actor (Ray titles them by their class)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if b"ChunkScorer" in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@pytest.mark.slow  # 20-50 s each on a real Ray cluster: the full suite's
def test_a_worker_killed_mid_run_costs_a_retry_not_a_row(archive, reference, ray_address,
                                                         tmp_path):
    parts = tmp_path / "parts"
    run = subprocess.Popen(cluster_command(archive, parts, ray_address, "--partition-size", "5",
                                           "--workers", "2"),
                           stderr=subprocess.PIPE, text=True, cwd=archive.parent)
    wait_until(lambda: parts.exists() and len(part_files(parts)) >= 2 and actor_pids(),
               120, "the first partitions")
    victim = actor_pids()[0]
    os.kill(victim, signal.SIGKILL)
    at_kill = len(part_files(parts))
    _, stderr = run.communicate(timeout=300)
    assert at_kill < 101, "the run ended before the kill"
    assert run.returncode == 1, stderr  # the broken files' rows, nothing unfinished
    assert "not written" not in stderr
    assert not Path(f"/proc/{victim}").exists()
    counts = Counter(row[0] for row in merged_rows(parts, tmp_path))
    assert max(counts.values()) == 1  # no row twice
    assert merged_rows(parts, tmp_path) == reference  # and none lost
    assert len(part_files(parts)) == 101


@pytest.mark.slow  # 20-50 s each on a real Ray cluster: the full suite's
def test_the_driver_killed_then_run_again_adds_exactly_the_missing_rows(
        archive, reference, ray_address, tmp_path):
    parts = tmp_path / "parts"
    command = cluster_command(archive, parts, ray_address, "--partition-size", "5")
    driver = subprocess.Popen(command, stderr=subprocess.DEVNULL, cwd=archive.parent)
    wait_until(lambda: parts.exists() and len(part_files(parts)) >= 5, 120, "5 partitions")
    driver.send_signal(signal.SIGKILL)
    driver.wait(timeout=30)
    written = part_files(parts)
    assert len(written) < 101, "the run ended before the kill"
    rows_before = sum(assert_whole(part) for part in written)

    proc = subprocess.run(command, capture_output=True, text=True, cwd=archive.parent,
                          timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert f"{len(written)} already in" in proc.stderr
    assert f"wrote {101 - len(written)} partition(s)" in proc.stderr
    assert not [p for p in parts.iterdir() if p.name.startswith(".")]  # no temporary left
    added = sum(assert_whole(part) for part in part_files(parts) if part not in written)
    assert added == len(reference) - rows_before  # exactly the missing rows
    assert merged_rows(parts, tmp_path) == reference  # every row once: none lost or doubled


def test_batch_score_never_imports_ray(photos, tmp_path):
    code = ("import sys\nfrom scorer.cli import main\nsys.argv = ['spe', 'batch-score', "
            f"{str(photos)!r}, '--out', {str(tmp_path / 's.csv')!r}]\n"
            "try:\n    main()\nexcept SystemExit as exit:\n    status = exit.code\n"
            "print(status, 'ray' in sys.modules, any(m.startswith('ray.') for m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=REPO)
    assert proc.stdout.split() == ["0", "False", "False"], proc.stderr


def test_without_ray_the_command_says_how_to_install_it(photos, tmp_path):
    fake = tmp_path / "fake"
    (fake / "ray").mkdir(parents=True)
    (fake / "ray" / "__init__.py").write_text("raise ImportError('no Ray here', name='ray')\n")
    proc = spe("cluster-score", str(photos), "--out", str(tmp_path / "parts"),
               env={"PYTHONPATH": str(fake)})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "spe: cluster-score needs Ray Data, which is not installed (ray): "
        f"pip install '{REPO}[cluster]'"]  # one line, no traceback, a line that installs


def slow_photos(folder: Path, n: int) -> None:
    """Large smooth PNGs (24 megapixels, each different): small files that take a
    worker a fraction of a second each to decode, so a partition of them lasts seconds."""
    import cv2
    import numpy as np

    folder.mkdir()
    ramp = np.linspace(0, 200, 6000).astype(np.uint8)[None, :].repeat(4000, 0)
    base = np.stack([ramp, ramp[:, ::-1], ramp], -1)
    for i in range(n):
        cv2.imwrite(str(folder / f"scan-{i:02d}.png"), base + np.uint8(i),
                    [cv2.IMWRITE_PNG_COMPRESSION, 1])


@pytest.mark.slow  # 20-50 s each on a real Ray cluster: the full suite's
def test_a_partition_whose_worker_keeps_dying_is_left_for_the_next_run(ray_address, tmp_path):
    """A worker killed at every try of the same partition (as a photo that crashes the
    decoder would): after 4 tries the run reports it, writes nothing half, and exits 1;
    the next run scores it."""
    folder = tmp_path / "scans"
    slow_photos(folder, 20)
    parts = tmp_path / "parts"
    command = [str(BIN / "spe"), "cluster-score", str(folder), "--out", str(parts),
               "--address", ray_address, "--workers", "1", "--partition-size", "20"]
    run = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                           text=True)
    first_seen: dict[int, float] = {}
    killed: set[int] = set()
    deadline = time.monotonic() + 240
    while run.poll() is None and time.monotonic() < deadline:
        for pid in actor_pids():
            # Past its start-up (the model loaded) and into the partition's photos.
            if time.monotonic() - first_seen.setdefault(pid, time.monotonic()) > 1.5:
                if pid not in killed:
                    os.kill(pid, signal.SIGKILL)
                    killed.add(pid)
        time.sleep(0.05)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 1, stderr
    assert len(killed) >= 4
    assert "1 partition(s) of 20 photos were not written" in stderr
    assert part_files(parts) == []
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "scored 20, skipped 0" in again.stderr
