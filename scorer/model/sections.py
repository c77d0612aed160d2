"""The card's inner sections, typed: quality, cost, kernels, backbone weights,
distillation, the validation against the baselines.

In NAME.json they are JSON objects (readers of older cards, and other tools, see the
same layout as before); here each has one dataclass that reads it (``from_json``,
which takes an old card's section as it is, missing keys and all) and writes it
(``to_json``). The trainer builds them, every reader goes through them, and one
renderer (scorer/model/cardtext.py) turns them into the lines people read.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


def _number(value: Any, default: float = math.nan) -> float:
    """A finite number from the JSON, else ``default``: a section never raises on a value
    of the wrong kind (json reads Infinity and NaN too)."""
    if (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value)):
        return float(value)
    return default


def _count(value: Any, default: int) -> int:
    return int(_number(value, default))


def _present(section: Any, *absent: Any) -> dict[str, Any]:
    """A section as JSON, without the fields it does not have (None, or ``absent``)."""
    return {key: value for key, value in asdict(section).items()
            if value is not None and value not in absent}


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Spread:
    """A cross-validated figure: its mean over the folds and their spread."""
    mean: float
    std: float = 0.0

    @classmethod
    def from_json(cls, raw: Any) -> Spread | None:
        raw = _object(raw)
        return cls(_number(raw["mean"]), _number(raw.get("std"), 0.0)) if "mean" in raw else None


@dataclass(frozen=True)
class Quality:
    """``expected_quality``: what the int8 model is expected to do on new photos."""
    spearman: Spread
    mae_log1p: Spread | None = None
    pairwise_accuracy: Spread | None = None
    ridge_spearman: Spread | None = None
    mean_mae_log1p: Spread | None = None
    verdict: str = ""

    @classmethod
    def from_json(cls, raw: Any) -> Quality | None:
        raw = _object(raw)
        spearman = Spread.from_json(raw.get("spearman"))
        if spearman is None:
            return None
        spreads = {name: Spread.from_json(raw.get(name)) for name in (
            "mae_log1p", "pairwise_accuracy", "ridge_spearman", "mean_mae_log1p")}
        return cls(spearman, **spreads, verdict=str(raw.get("verdict", "")))

    def to_json(self) -> dict[str, Any]:
        return _present(self)


@dataclass(frozen=True)
class Cost:
    """``cost``: what the model takes to run, measured at export."""
    size_bytes: int
    parameters: int
    members: int = 1
    flip_averaged: bool = False
    ms_per_photo_one_thread: dict[str, float] = field(default_factory=dict)
    measured_on: str = ""

    @classmethod
    def from_json(cls, raw: Any) -> Cost | None:
        raw = _object(raw)
        if not raw:
            return None
        timings = _object(raw.get("ms_per_photo_one_thread"))
        return cls(_count(raw.get("size_bytes"), 0), _count(raw.get("parameters"), 0),
                   _count(raw.get("members"), 1), bool(raw.get("flip_averaged", False)),
                   {str(k): _number(v) for k, v in timings.items()},
                   str(raw.get("measured_on", "")))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class KernelFigures:
    """``kernels.RUNTIME``: the fast kernels measured against the built-in ones (the
    runtime's rule reads them); older cards have ``fast_max_steps`` instead of the first
    three."""
    photos: int = 0
    fast_spearman: float | None = None
    fast_max_diff_likes: float | None = None
    int8_max_diff_likes: float | None = None
    fast_max_steps: float | None = None
    ms_fast: float | None = None
    ms_exact: float | None = None
    faster: bool = False
    decision: str = ""

    @classmethod
    def from_json(cls, raw: Any) -> KernelFigures:
        raw = _object(raw)
        numbers = {name: (_number(raw[name]) if name in raw else None) for name in (
            "fast_spearman", "fast_max_diff_likes", "int8_max_diff_likes", "fast_max_steps",
            "ms_fast", "ms_exact")}
        return cls(_count(raw.get("photos"), 0), **numbers,
                   faster=raw.get("faster") is True, decision=str(raw.get("decision", "")))

    def to_json(self) -> dict[str, Any]:
        return _present(self, "")


@dataclass(frozen=True)
class Weights:
    """Where a backbone's pretrained weights came from (``training.backbone.weights``)."""
    origin: str = "?"
    sha256: str = "?"
    source: str = "?"
    licence: str = "?"

    @classmethod
    def from_json(cls, raw: Any) -> Weights:
        raw = _object(raw)
        return cls(*(str(raw.get(key, "?")) for key in ("origin", "sha256", "source", "licence")))


@dataclass(frozen=True)
class Backbone:
    """``training.backbone``: the pretrained network a model stands on."""
    name: str
    weights: Weights
    layers: tuple[str, ...] = ()
    pooling: str = ""

    @classmethod
    def from_json(cls, raw: Any) -> Backbone | None:
        if not isinstance(raw, dict):
            return None
        layers = raw.get("layers")
        return cls(str(raw.get("name", "?")), Weights.from_json(raw.get("weights")),
                   tuple(str(x) for x in layers) if isinstance(layers, list) else (),
                   str(raw.get("pooling", "")))


@dataclass(frozen=True)
class Distillation:
    """``training.distilled_from``: the teacher a distilled model follows, and how closely."""
    teacher: str
    teacher_file: str
    check_photos: int
    spearman_with_teacher: float
    copies: int = 0
    epochs: int = 0
    teacher_spearman_with_likes: float | None = None
    student_spearman_with_likes: float | None = None

    @classmethod
    def from_json(cls, raw: Any) -> Distillation | None:
        if not isinstance(raw, dict):
            return None
        optional = {name: (_number(raw[name]) if name in raw else None) for name in (
            "teacher_spearman_with_likes", "student_spearman_with_likes")}
        return cls(str(raw.get("teacher", "?")), str(raw.get("teacher_file", "?")),
                   _count(raw.get("check_photos"), 0),
                   _number(raw.get("spearman_with_teacher")), _count(raw.get("copies"), 0),
                   _count(raw.get("epochs"), 0), **optional)

    def to_json(self) -> dict[str, Any]:
        return _present(self)


@dataclass(frozen=True)
class Scores:
    """One model's or baseline's figures on the validation photos."""
    mae: float
    rmse: float
    spearman: float


# The rows of ``metrics.validation`` a reader shows, in order: the model, then its baselines.
VALIDATION_ROWS = ("keras", "int8", "mean baseline", "ridge baseline")


@dataclass(frozen=True)
class Validation:
    """``metrics.validation``: the model beside its baselines, and how it was measured."""
    how: str
    n: int | str
    rows: dict[str, Scores]

    @classmethod
    def from_json(cls, raw: Any) -> Validation | None:
        raw = _object(raw)
        rows = {name: Scores(_number(row.get("mae")), _number(row.get("rmse")),
                             _number(row.get("spearman")))
                for name in VALIDATION_ROWS if isinstance(row := raw.get(name), dict)}
        if not rows and "how" not in raw:
            return None
        n = raw.get("n", "?")
        return cls(str(raw.get("how", "")), n if isinstance(n, int) else "?", rows)

    @property
    def baselines(self) -> dict[str, Scores]:
        return {name: row for name, row in self.rows.items() if name.endswith("baseline")}
