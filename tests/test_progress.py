"""The progress bar: the time left at the rate so far, drawn on a real terminal (a pty)."""

from __future__ import annotations

import os
import pty

import pytest

from scorer.core.progress import Progress, time_left


@pytest.mark.parametrize("remaining, rate, shown", [
    (100, 50.0, "0:02 left"), (0, 50.0, "0:00 left"), (10, 0.0, "--:-- left"),
    (6000, 1.0, "1:40:00 left"), (90, 1.0, "1:30 left"),
])
def test_time_left(remaining, rate, shown):
    assert time_left(remaining, rate) == shown


def test_the_bar_on_a_terminal_shows_the_time_left():
    leader, follower = pty.openpty()
    with os.fdopen(follower, "w") as terminal:
        bar = Progress(10, stream=terminal)
        bar.update(5)
        bar.update(5)
        bar.close()
    drawn = read_all(leader)
    assert "10/10" in drawn and " left" in drawn


def read_all(leader: int) -> str:
    """Everything written to the terminal: one read returns as little as one write's worth."""
    chunks = []
    try:
        while chunk := os.read(leader, 4096):
            chunks.append(chunk)
    except OSError:  # EIO once the follower side is closed and drained
        pass
    finally:
        os.close(leader)
    return b"".join(chunks).decode()
