"""Moves to processed/ that survive a power cut and never leave two copies or none.

processed/ on another file system (tmpfs under /dev/shm), so a move is a copy: the
copy is synced, and its folder, before it takes the photo's name and before the
original goes (strace shows the order a real daemon issues them in); a copy whose
original cannot be removed (a read-only inbox) is taken back out, so a retry adds
no other (before: one more copy in processed/ at every retry)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest

from tests.daemon import Daemon
from tests.helpers import DROP_DAC

pytestmark = [pytest.mark.fault, pytest.mark.slow]
STRACE = shutil.which("strace")


def _wait_gone(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not path.exists(), f"{path} was not moved"


def _stop_traced(daemon: Daemon) -> None:
    children = Path(f"/proc/{daemon.proc.pid}/task/{daemon.proc.pid}/children").read_text()
    for pid in children.split():
        os.kill(int(pid), signal.SIGTERM)
    assert daemon.stop(timeout=60) == 0


@pytest.mark.skipif(STRACE is None, reason="needs strace")
def test_a_move_across_file_systems_is_synced_before_the_original_goes(tmp_path, burst):
    trace = tmp_path / "trace.txt"
    with tempfile.TemporaryDirectory(dir="/dev/shm") as shm:
        processed = Path(shm) / "processed"
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        daemon = Daemon(inbox, tmp_path / "s.csv", "--processed", str(processed),
                        prefix=[STRACE, "-f", "-qq", "-o", str(trace), "-e",
                                "trace=openat,fsync,fdatasync,rename,renameat,renameat2,"
                                "unlink,unlinkat"])
        try:
            shutil.copy(burst[0], inbox / "a.jpg")
            daemon.wait_rows(1)
            _wait_gone(inbox / "a.jpg")
        finally:
            # SIGTERM to strace itself detaches it and leaves the daemon running:
            # the daemon is strace's child, and the one to stop.
            _stop_traced(daemon)
        assert (processed / "a.jpg").read_bytes() == burst[0].read_bytes()
    calls = [line.split(None, 1)[1] for line in trace.read_text().splitlines()
             if " " in line]

    def first(pattern: str) -> int:
        found = [n for n, call in enumerate(calls) if re.search(pattern, call)]
        assert found, pattern
        return found[0]

    opened = calls[first(r'openat\(.*\.a\.jpg\.spe-partial", O_WRONLY')]
    fd = re.search(r"= (\d+)$", opened).group(1)
    synced_copy = first(rf"^f(data)?sync\({fd}\)")
    renamed = first(r'rename.*\.a\.jpg\.spe-partial".*"[^"]*processed/a\.jpg"')
    folder = calls[first(rf'openat\(.*"{re.escape(str(processed))}", O_RDONLY[^)]*O_DIRECTORY')]
    folder_fd = re.search(r"= (\d+)$", folder).group(1)
    synced_folder = min(n for n, call in enumerate(calls)
                        if re.match(rf"f(data)?sync\({folder_fd}\)", call) and n > renamed)
    removed = first(r'unlink.*"[^"]*inbox/a\.jpg"')
    assert synced_copy < renamed < synced_folder < removed, (synced_copy, renamed,
                                                              synced_folder, removed)


def test_a_copy_whose_original_cannot_go_is_taken_back(tmp_path, burst):
    """The inbox's folder is read-only to the daemon (root without DAC override): the
    photo can be copied but not removed."""
    with tempfile.TemporaryDirectory(dir="/dev/shm") as shm:
        processed = Path(shm) / "processed"
        inbox, out = tmp_path / "inbox", tmp_path / "s.csv"
        (inbox / "sub").mkdir(parents=True)
        shutil.copy(burst[0], inbox / "sub" / "a.jpg")
        (inbox / "sub").chmod(0o555)
        try:
            daemon = Daemon(inbox, out, "--processed", str(processed), prefix=DROP_DAC)
            try:
                daemon.wait_for_log("cannot move ")
                assert daemon.proc.poll() is None
            finally:
                assert daemon.stop() == 0
            left = [p.name for p in processed.rglob("*") if p.is_file()]
            assert left == [], left  # neither the copy nor a partial
            assert (inbox / "sub" / "a.jpg").exists()
        finally:
            (inbox / "sub").chmod(0o755)
        daemon = Daemon(inbox, out, "--processed", str(processed), prefix=DROP_DAC)
        try:
            _wait_gone(inbox / "sub" / "a.jpg")
        finally:
            assert daemon.stop() == 0
        assert [p.name for p in processed.rglob("*") if p.is_file()] == ["a.jpg"]
        assert len(daemon.rows()) == 1
