"""What a fit says while it runs: its messages, and each phase with its time.

A fit spends minutes in phases that used to say nothing (the export, its
verification under each runtime, the kernels' timing). The narrator is the
trainer's ``echo`` (call it with a message) that also knows phases:

    with echo.phase("features", steps=len(batches)) as phase:
        for batch in batches:
            ...
            phase.step()

On a terminal a bar is redrawn under the messages (name, steps, time so far and
the time left); anywhere else (a log, a pipe, a CI job) each phase writes
timestamped lines: when it starts, each step when there are few, a heartbeat
while one step runs long, and when it ends with its time. ``summary()`` is the
last line of a fit: its time, each phase's and the process's peak memory.

Code that is given a plain callable for ``echo`` (tests, scripts) calls
``phase(echo, ...)``, which gives a silent phase there.
"""

from __future__ import annotations

import contextlib
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

# Non-TTY: a line for a step of a phase of at most EVERY_STEP_SAID steps when at least
# STEP_LINE_S went by since the phase's last line, and for any step after LONG_LINE_S
# (so decoding 1,500 photos in two seconds is two lines, not 1,500).
EVERY_STEP_SAID = 20
STEP_LINE_S = 1.0
LONG_LINE_S = 10.0
HEARTBEAT_S = 30.0      # non-TTY: a line this often while one step runs long
REDRAW_S = 1.0          # TTY: the bar's clock is redrawn this often
BAR_WIDTH = 20
KIB_PER_GB = 1e9 / 1024


def clock(seconds: float) -> str:
    """M:SS (or H:MM:SS) of a duration."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return (f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours
            else f"{rest // 60}:{rest % 60:02d}")


def peak_memory_gb() -> float:
    """This process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KIB_PER_GB


class Phase:
    """One phase's progress: ``step()`` after each of its ``steps``."""

    def __init__(self, narrator: Narrator | None, name: str, steps: int) -> None:
        self.narrator, self.name, self.steps = narrator, name, steps
        self.done = 0
        self.started = self.last_said = time.monotonic()

    def step(self, what: str = "") -> None:
        self.done += 1
        if self.narrator is not None:
            self.narrator.stepped(self, what)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def left(self) -> float | None:
        """The time left, from the pace so far (None before the first step)."""
        if not self.done or not self.steps:
            return None
        return self.elapsed() / self.done * max(0, self.steps - self.done)

    def progress(self) -> str:
        """"3/10, 0:12 so far, about 0:28 left"."""
        count = f"{self.done}/{self.steps}, " if self.steps else ""
        left = self.left()
        return (f"{count}{clock(self.elapsed())} so far"
                + (f", about {clock(left)} left" if left is not None and self.done < self.steps
                   else ""))


class Narrator:
    """The trainer's echo, with phases. ``quiet``: only messages that start with one of
    ``kept_when_quiet``, and no phases."""

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None,
                 quiet: bool = False, kept_when_quiet: tuple[str, ...] = ()) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.quiet, self.kept = quiet, kept_when_quiet
        self.started = time.monotonic()
        self.times: dict[str, float] = {}   # phase -> seconds, in order
        self.current: Phase | None = None
        self.lock = threading.RLock()

    def __call__(self, message: str) -> None:
        if self.quiet and not message.startswith(self.kept):
            return
        with self.lock:
            self._clear_bar()
            self.stream.write(message + "\n")
            self._draw_bar()
            self.stream.flush()

    @contextlib.contextmanager
    def phase(self, name: str, steps: int = 0) -> Iterator[Phase]:
        """A phase of ``steps`` steps (0: not counted); its time goes in the summary."""
        current = Phase(self, name, steps)
        outer, self.current = self.current, current
        self._said(current, "started" + (f", {steps} steps" if steps else ""))
        stop = threading.Event()
        ticker = threading.Thread(target=self._tick, args=(current, stop), daemon=True)
        ticker.start()
        try:
            yield current
        finally:
            stop.set()
            ticker.join()
            self.current = outer
            self.times[name] = self.times.get(name, 0.0) + current.elapsed()
            self._said(current, f"done in {clock(current.elapsed())}", bar_after=False)

    def stepped(self, phase: Phase, what: str) -> None:
        if self.tty:
            self._redraw()
            return
        quiet_for = time.monotonic() - phase.last_said
        if quiet_for >= LONG_LINE_S or (phase.steps <= EVERY_STEP_SAID
                                        and quiet_for >= STEP_LINE_S):
            phase.last_said = time.monotonic()
            self._said(phase, (f"{what}: " if what else "") + phase.progress())

    def summary(self) -> str:
        """"took 3:05 (photos 0:04, features 0:40, ...); peak memory 1.52 GB"."""
        phases = ", ".join(f"{name} {clock(seconds)}" for name, seconds in self.times.items())
        return (f"took {clock(time.monotonic() - self.started)}"
                + (f" ({phases})" if phases else "")
                + f"; peak memory {peak_memory_gb():.2f} GB")

    # ---- drawing -------------------------------------------------------------------------

    def _said(self, phase: Phase, what: str, bar_after: bool = True) -> None:
        if self.quiet:
            return
        if self.tty:
            if not bar_after:
                self(f"{phase.name}: {what}")
            else:
                self._redraw()
            return
        self(f"{time.strftime('%H:%M:%S')} {phase.name}: {what}")

    def _tick(self, phase: Phase, stop: threading.Event) -> None:
        """The bar's clock on a terminal; a heartbeat line elsewhere while a step runs long."""
        while not stop.wait(REDRAW_S):
            if self.quiet or self.current is not phase:
                continue
            if self.tty:
                self._redraw()
            elif time.monotonic() - phase.last_said >= HEARTBEAT_S:
                phase.last_said = time.monotonic()
                self._said(phase, f"still working, {phase.progress()}")

    def _redraw(self) -> None:
        with self.lock:
            self._clear_bar()
            self._draw_bar()
            self.stream.flush()

    def _clear_bar(self) -> None:
        if self.tty and self.current is not None and not self.quiet:
            self.stream.write("\r\033[K")

    def _draw_bar(self) -> None:
        phase = self.current
        if not self.tty or phase is None or self.quiet:
            return
        filled = int(BAR_WIDTH * phase.done / phase.steps) if phase.steps else 0
        bar = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] " if phase.steps else ""
        self.stream.write(f"{phase.name} {bar}{phase.progress()}")


def phase(echo: Callable[[str], None], name: str, steps: int = 0):
    """``echo``'s phase where it is a Narrator; a silent one for a plain callable."""
    if isinstance(echo, Narrator):
        return echo.phase(name, steps)
    return contextlib.nullcontext(Phase(None, name, steps))  # no narrator: says nothing
