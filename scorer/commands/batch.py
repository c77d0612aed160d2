"""``spe batch-score``: score a list of photos into the CSV, with progress and a summary."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable

from scorer.core.progress import Progress
from scorer.core.settings import DEFAULTS, Policy, Scoring
from scorer.core.text import display_path, one_line
from scorer.ledger.csvformat import Row
from scorer.ledger.ledger import Ledger
from scorer.model.runtime import Model
from scorer.photos.discover import Notes, no_photos_line, photos_of
from scorer.scoring.engine import Engine


def batch_score(paths: Iterable[str], model: Model, out: str | None, recursive: bool = False,
                settings: Scoring = DEFAULTS, force: bool = False,
                echo: Callable[[str], None] = lambda m: print(m, file=sys.stderr)) -> dict:
    """Score ``paths`` (files, folders, globs; a list, or a stream read as it is scored);
    return the counts. Exit 1 when any failed."""
    ledger = Ledger(out)
    if ledger.repaired_bytes:
        echo(f"{out}: cut off a half row ({ledger.repaired_bytes} bytes) left by an earlier crash")
    notes = Notes()
    photos: Iterable[str] = photos_of(paths, recursive, notes)
    if isinstance(paths, list):  # the paths typed: listed first, for the bar's total
        photos = list(photos)
    model_id = model.model_id
    engine = Engine(model, ledger, settings, Policy(force=force))
    started = time.monotonic()
    bar = Progress(len(photos)) if isinstance(photos, list) else None  # a stream's end is unknown
    failed_listing, said = 0, dict[str, int]()
    try:
        for outcomes in engine.score_all(photos):
            failed_listing += _said(notes, said, ledger, model_id, echo)
            if bar is not None:
                bar.update(len(outcomes))
            for outcome in outcomes:
                if outcome.same_as:
                    echo(f"{one_line(outcome.display)}: skipped, the same bytes as "
                         f"{one_line(outcome.same_as)} (scored once)")
                elif outcome.row is not None and outcome.row.duplicate_of:
                    echo(f"{one_line(outcome.display)}: the same bytes as "
                         f"{one_line(outcome.row.duplicate_of)}; its row says so")
                if outcome.row is not None and not outcome.row.ok:
                    echo(f"{one_line(outcome.display)}: {outcome.row.error}")
        failed_listing += _said(notes, said, ledger, model_id, echo)
    finally:
        if bar is not None:
            bar.close()
        engine.close()
        ledger.close()
    elapsed = time.monotonic() - started
    counts = {key: engine.counts[key] for key in ("scored", "duplicates", "skipped", "failed")}
    counts["failed"] += failed_listing
    rate = counts["scored"] / elapsed if elapsed > 0 else 0.0
    skipped_note = " (already in the CSV; --force to score again)" if counts["skipped"] else ""
    speed = f" ({rate:.1f} photos/s)" if counts["scored"] else ""  # no rate of nothing
    copies = f", {counts['duplicates']} duplicates" if counts["duplicates"] else ""
    echo(f"scored {counts['scored']}{copies}, skipped {counts['skipped']}{skipped_note}, failed "
         f"{counts['failed']} in {elapsed:.1f} s{speed}")
    if os.environ.get("SPE_PROFILE"):
        spent = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in engine.seconds.items())
        running, draining = engine.decoders_idle
        echo(f"profile: {spent}, decoders waiting for work {running:.2f} s (and "
             f"{draining:.2f} s once every photo was handed out) (reading, decoding and "
             f"waiting summed over {settings.threads} threads; wall {elapsed:.2f} s)")
    return counts


def _said(notes: Notes, said: dict[str, int], ledger: Ledger, model_id: str,
          echo: Callable[[str], None]) -> int:
    """Say what the listing met since last time (``said``: how much of each note was
    said) and give the failures their rows; the number of failures. The listing runs
    on the engine's thread of paths and only appends, so this reads past ``said``."""
    new = {name: getattr(notes, name)[said.get(name, 0):]
           for name in ("empty", "unmatched", "unreadable")}
    for name, items in new.items():
        said[name] = said.get(name, 0) + len(items)
    for folder in new["empty"]:
        echo(no_photos_line(one_line(display_path(folder))))
    for pattern in new["unmatched"]:
        echo(f"{pattern}: no files match")
    for folder, reason in new["unreadable"]:
        echo(f"{one_line(display_path(folder))}: {reason}")
    rows = ([Row(display_path(p), "", model_id, error="no files match")
             for p in new["unmatched"]]
            + [Row(display_path(f), "", model_id, error=why) for f, why in new["unreadable"]])
    if rows:
        ledger.append(rows)
    return len(rows)
