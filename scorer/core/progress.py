"""A one-line progress bar on stderr, shown only on an interactive terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, label: str = "scoring", stream: TextIO = sys.stderr) -> None:
        self.total = total
        self.done = 0
        self.label = label
        self.stream = stream
        self.enabled = stream.isatty() and total > 1
        self._started = time.monotonic()
        self._last_draw = 0.0

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        # Redraw at most ten times a second: the terminal is slower than the scorer.
        if self.enabled and (now - self._last_draw > 0.1 or self.done >= self.total):
            self._last_draw = now
            width = 30
            filled = int(width * self.done / self.total) if self.total else width
            rate = self.done / max(now - self._started, 1e-9)
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
                              f"{self.done}/{self.total} {rate:.1f}/s "
                              f"{time_left(self.total - self.done, rate)}  ")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def time_left(remaining: int, rate: float) -> str:
    """``2:05 left`` at the rate so far; ``--:-- left`` before there is one."""
    if remaining <= 0:
        return "0:00 left"
    if rate <= 0:
        return "--:-- left"
    seconds = round(remaining / rate)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
    return f"{clock} left"
