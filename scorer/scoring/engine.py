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
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from scorer.core.errors import OutputError, PhotoError, PhotoGone
from scorer.core.settings import BATCH, DEFAULTS, Policy, Scoring
from scorer.core.text import display_path
from scorer.ledger.csvformat import Row
from scorer.ledger.ledger import Ledger
from scorer.model.runtime import Model
from scorer.photos.budget import budget_for
from scorer.photos.decode import (
    Decoded,
    Identity,
    RawPhoto,
    decode_rgb,
    decoding,
    model_view,
    read_within,
)
from scorer.photos.header import cut_short, sniff_format
from scorer.scoring.copies import FirstNames
from scorer.scoring.feeder import Feeder
from scorer.scoring.workers import Workers

FEED_WAIT = 0.05  # seconds a step waits for rows before it looks for more paths

if TYPE_CHECKING:  # the daemon's; batch-score's start does not import it
    from scorer.ledger.journal import DecodeJournal

@dataclass
class Outcome:
    """What became of one input: a row written, or skipped as already scored."""

    path: str  # as given
    display: str  # as written in the CSV
    row: Row | None  # None when skipped
    token: Any = None  # the caller's, handed back untouched
    # "scored", "failed" (what the CSV already says of it), "gone", or "cut short" (the
    # daemon's: its writer may still be adding to it; no row yet)
    skipped_as: str = ""
    identity: Identity | None = None  # the file whose bytes were read, if any were
    same_as: str = ""  # skipped: the same bytes were scored in this run, under this name
    kept: Any = None  # what the engine's ``keep`` made of the decoded photo, if asked

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
    identity: Identity | None = None
    model_id: str = ""  # the model it was judged and decoded for
    kept: Any = None


def _linger_for_more(engine: Engine, items: list[_Prepared]) -> None:
    """Photos of a burst finish decoding a few milliseconds apart: linger a moment for
    them, so the interpreter and the fsync serve a batch, not one."""
    deadline = time.monotonic() + engine.linger
    while len(items) < engine.batch_size:
        try:
            items.append(engine._ready.get_nowait())
        except queue.Empty:
            if len(items) >= engine.in_flight or time.monotonic() >= deadline:
                break
            time.sleep(0.001)


def decode_within(data: bytes, size: int, max_pixels: int, journal: DecodeJournal | None,
                  path: str, sha256: str) -> np.ndarray:
    """Decode bytes whose memory is held (read_within), recorded in the daemon's journal
    (if any) from that moment: a photo only waiting for memory when the daemon died did
    not kill it (a photo waiting at two kills in a row was refused as a killer). A photo
    that was being decoded when the daemon died held the whole budget (read_within), so
    that if it kills the daemon again, no other photo is blamed with it."""
    if journal is None:
        return decode_rgb(data, size, max_pixels)
    refused = journal.refused(path, sha256)
    if refused:
        raise PhotoError(refused)
    return decode_rgb(data, size, max_pixels, during=journal.decoding(path, sha256))


class Engine:
    def __init__(self, model: Model, ledger: Ledger, settings: Scoring = DEFAULTS,
                 policy: Policy = BATCH, journal: DecodeJournal | None = None,
                 linger: float = 0.02,
                 keep: Callable[[str, Decoded], Any] | None = None) -> None:
        self.model = model
        self.ledger = ledger
        self.batch_size = settings.batch_size
        self.max_pixels = settings.max_pixels
        # Memory for the decodes in flight, in bytes (scorer/photos/budget.py); None: unbounded.
        self.budget = budget_for(settings.max_memory)
        self.journal = journal  # the daemon's record of decodes in progress (journal.py)
        # What the command wants (scorer/core/settings.py): the daemon passes over a file whose
        # error row it already wrote (no re-report at every rescan), follows no link, and
        # takes a file gone between its event and its read as nothing to report.
        self.policy = policy
        self.linger = linger
        # What else a caller makes of each decoded photo, on the decode thread while the
        # decode is held (spe rank's crops and thumbnail): one decode serves them all.
        self.keep = keep
        self.counts: Counter[str] = Counter()
        # Seconds spent, for `SPE_PROFILE=1 spe batch-score` (where the time goes):
        # reading and decoding summed over the workers; the rest on the caller's thread.
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self._firsts = FirstNames()
        self._pool = Workers(settings.threads, self._prepare)
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
        self._pool.submit(path, display if display is not None else path, token)

    def _prepare(self, path: str, display: str, token: Any) -> None:
        item = _Prepared(path, display, token)
        started = time.perf_counter()
        try:
            # The file's bytes and their decode under one hold of the memory budget.
            with read_within(path, self.policy.follow_symlinks, self.model.size, self.budget,
                             self.journal is not None and self.journal.suspect_path(path),
                             self.max_pixels) as raw:
                read = time.perf_counter()
                with self._lock:
                    self.seconds["reading and hashing"] += read - started
                    started = read
                item.sha256, item.identity = raw.sha256, raw.identity
                model_id = item.model_id = self.model.model_id
                if not self.policy.force and self.ledger.has_scored(raw.sha256, model_id):
                    item.skipped_as = "scored"
                elif (not self.policy.force and self.policy.skip_failed
                      and self.ledger.has_failed(display, raw.sha256, model_id)):
                    item.skipped_as = "failed"
                elif _still_arriving(raw, self.policy.wait_cut_short):
                    item.skipped_as = "cut short"
                else:
                    item.pixels = self._decode(path, raw.data, raw.sha256, item)
        except PhotoGone as exc:
            if self.policy.missing_ok:
                item.skipped_as = "gone"
            else:
                item.error = exc.reason
        except PhotoError as exc:
            item.error = exc.reason
        except Exception as exc:  # noqa: BLE001 - one odd file must never stop the batch
            item.error = f"unexpected {type(exc).__name__}: {exc}"
        with self._lock:
            self.seconds["decoding"] += time.perf_counter() - started
        self._ready.put(item)

    def score_all(self, paths: Iterable[str],
                  shown: Callable[[str], str] = display_path) -> Iterator[list[Outcome]]:
        """Feed ``paths`` to the workers and yield each step's outcomes until all are done;
        ``shown(path)`` is the path as its row shows it.

        Bounded look-ahead: while the caller's thread scores one batch, the workers
        decode the next, so they never wait; and yet thousands of photos are never held.
        """
        limit = 2 * self.batch_size + 4 * self._pool.size
        feeder = Feeder(paths, limit)
        self._pool.draining = False  # (an engine may serve several lists)
        while True:
            while self.in_flight < limit:
                path = feeder.take(wait=0 if self.in_flight else FEED_WAIT)
                if path is None:
                    break
                self.submit(path, shown(path))
            self._pool.draining = feeder.done
            if feeder.done and self.in_flight == 0:
                return
            # While more paths may come, come back for them: a step waits only so long.
            yield (self.step(timeout=None if feeder.done else FEED_WAIT) if self.in_flight
                   else [])

    def swap_model(self, model: Model) -> None:
        """Score with ``model`` from the next batch on (the caller's thread, between steps).
        Photos already decoded for another input size are decoded again for this one."""
        self.model = model

    def _decode(self, path: str, data: bytes, sha256: str,
                item: _Prepared | None = None) -> np.ndarray:
        """Decode bytes read by read_within, whose hold counts this decode too."""
        if self.keep is None or item is None or self.journal is not None:
            return decode_within(data, self.model.size, self.max_pixels, self.journal, path,
                                 sha256)
        with decoding(data, self.model.size, self.max_pixels) as decoded:
            item.kept = self.keep(path, decoded)
            return model_view(decoded.image, self.model.size)

    def step(self, timeout: float | None = None) -> list[Outcome]:
        """Take what is ready (waiting up to ``timeout`` for the first), score, append.

        When the rows cannot be written, OutputError is raised, nothing counts as
        done, and the step's photos wait, decoded, for the next ``step``.
        """
        waited = time.perf_counter()
        try:
            items = [self._ready.get(timeout=timeout)]
        except queue.Empty:
            self.seconds["waiting for decodes"] += time.perf_counter() - waited
            return []
        _linger_for_more(self, items)
        self.seconds["waiting for decodes"] += time.perf_counter() - waited
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
        for item in items:
            _fit_to_model(self, item)
        same_as = _mark_copies(self, items, model_id)
        decoded = [item for item in items if item.pixels is not None]
        predictions: dict[int, tuple[float, float]] = {}
        started = time.perf_counter()
        if decoded:
            likes = self.model.predict(np.stack([item.pixels for item in decoded
                                                 if item.pixels is not None]))
            percentiles = self.model.percentile(likes)
            for item, like, p in zip(decoded, likes, percentiles, strict=True):
                predictions[id(item)] = (float(like), float(p))
                self._firsts.predicted(item.sha256, model_id, float(like), float(p))
        outcomes: list[Outcome] = []
        rows: list[Row] = []
        for item in items:
            first = same_as.get(id(item), "")
            copied = self._firsts.prediction(item.sha256, model_id) if first else None
            if item.skipped_as or (first and copied is None):
                # (a first copy's prediction no longer held: skipped, as before)
                outcomes.append(Outcome(item.path, item.display, None, item.token,
                                        item.skipped_as or "scored", item.identity, first))
                continue
            if item.error:
                row = Row(item.display, item.sha256, model_id, error=item.error)
            else:
                likes_value, percentile = copied or predictions[id(item)]
                row = Row(item.display, item.sha256, model_id, likes_value, percentile,
                          duplicate_of=first)
            rows.append(row)
            outcomes.append(Outcome(item.path, item.display, row, item.token, "",
                                    item.identity, kept=item.kept))
        written = time.perf_counter()
        self.seconds["model"] += written - started
        self.ledger.append(rows)  # raises OutputError: then nothing below counts
        self.seconds["writing rows"] += time.perf_counter() - written
        for outcome in outcomes:
            if outcome.skipped_as in ("gone", "cut short"):  # nothing yet to count
                continue
            if outcome.row is None:
                self.counts["skipped"] += 1
            elif outcome.row.duplicate_of:
                self.counts["duplicates"] += 1
            else:
                self.counts["scored" if outcome.row.ok else "failed"] += 1
        return outcomes

    @property
    def decoders_idle(self) -> tuple[float, float]:
        """Seconds the decode threads waited for photos to decode, summed: while photos
        were still to be handed out, and after."""
        return sum(self._pool.idle), sum(self._pool.drain_idle)

    def close(self, wait: bool = True) -> None:
        """Stop the decode threads (photos not started are dropped); without ``wait``,
        decodes in progress are abandoned too."""
        self._pool.close(wait)


def _mark_copies(engine: Engine, items: list[_Prepared], model_id: str) -> dict[int, str]:
    """Copies of a photo first scored in this run (three identical files side by side):
    each is not run through the model again but gets a duplicate row naming the first
    (id of the item -> that name). A photo the CSV had before this run is skipped."""
    copies: dict[int, str] = {}
    if engine.policy.force:
        return copies
    for item in items:
        if item.pixels is None:
            continue
        first = engine._firsts.earlier(item.sha256, item.display,
                                     engine.ledger.has_scored(item.sha256, model_id))
        if first is not None:
            item.pixels = None
            if first:
                copies[id(item)] = first
            else:
                item.skipped_as = "scored"
    return copies


def _still_arriving(raw: RawPhoto, wait: float) -> bool:
    """Cut short and changed in the last ``wait`` seconds: its writer may be adding to it."""
    if wait <= 0 or raw.identity is None or time.time() - raw.identity[3] / 1e9 >= wait:
        return False
    try:
        return cut_short(raw.data, sniff_format(raw.data))  # the format is all it needs
    except PhotoError:
        return False


def _fit_to_model(engine: Engine, item: _Prepared) -> None:
    """An item judged for a model that was swapped since: judge and decode it again."""
    if not item.model_id or item.model_id == engine.model.model_id:
        return
    item.model_id = engine.model.model_id
    if item.skipped_as in ("scored", "failed"):
        item.skipped_as = ""
        if not engine.policy.force and engine.ledger.has_scored(item.sha256, item.model_id):
            item.skipped_as = "scored"
            return
        item.pixels = np.zeros((1,))  # decoded again below
    if item.pixels is not None and item.pixels.shape[0] != engine.model.size:
        try:  # through the budget and the journal, as every decode
            with read_within(item.path, engine.policy.follow_symlinks, engine.model.size,
                             engine.budget, max_pixels=engine.max_pixels) as raw:
                item.sha256, item.identity = raw.sha256, raw.identity
                item.pixels = engine._decode(item.path, raw.data, raw.sha256)
        except PhotoError as exc:
            item.pixels, item.error = None, exc.reason
