"""The gate: a new model replaces the one at ``out`` only if it ranks at least as well
(on the same photos) and better than a constant; otherwise it is kept beside it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from trainer.export.card import read_previous_quality


def refused_path(out: Path) -> Path:
    """Where a model the gate did not let replace ``out`` is kept: the work is not lost."""
    return out.with_name(f"{out.stem}.refused.tflite")


def gate(out: Path, spearman: float, force: bool, echo: Callable[[str], None]) -> Path:
    """Where the new model goes: ``out``, unless the model there measured better on the
    same photos (or the new one is no better than a constant); then beside it
    (refused_path), and fit ends with the gate's error naming both."""
    previous = read_previous_quality(out)
    if previous is None:
        return out
    worse = worse_than(spearman, previous)
    if not worse:
        return out
    if force:
        echo(f"replacing {out} although {worse} (--force)")
        return out
    echo(f"{out} is not replaced: {worse}; the new model goes to {refused_path(out)}")
    return refused_path(out)


def worse_than(spearman: float, previous: float) -> str:
    """Why a model of this Spearman may not replace one of ``previous`` ("" if it may)."""
    worse = []
    if spearman <= 0.0:
        worse.append(f"its Spearman {spearman:.3f} is no better than the mean predictor's 0")
    if spearman < previous:
        worse.append(f"its Spearman {spearman:.3f} is below the existing model's {previous:.3f}")
    return " and ".join(worse)
