"""The model card: the JSON file beside every ``NAME.tflite``.

The trainer writes it and the scorer reads it; both go through this module so
there is one schema. It says how to feed the model (input size, channel order,
pixel scaling), how to read its output (target transform), and where a
prediction falls among the training likes (percentile).
"""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scorer.core.errors import ModelError, os_reason
from scorer.core.ownfiles import write_file
from scorer.model.sections import (
    Backbone,
    Cost,
    Distillation,
    KernelFigures,
    Quality,
    Validation,
)

# The card's format. 1: the first trainer's ("schema"); 2: adds expected_quality,
# cost and cross-validation (readers of 1 ignore them). A card of a higher
# version than this scorer knows is refused with a clear line, not misread.
CARD_VERSION = 2
RESIZE = "squash to square, cv2.INTER_AREA, EXIF orientation applied"
QUANTIZATION = "full-integer int8 (weights, activations, input, output)"
def _expm1(values: np.ndarray) -> np.ndarray:
    # Clip before expm1: an output beyond any plausible post would overflow.
    return np.expm1(np.clip(values, -50.0, 50.0))


@dataclass(frozen=True)
class Transform:
    """How likes become what the network predicts (``forward``) and back (``inverse``).

    ``fitted`` says the transform standardises: its mean and std are taken from
    the training likes after ``base`` (log1p for log1p-std).
    """

    base: Callable[[np.ndarray], np.ndarray]
    base_inverse: Callable[[np.ndarray], np.ndarray]
    fitted: bool


def _same(values: np.ndarray) -> np.ndarray:
    return values


# One table: adding a target transform is adding an entry.
TRANSFORMS: dict[str, Transform] = {
    "raw": Transform(_same, _same, fitted=False),
    "log1p": Transform(np.log1p, _expm1, fitted=False),
    "standardize": Transform(_same, _same, fitted=True),
    "log1p-std": Transform(np.log1p, _expm1, fitted=True),
}
TARGET_TRANSFORMS = tuple(TRANSFORMS)


@dataclass(frozen=True)
class Target:
    """How likes are turned into what the network predicts, and back."""

    transform: str = "raw"
    # Of the training likes after the transform's base (fitted transforms only).
    mean: float = 0.0
    std: float = 1.0

    @classmethod
    def fit(cls, transform: str, likes: np.ndarray) -> Target:
        """The transform with its statistics taken from the training likes."""
        if transform not in TRANSFORMS:
            raise ValueError(f"unknown target {transform!r}: choose {', '.join(TRANSFORMS)}")
        values = TRANSFORMS[transform].base(np.asarray(likes, np.float64))
        return cls(transform, float(values.mean()), float(values.std() or 1.0))

    def forward(self, likes: np.ndarray) -> np.ndarray:
        spec = TRANSFORMS[self.transform]
        values = spec.base(np.asarray(likes, dtype=np.float64))
        return (values - self.mean) / self.std if spec.fitted else values

    def inverse(self, output: np.ndarray) -> np.ndarray:
        spec = TRANSFORMS[self.transform]
        values = np.asarray(output, dtype=np.float64)
        if spec.fitted:
            values = values * self.std + self.mean
        return np.maximum(spec.base_inverse(values), 0.0)  # likes are never negative

    def to_json(self) -> dict[str, Any]:
        return {"transform": self.transform, "mean": self.mean, "std": self.std}


def likes_distribution(likes: np.ndarray) -> dict[str, Any]:
    """Summary of training likes, with the 101 percentiles that map a prediction."""
    likes = np.asarray(likes, dtype=np.float64)
    return {
        "n": int(likes.size),
        "min": float(likes.min()),
        "max": float(likes.max()),
        "mean": float(likes.mean()),
        "median": float(np.median(likes)),
        "std": float(likes.std()),
        "percentiles": [float(v) for v in np.percentile(likes, np.arange(101))],
    }


def percentile_of(predictions: np.ndarray, percentiles: list[float]) -> np.ndarray:
    """Where each prediction falls among the training likes, 0-100.

    Midpoint of the ties, so a prediction equal to the median reads 50 even
    when many training posts share that like count.
    """
    grid = np.asarray(percentiles, dtype=np.float64)
    x = np.asarray(predictions, dtype=np.float64)
    low = np.searchsorted(grid, x, side="left")
    high = np.searchsorted(grid, x, side="right")
    rank = (low + high) / 2  # at a training like (or a run of equal ones): their middle
    # Between two training likes: linearly between their middles, so that different
    # predictions get different percentiles (not one step for the whole gap).
    between = (low == high) & (low > 0) & (low < len(grid))
    left = np.clip(low - 1, 0, len(grid) - 1)
    right = np.clip(low, 0, len(grid) - 1)
    gap = np.where(between, grid[right] - grid[left], 1.0)
    rank = np.where(between, low - 0.5 + (x - grid[left]) / np.where(gap > 0, gap, 1.0), rank)
    return np.clip(rank / (len(grid) - 1) * 100.0, 0.0, 100.0)


@dataclass
class ModelCard:
    """The card: one typed structure, written by the trainer and read by every reader.

    The fields the scorer needs are typed; the sections that describe how the
    model was made (training options, metrics, cost) are kept as JSON objects.
    ``to_json`` and ``from_json`` are the only place its layout is spelled.
    """

    sha256: str
    height: int
    width: int
    target: Target
    likes: dict[str, Any]  # the training likes: n, min, max, mean, median, std, percentiles
    model_file: str = ""
    size_bytes: int = 0
    channels: int = 3
    channel_order: str = "RGB"
    resize: str = RESIZE
    pixel_scale: float = 1.0 / 255.0
    pixel_offset: float = 0.0
    quantization: str = QUANTIZATION
    parameters: int | None = None
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    expected_quality: dict[str, Any] | None = None
    cost: dict[str, Any] | None = None
    detrend: dict[str, Any] | None = None
    # Per runtime, the fast kernels measured against the built-in ones at export:
    # fast_spearman, fast_max_diff_likes, int8_max_diff_likes (int8 against float), faster,
    # ms_fast, ms_exact, photos (scorer.model.runtime's rule reads them); older cards:
    # fast_max_steps (largest output difference in int8 steps) in place of the first three.
    kernels: dict[str, Any] | None = None
    note: str = ""
    trainer_version: str = "?"
    created_at: str = "?"
    card_version: int = CARD_VERSION
    path: Path | None = None  # where it was read from (not written)

    @property
    def model_id(self) -> str:
        return self.sha256[:12]

    @property
    def percentiles(self) -> list[float]:
        return [float(v) for v in self.likes["percentiles"]]

    @property
    def measured_spearman(self) -> float | None:
        """The int8 Spearman it was measured at: cross-validated, else on a hold-out split."""
        if self.expected_quality:
            return float(self.expected_quality["spearman"]["mean"])
        int8 = self.metrics.get("validation", {}).get("int8")
        return float(int8["spearman"]) if int8 else None

    # The typed sections (scorer/model/sections.py), read from the JSON objects above.
    @property
    def quality(self) -> Quality | None:
        return Quality.from_json(self.expected_quality)

    @property
    def running_cost(self) -> Cost | None:
        return Cost.from_json(self.cost)

    @property
    def kernel_figures(self) -> dict[str, KernelFigures]:
        return {runtime: KernelFigures.from_json(measured)
                for runtime, measured in (self.kernels or {}).items()}

    @property
    def backbone(self) -> Backbone | None:
        return Backbone.from_json(self.training.get("backbone"))

    @property
    def distillation(self) -> Distillation | None:
        return Distillation.from_json(self.training.get("distilled_from"))

    @property
    def validation(self) -> Validation | None:
        return Validation.from_json(self.metrics.get("validation"))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "card_version": self.card_version,
            "model_file": self.model_file,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "quantization": self.quantization,
            "input": {"height": self.height, "width": self.width, "channels": self.channels,
                      "channel_order": self.channel_order, "resize": self.resize,
                      "pixel_scaling": {"scale": self.pixel_scale, "offset": self.pixel_offset}},
            "target": self.target.to_json(),
            "likes_distribution": self.likes,
            "training": self.training,
            "metrics": self.metrics,
        }
        optional = {"parameters": self.parameters, "expected_quality": self.expected_quality,
                    "cost": self.cost, "detrend": self.detrend, "kernels": self.kernels,
                    "note": self.note}
        data.update({key: value for key, value in optional.items() if value})
        data.update(trainer_version=self.trainer_version, created_at=self.created_at)
        return data

    @classmethod
    def from_json(cls, raw: Any, path: Path) -> ModelCard:
        """Validate a card's JSON; ModelError naming ``path`` when it is unusable."""
        if not isinstance(raw, dict):
            raise ModelError(f"{path}: malformed model card (not a JSON object)")
        version = raw.get("card_version", raw.get("schema", 1))
        if not isinstance(version, int):
            raise ModelError(f"{path}: malformed model card (card_version {version!r})")
        if version > CARD_VERSION:
            raise ModelError(f"{path}: card version {version} is from a newer trainer (this spe "
                             f"reads up to {CARD_VERSION}): upgrade spe")
        try:
            inp, target = raw["input"], raw["target"]
            if target["transform"] not in TARGET_TRANSFORMS:
                raise ValueError(f"unknown target transform {target['transform']!r}")
            card = cls(
                sha256=str(raw["sha256"]).lower(), height=int(inp["height"]),
                width=int(inp["width"]), channels=int(inp["channels"]),
                channel_order=str(inp["channel_order"]), resize=str(inp.get("resize", RESIZE)),
                pixel_scale=float(inp["pixel_scaling"]["scale"]),
                pixel_offset=float(inp["pixel_scaling"]["offset"]),
                target=Target(str(target["transform"]), float(target.get("mean", 0.0)),
                              float(target.get("std", 1.0))),
                likes=dict(raw["likes_distribution"]),
                model_file=str(raw.get("model_file", "")), size_bytes=int(raw.get("size_bytes", 0)),
                quantization=str(raw.get("quantization", QUANTIZATION)),
                parameters=raw.get("parameters"), training=dict(raw.get("training", {})),
                metrics=dict(raw.get("metrics", {})), expected_quality=raw.get("expected_quality"),
                cost=raw.get("cost"), detrend=raw.get("detrend"), kernels=raw.get("kernels"),
                note=str(raw.get("note", "")),
                trainer_version=str(raw.get("trainer_version", "?")),
                created_at=str(raw.get("created_at", "?")), card_version=version, path=path)
            percentiles = card.percentiles
        except (KeyError, TypeError, ValueError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            raise ModelError(f"{path}: malformed model card ({reason})") from None
        problem = _section_problem(raw) or _typed_problem(card)
        if problem:
            raise ModelError(f"{path}: malformed model card ({problem})")
        if card.channel_order != "RGB" or card.channels != 3:
            raise ModelError(f"{path}: unsupported input {card.channels} channels "
                             f"{card.channel_order}")
        if card.height != card.width or card.height <= 0:
            raise ModelError(f"{path}: input must be square, got {card.height}x{card.width}")
        problem = _numbers_problem(card, percentiles)
        if problem:
            raise ModelError(f"{path}: malformed model card ({problem})")
        return card


MAX_INPUT_SIDE = 4096  # pixels: no model of this project comes near it


def _numbers_problem(card: ModelCard, percentiles: list[float]) -> str:
    """The numbers every prediction goes through must be finite and in range: a NaN
    scale gave rows of nan likes marked ok, unsorted percentiles wrong percentiles."""
    if card.height > MAX_INPUT_SIDE:
        return f"input side {card.height} is beyond {MAX_INPUT_SIDE} pixels"
    checks = {"input.pixel_scaling.scale": (card.pixel_scale, card.pixel_scale > 0),
              "input.pixel_scaling.offset": (card.pixel_offset, True),
              "target.mean": (card.target.mean, True),
              "target.std": (card.target.std, card.target.std > 0)}
    for name, (value, in_range) in checks.items():
        if not math.isfinite(value) or not in_range:
            return f"{name} is {value!r}, not a finite number in range"
    if len(percentiles) != 101 or not all(math.isfinite(v) for v in percentiles):
        return "likes_distribution.percentiles must hold 101 finite numbers"
    if any(b < a for a, b in zip(percentiles, percentiles[1:], strict=False)):
        return "likes_distribution.percentiles are not in increasing order"
    return ""


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(
        value)


def _section_problem(raw: dict[str, Any]) -> str:
    """What is wrong with the card's optional sections, which readers use (the runtime
    choice, `spe info`, the rank page); "" when they are of the schema's shape."""
    for name in ("kernels", "cost", "expected_quality", "detrend"):
        if raw.get(name) is not None and not isinstance(raw[name], dict):
            return f"{name} is not an object"
    for runtime, measured in (raw.get("kernels") or {}).items():
        if not isinstance(measured, dict):
            return f"kernels.{runtime} is not an object"
        for key in ("fast_max_steps", "ms_fast", "ms_exact", "photos", "fast_spearman",
                    "fast_max_diff_likes", "int8_max_diff_likes"):
            if key in measured and not _number(measured[key]):
                return f"kernels.{runtime}.{key} is not a number"
        if "faster" in measured and not isinstance(measured["faster"], bool):
            return f"kernels.{runtime}.faster is not true or false"
    timings = (raw.get("cost") or {}).get("ms_per_photo_one_thread", {})
    if not isinstance(timings, dict) or not all(_number(v) for v in timings.values()):
        return "cost.ms_per_photo_one_thread is not an object of numbers"
    quality = raw.get("expected_quality")
    if quality is not None:
        spearman = quality.get("spearman")
        if not (isinstance(spearman, dict) and _number(spearman.get("mean"))
                and _number(spearman.get("std", 0.0))):
            return "expected_quality.spearman is not {mean, std}"
    return ""


def _typed_problem(card: ModelCard) -> str:
    """Every section must read as its dataclass: a reader never meets a shape it cannot show."""
    try:
        card.quality, card.running_cost, card.kernel_figures  # noqa: B018
        card.backbone, card.distillation, card.validation  # noqa: B018
    except (TypeError, ValueError, AttributeError) as exc:
        return f"a section does not read: {type(exc).__name__}: {exc}"
    return ""


def card_path_for(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def read_card(model_path: Path) -> ModelCard:
    """Load and validate the card beside ``model_path``; ModelError when unusable."""
    path = card_path_for(model_path)
    data = read_model_file(path, MAX_CARD_BYTES, "model card", missing=(
        "model card missing (every .tflite needs its .json)"))
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: unreadable model card ({exc})") from None
    except RecursionError:
        raise ModelError(f"{path}: malformed model card (nested too deeply)") from None
    return ModelCard.from_json(raw, path)


MAX_CARD_BYTES = 16 * 2**20  # a card is about 100 KB
MAX_MODEL_BYTES = 512 * 2**20  # a .tflite of this project is about 1 MB


def read_model_file(path: Path, limit: int, what: str, missing: str = "") -> bytes:
    """A model's or a card's bytes; ModelError with one line when it is missing, not a
    regular file (a FIFO there would block the daemon's loop past its watchdog), larger
    than ``limit`` or unreadable."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ModelError(f"{path}: {missing or 'no such ' + what + ' file'}") from None
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the {what} ({os_reason(exc)})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ModelError(f"{path}: not a regular file, refused as the {what}")
        if info.st_size > limit:
            raise ModelError(f"{path}: {info.st_size:,} bytes, more than a {what} can be "
                             f"({limit:,})")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(limit + 1)[:limit]
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the {what} ({os_reason(exc)})") from None
    finally:
        os.close(fd)


def write_card(model_path: Path, card: ModelCard) -> None:
    """Write the card beside ``model_path`` whole (a temporary name, then a rename)."""
    write_file(card_path_for(model_path),
               (json.dumps(card.to_json(), indent=2) + "\n").encode("utf-8"))
