"""The paths to score, read on a thread of their own: a stream that is slow to give its
next path (a pipe from `find`, standard input) or gives only names already seen
(`yes a.jpg`) never holds up the rows of the photos already decoding."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable
from typing import Any

_END = object()


class Feeder:
    """Reads ``paths`` ahead into a queue of at most ``ahead``; ``take`` hands them out."""

    def __init__(self, paths: Iterable[str], ahead: int) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, ahead))
        self._failure: BaseException | None = None
        self.done = False  # every path was handed out
        self._thread = threading.Thread(target=self._read, args=(paths,), name="paths",
                                        daemon=True)  # a stream without end never holds an exit
        self._thread.start()

    def _read(self, paths: Iterable[str]) -> None:
        try:
            for path in paths:
                self._queue.put(path)
        except BaseException as exc:  # handed to the caller's thread by take()
            self._failure = exc
        self._queue.put(_END)

    def take(self, wait: float) -> str | None:
        """The next path, waiting up to ``wait`` seconds; None when there is none yet or
        there are no more (``done``). What the paths raised is raised here."""
        if self.done:
            return None
        try:
            item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
        except queue.Empty:
            return None
        if item is _END:
            self.done = True
            if self._failure is not None:
                raise self._failure
            return None
        return str(item)
