"""The model card as the trainer writes it (the scorer reads it through scorer.card)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from scorer.card import CARD_VERSION, Target, card_path_for, likes_distribution

from . import __version__
from .recipe import LEARNING_RATE, PIXEL_SCALE, FitOptions


def build_card(out: Path, tflite: bytes, target: Target, train_likes: np.ndarray,
               options: FitOptions, dataset, epochs: int) -> dict:
    """Everything the scorer needs, and how the model was made; no absolute path."""
    training = {**asdict(options), "augment": list(options.augment),
                "optimizer": (f"AdamW(learning_rate={LEARNING_RATE}, weight_decay="
                              f"{options.weight_decay})" if options.weight_decay
                              else f"Adam(learning_rate={LEARNING_RATE})"),
                "loss": "mean squared error", "epochs_run": int(epochs),
                "train_photos": int(len(train_likes))}
    if dataset is not None:
        # The folder's own name only: a full path would publish the trainer's
        # home folder and user name with every model.
        training.update(data=Path(dataset.folder).name, layout=dataset.layout,
                        photos=len(dataset.samples), skipped=dict(dataset.skipped))
    return {
        "card_version": CARD_VERSION,
        "model_file": out.name,
        "sha256": hashlib.sha256(tflite).hexdigest(),
        "size_bytes": len(tflite),
        "quantization": "full-integer int8 (weights, activations, input, output)",
        "input": {
            "height": options.img_size,
            "width": options.img_size,
            "channels": 3,
            "channel_order": "RGB",
            "resize": "squash to square, cv2.INTER_AREA, EXIF orientation applied",
            "pixel_scaling": {"scale": PIXEL_SCALE, "offset": 0.0},
        },
        "target": target.to_json(),
        "likes_distribution": likes_distribution(train_likes),
        "training": training,
        "trainer_version": __version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def read_previous_quality(model_path: Path) -> float | None:
    """The int8 Spearman the model at ``model_path`` was measured at, if there is one.

    Its cross-validated figure where the card has one, else its hold-out
    figure (cards from before cross-validation). None when nothing is there or
    the card says nothing usable: then there is nothing to protect.
    """
    if not model_path.exists():
        return None
    try:
        card = json.loads(card_path_for(model_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for path in (("expected_quality", "spearman", "mean"),
                 ("metrics", "validation", "int8", "spearman")):
        value = card
        try:
            for key in path:
                value = value[key]
            return float(value)
        except (KeyError, TypeError, ValueError):
            continue
    return None
