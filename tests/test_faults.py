"""Nothing lost, nobody in: crashes, output faults, hostile files, lost events.

Real processes, real files, real signals. Marked ``fault``; CI runs them with
the rest.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import resource
import shlex
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scorer.core.settings import CUT_SHORT_SECONDS
from tests.conftest import BIN, REPO, SAMPLES, spe
from tests.csvcheck import read_rows
from tests.daemon import Daemon
from tests.helpers import DROP_DAC, bomb_png

pytestmark = [pytest.mark.fault, pytest.mark.slow]


@pytest.fixture(scope="module")
def burst(tmp_path_factory) -> list[Path]:
    """500 distinct synthetic photos."""
    from trainer.data.synth import make_synthetic

    folder = tmp_path_factory.mktemp("burst")
    make_synthetic(folder, n=500, seed=21)
    return sorted((folder / "Images (jpg)").glob("*.jpg"))


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_daemon_killed_three_times_in_a_burst_of_500(tmp_path, burst):
    inbox, out = tmp_path / "inbox", tmp_path / "scores.csv"
    inbox.mkdir()
    rng = random.Random(7)

    def drop_all() -> None:
        for photo in burst:
            shutil.copy(photo, inbox / photo.name)
            time.sleep(0.002)

    dropper = threading.Thread(target=drop_all)
    daemon = Daemon(inbox, out, "--batch-size", "8")
    dropper.start()
    for _ in range(3):
        time.sleep(rng.uniform(0.3, 1.5))
        daemon.kill()  # SIGKILL, at whatever moment this is
        daemon = Daemon(inbox, out, "--batch-size", "8")
    dropper.join()
    try:
        rows = daemon.wait_rows(500, timeout=180)
        time.sleep(1.0)
        rows = daemon.rows()
        assert len(rows) == 500, f"{len(rows)} rows"
        assert {r["status"] for r in rows} == {"ok"}
        assert sorted(Path(r["path"]).name for r in rows) == sorted(p.name for p in burst)
    finally:
        daemon.stop()


def test_batch_score_killed_three_times_then_finished(tmp_path, burst):
    out = tmp_path / "scores.csv"
    folder = burst[0].parent
    rng = random.Random(3)
    for _ in range(3):
        proc = subprocess.Popen([str(BIN / "spe"), "batch-score", str(folder), "--out", str(out),
                                 "--threads", "1", "--batch-size", "4"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.8, 1.6))
        proc.kill()
        proc.wait()
    done = spe("batch-score", str(folder), "--out", str(out), timeout=300)
    assert done.returncode == 0, done.stderr
    rows = read_rows(out)
    assert len(rows) == 500 and len({r["path"] for r in rows}) == 500


def _limit_file_size(limit: int):
    def apply() -> None:
        # Only the soft limit: raising it again later needs no privilege.
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    return apply


def test_full_output_keeps_photos_and_catches_up(tmp_path, burst):
    """The CSV may not grow past 2,000 bytes (RLIMIT_FSIZE): about a dozen rows.

    No photo counts as done (or is moved) without its row on disk; once the
    limit is lifted, the daemon writes the rest and moves them.
    """
    inbox, out, done = tmp_path / "inbox", tmp_path / "scores.csv", tmp_path / "done"
    inbox.mkdir()
    daemon = Daemon(inbox, out, "--processed", str(done), "--batch-size", "4",
                    preexec_fn=_limit_file_size(2000))
    try:
        photos = burst[:40]
        for photo in photos:
            shutil.copy(photo, inbox / photo.name)
        daemon.wait_for_log("file too large")
        time.sleep(1.0)
        rows = daemon.rows()  # whole rows only: read_rows checks
        assert 0 < len(rows) < 40
        scored = {Path(r["path"]).name for r in rows}
        moved = {p.name for p in done.iterdir()}
        assert moved <= scored, "a photo was moved without its row"
        assert {p.name for p in inbox.iterdir()} >= {p.name for p in photos} - scored - moved
        assert out.stat().st_size <= 2000
        # The disk has room again.
        resource.prlimit(daemon.proc.pid, resource.RLIMIT_FSIZE,
                         (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        rows = daemon.wait_rows(40, timeout=60)
        wait_until(lambda: len(list(done.iterdir())) == 40, 20, "all photos moved")
        assert sorted(Path(r["path"]).name for r in rows) == sorted(p.name for p in photos)
        assert {r["status"] for r in rows} == {"ok"}
    finally:
        assert daemon.stop() == 0


def test_batch_score_on_a_full_disk_stops_with_whole_rows(tmp_path, burst):
    """A 16 KiB tmpfs in a private mount namespace: ENOSPC part-way through."""
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        pytest.skip("cannot make a mount namespace here")
    small = tmp_path / "small"
    small.mkdir()
    q = lambda p: shlex.quote(str(p))  # noqa: E731
    script = (f"mount -t tmpfs -o size=16k tmpfs {q(small)} && "
              f"{q(BIN / 'spe')} batch-score {q(burst[0].parent)} --out {q(small / 's.csv')}; "
              f"echo $? > {q(tmp_path / 'rc')}; cp {q(small / 's.csv')} {q(tmp_path / 's.csv')}")
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert (tmp_path / "rc").exists(), proc.stdout + proc.stderr
    assert (tmp_path / "rc").read_text().strip() == "2", proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == f"spe: {small}/s.csv: cannot write (disk full)"
    rows = read_rows(tmp_path / "s.csv")  # whole rows, nothing half
    assert 0 < len(rows) < 500


def test_hostile_and_broken_files_among_good_photos(tmp_path, burst):
    inbox, out, outside = tmp_path / "inbox", tmp_path / "scores.csv", tmp_path / "outside"
    inbox.mkdir()
    outside.mkdir()
    good = iter(burst[100:])
    expected_ok: set[str] = set()

    def drop_good() -> None:
        photo = next(good)
        shutil.copy(photo, inbox / f"good-{photo.name}")
        expected_ok.add(f"good-{photo.name}")

    grace = (SAMPLES / "grace_hopper.jpg").read_bytes()
    source = Image.open(SAMPLES / "grace_hopper.jpg")
    hostile: dict[str, str | None] = {}  # name -> expected error (None: an ok row)

    def drop(name: str | bytes, make, error: str | None) -> None:
        path = os.path.join(os.fsencode(inbox), os.fsencode(name))
        make(path)
        hostile[os.fsdecode(name)] = error
        drop_good()

    write = lambda data: (lambda p: Path(os.fsdecode(p)).write_bytes(data))  # noqa: E731
    daemon = Daemon(inbox, out, "--batch-size", "4", prefix=DROP_DAC)
    try:
        drop("empty.jpg", write(b""), "empty file")
        drop("truncated.jpg", write(grace[: len(grace) // 2]), "corrupt or truncated")
        drop("text.jpg", write(b"just text\n"), "not a JPEG, PNG or WebP image")
        drop("page.jpg", write(b"<!doctype html><html><script>alert(1)</script></html>"),
             "not a JPEG, PNG or WebP image")
        drop("png-inside.jpg", lambda p: source.save(os.fsdecode(p), format="PNG"), None)
        drop("bomb.jpg", write(bomb_png()), "50000x50000 pixels exceeds the limit")
        deep = (np.asarray(source.convert("L"), np.uint16) * 257)
        drop("deep16.png", lambda p: Image.fromarray(deep).save(os.fsdecode(p)), None)
        drop("cmyk.jpg", lambda p: source.convert("CMYK").save(os.fsdecode(p)), None)

        def unreadable(p):
            Path(os.fsdecode(p) + ".tmp").write_bytes(grace[:-1] + b"\xd9")
            os.chmod(os.fsdecode(p) + ".tmp", 0)
            os.rename(os.fsdecode(p) + ".tmp", p)
        drop("noread.jpg", unreadable, "permission denied")
        shutil.copy(SAMPLES / "rocket.jpg", outside / "secret.jpg")
        drop("link-out.jpg", lambda p: os.symlink(outside / "secret.jpg", p),
             "symlink, not followed")
        drop("loop.jpg", lambda p: os.symlink(p, p), "symlink, not followed")
        drop("fifo.jpg", lambda p: os.mkfifo(p), "not a regular file")
        for i, name in enumerate(["with space.jpg", "a,b.jpg", 'say "cheese".jpg', "new\nline.jpg",
                                  b"caf\xe9-latin1.jpg", "x" * 230 + ".jpg", "=cmd.jpg", "+1.jpg",
                                  "-2.jpg", "@SUM(A1).jpg"]):
            drop(name, lambda p, i=i: source.save(os.fsdecode(p), quality=50 + i), None)
        folder = inbox / "album.jpg"  # a folder named like a photo: its photos count
        folder.mkdir()
        source.save(folder / "inside.jpg", quality=45)
        expected_ok.add("inside.jpg")
        drop_good()

        total = len(hostile) + len(expected_ok)
        try:
            # truncated.jpg and bomb.jpg (a header, no pixels) look cut short: the
            # watcher waits CUT_SHORT_SECONDS for the rest of an upload's bytes before it
            # scores one as it is, so their rows come that much after they were dropped.
            daemon.wait_rows(total, timeout=CUT_SHORT_SECONDS + 45)
        except AssertionError:
            seen = {r["path"].rsplit("/", 1)[-1] for r in daemon.rows()}
            wanted = ({os.fsencode(n).decode("utf-8", "backslashreplace") for n in hostile}
                      | expected_ok)
            raise AssertionError(f"no rows for {sorted(wanted - seen)}; log:\n"
                                 + "\n".join(line for line in daemon.log_text().splitlines()
                                             if "scored" not in line)) from None
        time.sleep(1.0)
        rows = daemon.rows()  # strict RFC 4180 parse, valid UTF-8
        assert len(rows) == total, [r["path"] for r in rows]
        by_name = {}
        for row in rows:
            by_name[row["path"].rsplit("/", 1)[-1]] = row
        for name, error in hostile.items():
            shown = os.fsencode(name).decode("utf-8", "backslashreplace")
            row = by_name[shown]
            if error is None:
                assert row["status"] == "ok", (name, row)
            else:
                assert row["status"] == "error" and error in row["error"], (name, row)
        for name in expected_ok:
            assert by_name[name]["status"] == "ok", by_name[name]
        assert "secret" not in out.read_text()
        # Spreadsheet-safe: no cell starts like a formula.
        for row in rows:
            for cell in row.values():
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    finally:
        assert daemon.stop() == 0


@pytest.mark.parametrize("fault", ["missing", "truncated", "swapped", "wrong-shape"])
def test_bad_model_stops_the_daemon_before_anything_is_written(tmp_path, fault):
    default = REPO / "models" / "default.tflite"
    model = tmp_path / "m.tflite"
    card = json.loads(default.with_suffix(".json").read_text())
    if fault != "missing":
        shutil.copy(default, model)
    if fault == "truncated":
        model.write_bytes(model.read_bytes()[:20000])
    if fault == "swapped":
        card["sha256"] = "f" * 64
    if fault == "wrong-shape":
        card["input"]["height"] = card["input"]["width"] = 128
    if fault != "missing":
        model.with_suffix(".json").write_text(json.dumps(card))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(SAMPLES / "rocket.jpg", inbox)
    out, done = tmp_path / "scores.csv", tmp_path / "done"
    proc = spe("watch", str(inbox), "--model", str(model), "--out", str(out), "--processed",
               str(done), timeout=30)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("spe: ") and "Traceback" not in proc.stderr
    assert not out.exists() and not done.exists()
    assert [p.name for p in inbox.iterdir()] == ["rocket.jpg"]


def test_a_photo_whose_closed_event_was_lost_is_still_scored(tmp_path, burst):
    """Modified seen, Closed lost in an overflow: judged by size and mtime after the timeout.

    Before the watcher's split, such a file stayed pending for ever and the
    rescan passed over pending files, so it was never scored.
    """
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    daemon = Daemon(inbox, tmp_path / "scores.csv", "--rescan-interval", "2", "--settle", "0.2")
    try:
        data = burst[0].read_bytes()
        with open(inbox / "slow.jpg", "wb") as writer:
            writer.write(data[: len(data) // 2])
            writer.flush()
            time.sleep(0.5)  # the daemon sees Modified and waits for Closed
            daemon.proc.send_signal(signal.SIGSTOP)
            junk = inbox / ".churn"
            for _ in range(limit // 2 + 100):  # fill the queue: what follows is dropped
                junk.write_bytes(b"")
                junk.unlink()
            writer.write(data[len(data) // 2:])
        daemon.proc.send_signal(signal.SIGCONT)  # its Closed event was dropped
        rows = daemon.wait_rows(1, timeout=20)  # the timeout is 30 settles: 6 s here
        assert [(Path(r["path"]).name, r["status"]) for r in rows] == [("slow.jpg", "ok")]
        assert "overflow" in daemon.log_text()
    finally:
        assert daemon.stop() == 0


def test_photos_whose_events_were_lost_are_scored_by_the_rescan(tmp_path, burst):
    """Stop the daemon, overflow its inotify queue, drop photos, let it go on."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    daemon = Daemon(inbox, tmp_path / "scores.csv", "--rescan-interval", "3")
    try:
        daemon.proc.send_signal(signal.SIGSTOP)
        junk = inbox / ".churn"
        for _ in range(limit // 2 + 100):  # 3 events each: created, closed, deleted
            junk.write_bytes(b"")
            junk.unlink()
        for photo in burst[:5]:
            shutil.copy(photo, inbox / photo.name)
        daemon.proc.send_signal(signal.SIGCONT)
        rows = daemon.wait_rows(5, timeout=3 + 10)  # within one interval, plus settling
        assert sorted(Path(r["path"]).name for r in rows) == sorted(p.name for p in burst[:5])
        assert "overflow" in daemon.log_text()
    finally:
        assert daemon.stop() == 0


def test_rows_follow_a_csv_deleted_or_emptied_under_the_daemon(tmp_path, burst):
    """`rm scores.csv` or logrotate's copytruncate while the daemon runs: the rows go to
    the file at --out (with its header), and the next start accepts it."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    out, done = tmp_path / "scores.csv", tmp_path / "done"
    daemon = Daemon(inbox, out, "--processed", str(done))
    try:
        shutil.copy(burst[0], inbox / "a.jpg")
        daemon.wait_rows(1)
        out.unlink()
        shutil.copy(burst[1], inbox / "b.jpg")
        rows = daemon.wait_rows(1)
        assert [Path(r["path"]).name for r in rows] == ["b.jpg"]
        with open(out, "r+b") as handle:
            handle.truncate(0)
        shutil.copy(burst[2], inbox / "c.jpg")
        rows = daemon.wait_rows(1)
        assert [Path(r["path"]).name for r in rows] == ["c.jpg"]
        wait_until(lambda: sorted(p.name for p in done.iterdir()) == ["a.jpg", "b.jpg", "c.jpg"],
                   10, "all three moved")
    finally:
        assert daemon.stop() == 0
    assert "was deleted or replaced" in daemon.log_text()
    assert "was emptied: writing its header again" in daemon.log_text()
    again = Daemon(inbox, out, "--processed", str(done))  # the ledger is a scores CSV still
    try:
        shutil.copy(burst[3], inbox / "d.jpg")
        assert [Path(r["path"]).name for r in again.wait_rows(2)] == ["c.jpg", "d.jpg"]
    finally:
        assert again.stop() == 0


def test_batch_score_takes_an_excel_saved_csv_as_its_ledger(tmp_path, burst):
    """Saved by Excel as "CSV UTF-8": a BOM, CRLF, the last row without its newline."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for source in burst[:2]:
        shutil.copy(source, photos / source.name)
    out = tmp_path / "scores.csv"
    first = spe("batch-score", str(photos / burst[0].name), "--out", str(out))
    assert first.returncode == 0, first.stderr
    out.write_bytes(b"\xef\xbb\xbf" + out.read_bytes()[:-2])
    again = spe("batch-score", str(photos), "--out", str(out))
    assert again.returncode == 0, again.stderr
    text = out.read_bytes().decode("utf-8-sig")
    names = [Path(r["path"]).name for r in csv.DictReader(io.StringIO(text, newline=""))]
    assert names == [burst[0].name, burst[1].name]  # the first is not scored again
