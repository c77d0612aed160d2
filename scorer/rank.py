"""``spe rank``: which of these photos to post? Score them, best first.

Scoring is batch-score's engine; every photo is predicted even if the CSV
already has it (a ranking needs every number), and with ``--out`` only the
photos the CSV does not have yet get a row there, so ranking never doubles a
row.
"""

from __future__ import annotations

from dataclasses import dataclass

from .budget import budget_for
from .crops import Insight, explain
from .csvformat import Row
from .discover import expand
from .engine import Engine
from .errors import PhotoError
from .ledger import Ledger
from .runtime import Model
from .settings import DEFAULTS, RANK, Scoring
from .text import display_path, one_line


@dataclass
class Ranked:
    path: str  # as given, to read the photo again (thumbnails)
    display: str
    predicted_likes: float
    percentile: float
    insight: Insight | None = None  # its best crops and occlusion map (--crops)


@dataclass
class Ranking:
    ranked: list[Ranked]  # best first
    failed: list[tuple[str, str]]  # (display, reason)


def rank(paths: list[str], model: Model, out: str | None = None, recursive: bool = False,
         settings: Scoring = DEFAULTS) -> Ranking:
    unreadable: list[tuple[str, str]] = []
    photos, _ = expand(paths, recursive, unreadable)
    memory = Ledger(None, stdout=False)
    engine = Engine(model, memory, settings, RANK)
    rows: list[Row] = []
    try:
        for outcomes in engine.score_all(photos):
            rows += [o.row for o in outcomes if o.row is not None]
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
                            r.percentile or 0.0) for r in rows if r.ok),
                    key=lambda r: -r.predicted_likes)
    failed = [(r.path, r.error) for r in rows if not r.ok]
    failed += [(display_path(f), why) for f, why in unreadable]
    return Ranking(ranked, failed)


def _new_rows(rows: list[Row], ledger: Ledger) -> list[Row]:
    """The rows the CSV lacks, one ok row per photo's bytes (identical copies are one photo
    there, as batch-score writes them)."""
    new, seen = [], set()
    for row in rows:
        if row.ok and (row.sha256 in seen or ledger.has_scored(row.sha256, row.model)):
            continue
        seen.add(row.sha256)
        new.append(row)
    return new


def add_insights(ranking: Ranking, model: Model, settings: Scoring, crops: int,
                 grid: int) -> None:
    """Each ranked photo's best crops and occlusion map (decoded again, within the
    memory budget); a photo that changed or vanished since has none."""
    budget = budget_for(settings.max_memory)
    for r in ranking.ranked:
        try:
            r.insight = explain(r.path, model, budget, settings.max_pixels, crops, grid)
        except PhotoError:
            r.insight = None


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
