"""Uploads that stall or close in two parts (issue 34, kind 8): the half got an error row
and was moved, and the rest then arrived at a file nobody would score. A photo that
ends before its format's end now waits, said in the log, while its writer may still
be adding to it; the full bytes are scored and kept."""

from __future__ import annotations

import hashlib
import time

import pytest

from scorer.photos.header import cut_short
from tests.conftest import SAMPLES
from tests.daemon import Daemon

pytestmark = pytest.mark.slow

PHOTO = sorted(SAMPLES.glob("*.jpg"))[0]


@pytest.mark.parametrize("name", ["jpg", "png"])
def test_a_photo_cut_anywhere_is_cut_short_and_whole_it_is_not(name):
    whole = next(p for p in sorted(SAMPLES.iterdir()) if p.suffix == f".{name}").read_bytes()
    fmt = "jpeg" if name == "jpg" else name
    assert not cut_short(whole, fmt)
    for fraction in (0.3, 0.6, 0.95):
        assert cut_short(whole[:int(len(whole) * fraction)], fmt)


def test_an_upload_in_two_parts_is_scored_whole_and_moved_whole(tmp_path):
    inbox, processed = tmp_path / "inbox", tmp_path / "processed"
    inbox.mkdir()
    processed.mkdir()
    whole = PHOTO.read_bytes()
    daemon = Daemon(inbox, tmp_path / "scores.csv", "--processed", str(processed),
                    "--failed", str(tmp_path / "failed"))
    try:
        with open(inbox / "upload.jpg", "wb") as part:  # closes: inotify says Closed
            part.write(whole[:len(whole) // 2])
        daemon.wait_for_log("waiting for the rest of", timeout=15)
        time.sleep(1.0)
        assert daemon.rows() == [] and (inbox / "upload.jpg").exists()
        with open(inbox / "upload.jpg", "ab") as rest:
            rest.write(whole[len(whole) // 2:])
        rows = daemon.wait_rows(1, timeout=15)
        assert rows[0]["status"] == "ok", rows
        assert rows[0]["sha256"] == hashlib.sha256(whole).hexdigest()
        deadline = time.monotonic() + 10
        while not (processed / "upload.jpg").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (processed / "upload.jpg").read_bytes() == whole
        assert not (tmp_path / "failed").exists() or not any((tmp_path / "failed").iterdir())
    finally:
        daemon.stop()


def test_a_photo_whose_bytes_change_after_its_row_is_scored_again(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    first, second = (p.read_bytes() for p in sorted(SAMPLES.glob("*.jpg"))[:2])
    daemon = Daemon(inbox, tmp_path / "scores.csv")
    try:
        (inbox / "photo.jpg").write_bytes(first)
        daemon.wait_rows(1)
        (inbox / "photo.jpg").write_bytes(second)  # the same name, new bytes
        rows = daemon.wait_rows(2, timeout=15)
        assert [r["sha256"] for r in rows] == [hashlib.sha256(b).hexdigest()
                                               for b in (first, second)]
    finally:
        daemon.stop()
