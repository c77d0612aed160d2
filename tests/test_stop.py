"""A stop is prompt whatever is in flight (issue 13, item 10).

SIGTERM while four large photos decode: the daemon used to wait for every
decode in progress (8.3 s; the README promises 5 s). Unfinished decodes are
abandoned, and their photos stay in the inbox for the next start.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.daemon import Daemon

pytestmark = [pytest.mark.fault, pytest.mark.slow]
STOP_PROMISE_SECONDS = 5.0


@pytest.fixture(scope="module")
def large_pngs(tmp_path_factory) -> list[Path]:
    """Eight 100-megapixel PNGs of about 300 KB (two seconds of decoding each here)."""
    folder = tmp_path_factory.mktemp("large")
    image = np.zeros((10000, 10000, 3), np.uint8)
    image[::7] = 200
    ok, encoded = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    assert ok
    paths = []
    for n in range(8):  # distinct files: bytes after IEND change the hash, not the image
        path = folder / f"large-{n}.png"
        path.write_bytes(encoded.tobytes() + bytes(n + 1))
        paths.append(path)
    return paths


def test_sigterm_during_large_decodes_stops_within_the_promise(tmp_path, large_pngs):
    inbox, done, out = tmp_path / "inbox", tmp_path / "done", tmp_path / "scores.csv"
    inbox.mkdir()
    daemon = Daemon(inbox, out, "--processed", str(done), "--threads", "4",
                    "--max-memory", "8000")
    for path in large_pngs:
        (inbox / path.name).write_bytes(path.read_bytes())
    time.sleep(1.5)  # every thread is in the middle of a decode
    started = time.monotonic()
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.stop(timeout=30) == 0
    took = time.monotonic() - started
    assert took < STOP_PROMISE_SECONDS, f"took {took:.1f} s to stop"
    scored = {Path(r["path"]).name for r in daemon.rows()}
    left = {p.name for p in inbox.iterdir()}
    moved = {p.name for p in done.iterdir()} if done.exists() else set()
    assert moved == scored, "a photo was moved without its row, or kept with one"
    assert left | moved == {p.name for p in large_pngs}, "a photo was lost"
