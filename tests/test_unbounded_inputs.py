"""Memory follows what is in flight, not what was seen (issue 34, kind 14): standard
input is read as it is scored, a line without end is passed over, the inbox forgets
what is no longer there, and an inbox removed and made again is watched again."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from scorer.watch.inbox import Inbox
from tests.conftest import BIN, SAMPLES
from tests.csvcheck import read_rows
from tests.daemon import Daemon

PHOTO = sorted(SAMPLES.glob("*.jpg"))[0]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_an_endless_stream_of_paths_is_scored_as_it_comes_in_bounded_memory(tmp_path):
    """`yes a.jpg | spe batch-score -` read standard input whole: 3.1 GiB, no row."""
    out = tmp_path / "scores.csv"
    yes = subprocess.Popen(["yes", str(PHOTO)], stdout=subprocess.PIPE)
    spe = subprocess.Popen([str(BIN / "spe"), "batch-score", "-", "--out", str(out)],
                           stdin=yes.stdout, stderr=subprocess.PIPE)
    yes.stdout.close()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (out.exists() and read_rows(out)):
            time.sleep(0.1)
        assert out.exists() and len(read_rows(out)) == 1, "no row while the stream goes on"
        first = rss_kib(spe.pid)
        time.sleep(3)  # `yes` writes hundreds of MB meanwhile
        assert rss_kib(spe.pid) - first < 30 * 1024
        assert spe.poll() is None and len(read_rows(out)) == 1  # the same photo, once
    finally:
        spe.kill()
        yes.kill()
        spe.wait()
        yes.wait()


def test_a_line_without_end_is_passed_over_and_the_next_path_is_scored(tmp_path):
    given = b"a" * 300_000 + b"\n" + str(PHOTO).encode() + b"\n"
    proc = subprocess.run([str(BIN / "spe"), "batch-score", "-"], input=given,
                          capture_output=True)
    assert proc.returncode == 0, proc.stderr
    assert b"a line of 300,000 bytes is no path" in proc.stderr
    rows = proc.stdout.decode().splitlines()[1:]
    assert len(rows) == 1 and str(PHOTO) in rows[0] and ",ok," in rows[0]


def test_the_inbox_forgets_names_it_passed_over_once_they_are_gone(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(300):
        (inbox / f"{i}.gif").write_bytes(b"GIF89a")
    box = Inbox(inbox, [])
    assert list(box.scan(inbox, lambda _: False)) == []
    assert len(box._reported) == 300  # said once each
    shutil.rmtree(inbox)
    inbox.mkdir()
    box.prune()
    assert box._reported == {}


@pytest.mark.slow
def test_an_inbox_removed_and_made_again_is_watched_again(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    daemon = Daemon(inbox, tmp_path / "scores.csv", "--rescan-interval", "3600")
    try:
        shutil.copy(PHOTO, inbox / "before.jpg")
        daemon.wait_rows(1)
        shutil.rmtree(inbox)
        inbox.mkdir()
        daemon.wait_for_log("removed and made again", timeout=10)
        shutil.copy(PHOTO.with_name(sorted(SAMPLES.glob("*.jpg"))[1].name), inbox / "after.jpg")
        rows = daemon.wait_rows(2, timeout=15)  # the next rescan is an hour away
        assert rows[-1]["path"].endswith("after.jpg")
    finally:
        daemon.stop()
