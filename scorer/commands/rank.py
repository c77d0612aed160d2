"""``spe rank``: which of these photos to post? Score them, best first.

Scoring is batch-score's engine; every photo is predicted even if the CSV
already has it (a ranking needs every number), and with ``--out`` only the
photos the CSV does not have yet get a row there, so ranking never doubles a
row.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from scorer.commands.pageviews import Kept, PageViews
from scorer.core.settings import DEFAULTS, RANK, Scoring
from scorer.core.text import display_path, one_line
from scorer.ledger.csvformat import Row
from scorer.ledger.ledger import Ledger
from scorer.model.runtime import Model
from scorer.photos.crops import Insight
from scorer.photos.discover import expand
from scorer.scoring.engine import Engine, Outcome


@dataclass
class Ranked:
    path: str  # as given, to read the photo again (thumbnails)
    display: str
    predicted_likes: float
    percentile: float
    insight: Insight | None = None  # its best crops and occlusion map (--crops)
    thumbnail: tuple[int, int] | None = None  # its place in the views' spool (--html)


@dataclass
class Ranking:
    ranked: list[Ranked]  # best first
    failed: list[tuple[str, str]]  # (display, reason)
    views: PageViews | None = None  # the thumbnails' spool, when a page was asked for
    empty: list[str] = field(default_factory=list)  # folders given that hold no photo


def rank(paths: list[str], model: Model, out: str | None = None, recursive: bool = False,
         settings: Scoring = DEFAULTS, views: PageViews | None = None) -> Ranking:
    """Score ``paths`` once each, best first; with ``views``, each photo's crops, map and
    thumbnail are made from that same decode."""
    unreadable: list[tuple[str, str]] = []
    empty: list[str] = []
    photos, _ = expand(paths, recursive, unreadable, empty)
    memory = Ledger(None, stdout=False)
    engine = Engine(model, memory, settings, RANK, keep=views)
    rows: list[Row] = []
    kept: dict[str, Kept] = {}
    try:
        for outcomes in engine.score_all(photos):
            rows += [o.row for o in outcomes if o.row is not None]
            kept.update(_kept(outcomes))
    finally:
        engine.close()
    if out is not None:
        ledger = Ledger(out)
        try:
            ledger.append(_new_rows(rows, ledger))
        finally:
            ledger.close()
    by_display = {display_path(p): p for p in photos}
    ranked = sorted((Ranked(by_display.get(r.path, r.path), r.path, r.predicted_likes or 0.0,
                            r.percentile or 0.0, *_insight_and_thumbnail(kept.get(r.path)))
                     for r in rows if r.ok),
                    key=lambda r: -r.predicted_likes)
    failed = [(r.path, r.error) for r in rows if not r.ok]
    failed += [(display_path(f), why) for f, why in unreadable]
    return Ranking(ranked, failed, views, [display_path(f) for f in empty])


def _kept(outcomes: list[Outcome]) -> dict[str, Kept]:
    return {o.display: o.kept for o in outcomes if isinstance(o.kept, Kept)}


def _insight_and_thumbnail(kept: Kept | None) -> tuple[Insight | None, tuple[int, int] | None]:
    return (kept.insight, kept.thumbnail) if kept is not None else (None, None)


def _new_rows(rows: list[Row], ledger: Ledger) -> list[Row]:
    """The rows the CSV lacks, as batch-score writes them: one ok row per photo's bytes,
    and for each identical copy a duplicate row that names the first."""
    new: list[Row] = []
    first: dict[str, Row] = {}
    for row in rows:
        if row.ok and row.sha256 in first:
            ahead = first[row.sha256]
            new.append(replace(row, predicted_likes=ahead.predicted_likes,
                               percentile=ahead.percentile, duplicate_of=ahead.path))
            continue
        if row.ok and ledger.has_scored(row.sha256, row.model):
            continue
        if row.ok:
            first[row.sha256] = row
        new.append(row)
    return new


def as_json(ranking: Ranking, model: Model) -> dict:
    """``spe rank --json``: the ranking, each photo's crops and map, the failures."""
    return {
        "model": model.model_id,
        "expected_spearman": model.card.measured_spearman,
        "photos": [{"rank": n, "path": r.display, "predicted_likes": round(r.predicted_likes, 1),
                    "percentile": round(r.percentile, 1),
                    **(r.insight.to_json() if r.insight else {})}
                   for n, r in enumerate(ranking.ranked, start=1)],
        "failed": [{"path": d, "reason": why} for d, why in ranking.failed],
    }


def table(ranking: Ranking) -> str:
    """The terminal table: rank, predicted likes, percentile, photo; then the failures."""
    lines = [f"{'rank':>4}  {'likes':>8}  {'percentile':>10}  photo"]
    for n, r in enumerate(ranking.ranked, start=1):
        lines.append(f"{n:>4}  {r.predicted_likes:>8.1f}  {r.percentile:>10.0f}  "
                     f"{one_line(r.display)}")
    if ranking.failed:
        lines.append("")
        lines += [f"not scored: {one_line(d)}: {why}" for d, why in ranking.failed]
    return "\n".join(lines)
