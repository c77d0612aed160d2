"""No photo is passed over in silence (issue 13, item 9).

Each case used to leave photos unscored with no line anywhere (and exit 0):
--processed equal to the inbox or above it, a folder that cannot be read, a
path longer than the system's limit, a 255-byte name that collides in
processed/, and processed/ on a full disk (which left partial files there).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import BIN, SAMPLES, spe
from tests.csvcheck import read_rows
from tests.daemon import Daemon
from tests.helpers import DROP_DAC, wait_until

pytestmark = [pytest.mark.fault, pytest.mark.slow]


@pytest.mark.parametrize("where", ["inbox", "parent"])
def test_processed_equal_to_the_inbox_or_above_it_is_a_usage_error(tmp_path, where):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    folder = inbox if where == "inbox" else tmp_path
    proc = spe("watch", str(inbox), "--processed", str(folder), timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"spe: --processed {folder}: is the inbox or contains it; "
                                   "choose a folder outside the inbox (or one inside it)")


def unreadable_folder(root: Path) -> Path:
    folder = root / "private"
    folder.mkdir()
    (folder / "hidden-from-us.jpg").write_bytes((SAMPLES / "rocket.jpg").read_bytes())
    folder.chmod(0)
    return folder


def test_batch_score_reports_a_folder_it_cannot_read(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "rocket.jpg").write_bytes((SAMPLES / "rocket.jpg").read_bytes())
    private = unreadable_folder(photos)
    out = tmp_path / "s.csv"
    proc = subprocess.run([*DROP_DAC, str(BIN / "spe"), "batch-score", str(photos), "-r",
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert f"{private}: cannot read folder: permission denied" in proc.stderr
    rows = {r["path"]: r for r in read_rows(out)}
    assert rows[str(photos / "rocket.jpg")]["status"] == "ok"
    assert rows[str(private)]["error"] == "cannot read folder: permission denied"


def test_the_daemon_logs_a_folder_it_cannot_read(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    private = unreadable_folder(inbox)
    daemon = Daemon(inbox, tmp_path / "s.csv", prefix=DROP_DAC)
    try:
        daemon.wait_for_log(f"{private}: cannot read folder: permission denied; its photos are "
                            "not scored")
    finally:
        assert daemon.stop() == 0


def test_batch_score_reports_a_path_too_long(tmp_path):
    """Folders nested past PATH_MAX (4,096 bytes): made one level at a time, by file
    descriptor, as only such paths can be."""
    top = tmp_path / "deep"
    top.mkdir()
    fd = os.open(top, os.O_RDONLY)
    try:
        for level in range(20):
            name = f"{level:02d}" + "d" * 218
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        photo = os.open("lost.jpg", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(photo, (SAMPLES / "rocket.jpg").read_bytes())
        os.close(photo)
    finally:
        os.close(fd)
    out = tmp_path / "s.csv"
    proc = spe("batch-score", str(top), "-r", "--out", str(out))
    assert proc.returncode == 1, proc.stderr
    assert "cannot read folder: path too long" in proc.stderr
    assert [r["error"] for r in read_rows(out)] == ["cannot read folder: path too long"]


def test_a_255_byte_name_that_collides_in_processed_is_shortened(tmp_path):
    inbox, done = tmp_path / "inbox", tmp_path / "done"
    inbox.mkdir()
    done.mkdir()
    name = "x" * 251 + ".jpg"
    (done / name).write_bytes(b"an earlier photo of the same name")
    daemon = Daemon(inbox, tmp_path / "s.csv", "--processed", str(done))
    try:
        (inbox / name).write_bytes((SAMPLES / "rocket.jpg").read_bytes())
        daemon.wait_rows(1)
        wait_until(lambda: not (inbox / name).exists(), 10, "the photo moved")
    finally:
        assert daemon.stop() == 0
    moved = sorted(p.name for p in done.iterdir() if p.name != name)
    assert moved == ["x" * 249 + "-1.jpg"]
    assert (done / moved[0]).read_bytes() == (SAMPLES / "rocket.jpg").read_bytes()


def test_a_move_to_a_full_disk_leaves_no_partial_file(tmp_path):
    """processed/ on a 16 KiB tmpfs (another file system, so the move is a copy): the
    photo's row is written, the photo stays in the inbox, nothing half in processed/."""
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        pytest.skip("cannot make a mount namespace here")
    inbox, done, out = tmp_path / "inbox", tmp_path / "done", tmp_path / "s.csv"
    inbox.mkdir()
    done.mkdir()
    photo = SAMPLES / "grace_hopper.jpg"
    assert photo.stat().st_size > 16 * 1024
    q = lambda p: shlex.quote(str(p))  # noqa: E731
    script = (f"mount -t tmpfs -o size=16k tmpfs {q(done)} && "
              f"({q(BIN / 'spe')} watch {q(inbox)} --out {q(out)} --processed {q(done)} "
              f"--settle 0.3 > {q(tmp_path / 'log')} 2>&1 & echo $! > {q(tmp_path / 'pid')}; "
              f"wait) ; ls -A {q(done)} > {q(tmp_path / 'in-processed')}")
    namespace = subprocess.Popen(["unshare", "-m", "sh", "-c", script])
    try:
        wait_until(lambda: "watching" in _text(tmp_path / "log"), 30, "the daemon to start")
        (inbox / photo.name).write_bytes(photo.read_bytes())
        wait_until(lambda: "cannot move" in _text(tmp_path / "log"), 30, "the failed move")
        time.sleep(0.5)
    finally:
        os.kill(int((tmp_path / "pid").read_text()), 15)
        assert namespace.wait(timeout=30) == 0
    assert [r["status"] for r in read_rows(out)] == ["ok"]
    assert (inbox / photo.name).read_bytes() == photo.read_bytes()
    assert (tmp_path / "in-processed").read_text() == "", "a partial file was left"


def _text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""
