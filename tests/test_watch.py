"""``spe watch`` as a real daemon on a real inbox with real inotify events."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import time
from pathlib import Path

import pytest

from tests.conftest import SAMPLES
from tests.daemon import Daemon

pytestmark = pytest.mark.slow


@pytest.fixture
def inbox(tmp_path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def synth_photos(synth_dir: Path) -> list[Path]:
    return sorted((synth_dir / "Images (jpg)").glob("*.jpg"), key=lambda p: int(p.stem))


def assert_once(rows: list[dict], names: set[str]) -> None:
    seen = [Path(r["path"]).name for r in rows]
    assert sorted(seen) == sorted(names), seen
    assert all(r["status"] == "ok" for r in rows)


def test_every_way_of_arriving_gives_exactly_one_row(inbox, tmp_path, synth_dir):
    photos = synth_photos(synth_dir)
    daemon = Daemon(inbox, tmp_path / "scores.csv")
    try:
        # cp: Created, Modified, Closed
        shutil.copy(photos[0], inbox / "copied.jpg")
        # mv within the file system: Created only
        staged = tmp_path / "staged.jpg"
        shutil.copy(photos[1], staged)
        os.rename(staged, inbox / "moved.jpg")
        # a slow writer: chunks with pauses longer than the settle time
        data = photos[2].read_bytes()
        with open(inbox / "slow.jpg", "wb") as handle:
            for start in range(0, len(data), len(data) // 4 + 1):
                handle.write(data[start : start + len(data) // 4 + 1])
                handle.flush()
                time.sleep(0.5)
        # write under a temporary name, then rename: Moved with dest_path
        (inbox / "upload.jpg.part").write_bytes(photos[3].read_bytes())
        time.sleep(0.5)
        assert not any("upload" in r["path"] for r in daemon.rows())
        os.rename(inbox / "upload.jpg.part", inbox / "upload.jpg")
        rows = daemon.wait_rows(4)
        time.sleep(1.5)  # more events or a rescan must not add rows
        assert_once(daemon.rows(), {"copied.jpg", "moved.jpg", "slow.jpg", "upload.jpg"})
        assert all(r["path"].startswith(str(inbox)) for r in rows)  # absolute paths
    finally:
        assert daemon.stop() == 0


def test_photos_present_at_start_or_added_while_stopped(inbox, tmp_path, synth_dir):
    photos = synth_photos(synth_dir)
    shutil.copy(photos[0], inbox / "before.jpg")
    out = tmp_path / "scores.csv"
    daemon = Daemon(inbox, out)
    daemon.wait_rows(1)
    assert daemon.stop() == 0
    shutil.copy(photos[1], inbox / "while-down.jpg")
    daemon = Daemon(inbox, out)
    try:
        daemon.wait_rows(2)
        daemon.wait_for_log("skipped")  # before.jpg is still there: read, not scored again
        assert_once(daemon.rows(), {"before.jpg", "while-down.jpg"})
    finally:
        daemon.stop()


def test_sigterm_and_sigint_exit_0_within_5_seconds(inbox, tmp_path, synth_dir):
    for sig in (signal.SIGTERM, signal.SIGINT):
        daemon = Daemon(inbox, tmp_path / f"{sig}.csv")
        for photo in synth_photos(synth_dir)[:40]:
            shutil.copy(photo, inbox / f"{sig}-{photo.name}")
        daemon.wait_rows(1)
        started = time.monotonic()
        assert daemon.stop(sig, timeout=10) == 0
        assert time.monotonic() - started < 5
        assert "stopped: scored" in daemon.log_text()


def test_kill_9_in_a_burst_then_restart_gives_exactly_one_row_each(inbox, tmp_path, synth_dir):
    photos = synth_photos(synth_dir)[:200]
    out = tmp_path / "scores.csv"
    daemon = Daemon(inbox, out, "--batch-size", "4", "--threads", "1")
    for photo in photos:
        shutil.copy(photo, inbox / photo.name)
    daemon.wait_rows(20)
    daemon.kill()
    raw = out.read_bytes()
    assert raw.count(b"\n") - 1 < 200, "the kill came too late to test anything"
    daemon = Daemon(inbox, out)
    try:
        daemon.wait_rows(200)
        time.sleep(1.0)
        assert_once(daemon.rows(), {p.name for p in photos})
    finally:
        daemon.stop()


def test_broken_photo_gets_its_row_and_the_rest_are_scored(inbox, tmp_path, synth_dir):
    photos = synth_photos(synth_dir)
    processed, failed = tmp_path / "done", tmp_path / "failed"
    daemon = Daemon(inbox, tmp_path / "scores.csv", "--processed", str(processed),
                    "--failed", str(failed))
    try:
        shutil.copy(photos[0], inbox / "a.jpg")
        (inbox / "broken.jpg").write_bytes(b"<html>not a photo</html>")
        grace = (SAMPLES / "grace_hopper.jpg").read_bytes()
        (inbox / "half.jpg").write_bytes(grace[: len(grace) // 2])
        for photo in photos[1:6]:
            shutil.copy(photo, inbox / photo.name)
        rows = daemon.wait_rows(8)
        by_name = {Path(r["path"]).name: r for r in rows}
        assert by_name["broken.jpg"]["error"] == "not a JPEG, PNG or WebP image"
        assert "corrupt or truncated" in by_name["half.jpg"]["error"]
        assert sum(r["status"] == "ok" for r in rows) == 6
        # half.jpg is cut short: its row comes last, once unchanged for 30 s (a writer
        # might have been adding to it), and its move follows the row.
        deadline = time.monotonic() + 10
        while ((len(list(processed.iterdir())) < 6 or len(list(failed.iterdir())) < 2)
               and time.monotonic() < deadline):
            time.sleep(0.05)
        assert sorted(p.name for p in failed.iterdir()) == ["broken.jpg", "half.jpg"]
        assert len(list(processed.iterdir())) == 6
        assert [p.name for p in inbox.iterdir()] == []
    finally:
        assert daemon.stop() == 0


def test_sighup_reopens_the_output(inbox, tmp_path, synth_dir):
    photos = synth_photos(synth_dir)
    out = tmp_path / "scores.csv"
    daemon = Daemon(inbox, out)
    try:
        shutil.copy(photos[0], inbox / "one.jpg")
        daemon.wait_rows(1)
        os.rename(out, tmp_path / "scores.csv.1")  # logrotate
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_for_log("reopened")
        shutil.copy(photos[1], inbox / "two.jpg")
        rows = daemon.wait_rows(1)
        assert [Path(r["path"]).name for r in rows] == ["two.jpg"]
    finally:
        assert daemon.stop() == 0


def test_systemd_notify_protocol(inbox, tmp_path, synth_dir):
    address = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(address)
    listener.settimeout(10)
    daemon = Daemon(inbox, tmp_path / "scores.csv",
                    env={"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "400000"})
    try:
        messages: list[str] = []
        shutil.copy(synth_photos(synth_dir)[0], inbox / "a.jpg")
        daemon.wait_rows(1)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any("scored 1" in m for m in messages):
            messages.append(listener.recv(4096).decode())
        assert "READY=1" in messages[0] and "STATUS=" in messages[0]
        assert sum(m == "WATCHDOG=1" for m in messages) >= 1
        assert any(m.startswith("STATUS=scored 1, skipped 0, failed 0") for m in messages)
    finally:
        assert daemon.stop() == 0
        listener.close()


def test_settings_from_toml_env_and_flags(inbox, tmp_path, synth_dir):
    settings = tmp_path / "spe.toml"
    moved = tmp_path / "from-toml"
    settings.write_text(f'[watch]\nprocessed = "{moved}"\nlog-level = "warning"\n')
    daemon = Daemon(inbox, tmp_path / "scores.csv", "--config", str(settings),
                    "--log-level", "info")  # the flag wins over the file
    try:
        shutil.copy(synth_photos(synth_dir)[0], inbox / "a.jpg")
        daemon.wait_rows(1)
        deadline = time.monotonic() + 5
        while not (moved / "a.jpg").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (moved / "a.jpg").exists()
        assert "INFO scored" in daemon.log_text()
        # Outside journald each line starts with its time (UTC, ISO 8601); each move
        # is a line saying where the photo went.
        daemon.wait_for_log("moved ")
        stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
        assert re.search(rf"^{stamp} INFO scored {re.escape(str(inbox / 'a.jpg'))}: ",
                         daemon.log_text(), re.M)
        assert re.search(rf"^{stamp} INFO moved {re.escape(str(inbox / 'a.jpg'))} to "
                         rf"{re.escape(str(moved / 'a.jpg'))}$", daemon.log_text(), re.M)
    finally:
        assert daemon.stop() == 0
