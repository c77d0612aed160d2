"""Decode photos on worker threads, run the model on batches, append rows.

Both ``spe batch-score`` and ``spe watch`` feed paths into one Engine. Workers
read, hash and decode (OpenCV releases the GIL, so they run in parallel);
whatever has finished is taken in batches by the caller's thread, which runs
the interpreter once per batch and appends the rows. A slow or broken photo
only delays its own row.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from .decode import DEFAULT_MAX_PIXELS, decode_rgb, read_photo
from .errors import OutputError, PhotoError
from .ledger import Ledger, Row
from .runtime import Model

BATCH_SIZE = 32  # photos per interpreter call: the default of both commands


@dataclass
class Outcome:
    """What became of one input: a row written, or skipped as already scored."""

    path: str  # as given
    display: str  # as written in the CSV
    row: Row | None  # None when skipped
    token: Any = None  # the caller's, handed back untouched
    skipped_as: str = ""  # "scored" or "failed": what the CSV already says of it

    @property
    def skipped(self) -> bool:
        return self.row is None


@dataclass
class _Prepared:
    path: str
    display: str
    token: Any
    sha256: str = ""
    pixels: np.ndarray | None = None
    error: str = ""
    skipped_as: str = ""


class Engine:
    def __init__(self, model: Model, ledger: Ledger, threads: int = 2,
                 batch_size: int = BATCH_SIZE,
                 force: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS,
                 skip_failed: bool = False, follow_symlinks: bool = True,
                 linger: float = 0.02) -> None:
        self.model = model
        self.ledger = ledger
        self.batch_size = batch_size
        self.force = force
        self.max_pixels = max_pixels
        # The daemon passes over a file whose error row it already wrote, so a
        # broken photo left in the inbox is not re-reported at every rescan.
        self.skip_failed = skip_failed
        self.follow_symlinks = follow_symlinks
        self.linger = linger
        self.counts: Counter[str] = Counter()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="decode")
        self._ready: queue.Queue[_Prepared] = queue.Queue()
        self._lock = threading.Lock()
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def submit(self, path: str, display: str | None = None, token: Any = None) -> None:
        with self._lock:
            self._in_flight += 1
        self._pool.submit(self._prepare, path, display if display is not None else path, token)

    def _prepare(self, path: str, display: str, token: Any) -> None:
        item = _Prepared(path, display, token)
        try:
            raw = read_photo(path, follow_symlinks=self.follow_symlinks)
            item.sha256 = raw.sha256
            model_id = self.model.model_id
            if not self.force and self.ledger.has_scored(raw.sha256, model_id):
                item.skipped_as = "scored"
            elif (not self.force and self.skip_failed
                  and self.ledger.has_failed(display, raw.sha256, model_id)):
                item.skipped_as = "failed"
            else:
                item.pixels = decode_rgb(raw.data, self.model.size, self.max_pixels)
        except PhotoError as exc:
            item.error = exc.reason
        except Exception as exc:  # noqa: BLE001 - one odd file must never stop the batch
            item.error = f"unexpected {type(exc).__name__}: {exc}"
        self._ready.put(item)

    def step(self, timeout: float | None = None) -> list[Outcome]:
        """Take what is ready (waiting up to ``timeout`` for the first), score, append.

        When the rows cannot be written, OutputError is raised, nothing counts as
        done, and the step's photos wait, decoded, for the next ``step``.
        """
        try:
            items = [self._ready.get(timeout=timeout)]
        except queue.Empty:
            return []
        # Photos of a burst finish decoding a few milliseconds apart: linger a
        # moment for them, so the interpreter and the fsync serve a batch, not one.
        deadline = time.monotonic() + self.linger
        while len(items) < self.batch_size:
            try:
                items.append(self._ready.get_nowait())
            except queue.Empty:
                if len(items) >= self.in_flight or time.monotonic() >= deadline:
                    break
                time.sleep(0.001)
        try:
            outcomes = self._score(items)
        except OutputError:
            for item in items:
                self._ready.put(item)
            raise
        with self._lock:
            self._in_flight -= len(items)
        return outcomes

    def _score(self, items: list[_Prepared]) -> list[Outcome]:
        model_id = self.model.model_id
        decoded = [item for item in items if item.pixels is not None]
        predictions: dict[int, tuple[float, float]] = {}
        if decoded:
            likes = self.model.predict(np.stack([item.pixels for item in decoded
                                                 if item.pixels is not None]))
            percentiles = self.model.percentile(likes)
            predictions = {id(item): (float(like), float(p))
                           for item, like, p in zip(decoded, likes, percentiles, strict=True)}
        outcomes: list[Outcome] = []
        rows: list[Row] = []
        for item in items:
            if item.skipped_as:
                outcomes.append(Outcome(item.path, item.display, None, item.token,
                                        item.skipped_as))
                continue
            if item.error:
                row = Row(item.display, item.sha256, model_id, error=item.error)
            else:
                likes_value, percentile = predictions[id(item)]
                row = Row(item.display, item.sha256, model_id, likes_value, percentile)
            rows.append(row)
            outcomes.append(Outcome(item.path, item.display, row, item.token))
        self.ledger.append(rows)  # raises OutputError: then nothing below counts
        for outcome in outcomes:
            if outcome.row is None:
                self.counts["skipped"] += 1
            else:
                self.counts["scored" if outcome.row.ok else "failed"] += 1
        return outcomes

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
