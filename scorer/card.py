"""The model card: the JSON file beside every ``NAME.tflite``.

The trainer writes it and the scorer reads it; both go through this module so
there is one schema. It says how to feed the model (input size, channel order,
pixel scaling), how to read its output (target transform), and where a
prediction falls among the training likes (percentile).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelError

# The card's format. 1: the first trainer's ("schema"); 2: adds expected_quality,
# cost and cross-validation (readers of 1 ignore them). A card of a higher
# version than this scorer knows is refused with a clear line, not misread.
CARD_VERSION = 2
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
    low = np.searchsorted(grid, predictions, side="left")
    high = np.searchsorted(grid, predictions, side="right")
    return np.clip((low + high) / 2 / (len(grid) - 1) * 100.0, 0.0, 100.0)


@dataclass(frozen=True)
class ModelCard:
    path: Path
    sha256: str
    height: int
    width: int
    channels: int
    channel_order: str
    pixel_scale: float
    pixel_offset: float
    target: Target
    percentiles: list[float]
    raw: dict[str, Any]

    @property
    def model_id(self) -> str:
        return self.sha256[:12]


def card_path_for(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def read_card(model_path: Path) -> ModelCard:
    """Load and validate the card beside ``model_path``; ModelError when unusable."""
    path = card_path_for(model_path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: model card missing (every .tflite needs its .json)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: unreadable model card ({exc})") from None
    version = raw.get("card_version", raw.get("schema", 1)) if isinstance(raw, dict) else 1
    if isinstance(version, int) and version > CARD_VERSION:
        raise ModelError(f"{path}: card version {version} is from a newer trainer (this spe "
                         f"reads up to {CARD_VERSION}): upgrade spe")
    try:
        inp = raw["input"]
        target = raw["target"]
        if target["transform"] not in TARGET_TRANSFORMS:
            raise ValueError(f"unknown target transform {target['transform']!r}")
        percentiles = [float(v) for v in raw["likes_distribution"]["percentiles"]]
        card = ModelCard(
            path=path,
            sha256=str(raw["sha256"]).lower(),
            height=int(inp["height"]),
            width=int(inp["width"]),
            channels=int(inp["channels"]),
            channel_order=str(inp["channel_order"]),
            pixel_scale=float(inp["pixel_scaling"]["scale"]),
            pixel_offset=float(inp["pixel_scaling"]["offset"]),
            target=Target(str(target["transform"]), float(target.get("mean", 0.0)),
                          float(target.get("std", 1.0))),
            percentiles=percentiles,
            raw=raw,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{path}: malformed model card ({type(exc).__name__}: {exc})") from None
    if card.channel_order != "RGB" or card.channels != 3:
        raise ModelError(f"{path}: unsupported input {card.channels} channels {card.channel_order}")
    if card.height != card.width or card.height <= 0:
        raise ModelError(f"{path}: input must be square, got {card.height}x{card.width}")
    if len(percentiles) != 101 or any(math.isnan(v) for v in percentiles):
        raise ModelError(f"{path}: likes_distribution.percentiles must hold 101 numbers")
    return card
