"""The decode threads of the engine: daemon threads, so a stop never waits for a decode."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any


class Workers:
    """Decode threads that never hold up an exit.

    concurrent.futures joins its threads when the interpreter exits, so a stop
    waited for the slowest decode in progress (8.3 s with four large photos,
    against the 5 s the README promises). These are daemon threads: at a stop,
    a decode in progress is abandoned and its photo stays where it is, without
    a row, for the next start.
    """

    def __init__(self, count: int, work: Callable[..., None]) -> None:
        self._work = work
        self._jobs: queue.SimpleQueue[tuple | None] = queue.SimpleQueue()
        self._closed = threading.Event()
        self.size = max(1, count)
        # Seconds each thread waited for a job (SPE_PROFILE): the evidence that the
        # interpreter's thread and the CSV's fsyncs do not keep the decoders waiting.
        # Kept apart: the waits once every photo was handed out (score_all sets
        # ``draining``), while the last ones are scored, which nothing could fill.
        self.idle = [0.0] * self.size
        self.drain_idle = [0.0] * self.size
        self.draining = False
        self._threads = [threading.Thread(target=self._run, args=(n,), name=f"decode-{n + 1}",
                                          daemon=True) for n in range(self.size)]
        for thread in self._threads:
            thread.start()

    def submit(self, *args: Any) -> None:
        self._jobs.put(args)

    def _run(self, n: int) -> None:
        while not self._closed.is_set():
            waited, draining = time.perf_counter(), self.draining
            job = self._jobs.get()
            (self.drain_idle if draining else self.idle)[n] += time.perf_counter() - waited
            if job is None or self._closed.is_set():
                return
            self._work(*job)

    def close(self, wait: bool) -> None:
        """Drop the jobs not started; ``wait`` for those in progress, or abandon them."""
        self._closed.set()
        for _ in self._threads:
            self._jobs.put(None)  # wakes the idle ones
        if wait:
            for thread in self._threads:
                thread.join()
