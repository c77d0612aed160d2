"""Metrics of an exported model on any data folder: ``spe-train evaluate``."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from scorer.model.runtime import Model
from trainer.core.metrics import format_table, regression_metrics
from trainer.data.layouts import load_dataset, load_pixels
from trainer.fitting.folds import baseline_folds

BATCH = 64
# The ridge baseline has no training photos here: it is cross-validated on the photos
# evaluated, which is what six image statistics can tell about them.
BASELINE_FOLDS = 3


def evaluate(model_path: str | os.PathLike[str], data_dir: str | os.PathLike[str],
             runtime: str = "auto", echo: Callable[[str], None] = print,
             show: Callable[[str], None] | None = None) -> dict:
    """The metrics; messages go to ``echo`` (stderr), the table, which is the data, to
    ``show`` (stdout; ``echo`` when not given)."""
    model = Model(model_path, runtime=runtime)
    dataset = load_dataset(data_dir)
    pixels = load_pixels(dataset, model.size)
    predicted = np.concatenate([model.predict(pixels[i : i + BATCH])
                                for i in range(0, len(pixels), BATCH)])
    likes = dataset.likes
    training_mean = float(model.card.likes["mean"])
    # Quartiles are those of the training likes, read off the card's percentiles.
    reference = np.asarray(model.card.percentiles)
    rows = {
        "int8": regression_metrics(likes, predicted, reference),
        "mean baseline": regression_metrics(likes, np.full(len(likes), training_mean), reference),
    }
    if len(likes) >= 2 * BASELINE_FOLDS:
        ridge = baseline_folds(pixels, likes, BASELINE_FOLDS, seed=0)["ridge"]
        rows["ridge baseline (cv)"] = regression_metrics(likes, ridge, reference)
    echo(f"{model_path} ({model.model_id}, {model.runtime}) on {len(likes)} photos in "
         f"{data_dir} ({dataset.layout} layout)")
    trained_on = set(model.card.training.get("photo_hashes", []))
    if trained_on:
        width = len(next(iter(trained_on)))
        seen = sum(hashlib.sha256(Path(s.path).read_bytes()).hexdigest()[:width] in trained_on
                   for s in dataset.samples)
        if seen:
            echo(f"warning: {seen} of {len(likes)} photos were among the model's training "
                 "photos: on those the numbers below are not a fair test")
    (show or echo)(format_table(rows, len(likes)))
    echo(f"mean baseline: the training likes' mean for every photo; ridge baseline (cv): a "
         f"ridge regression on six image statistics, {BASELINE_FOLDS}-fold cross-validated on "
         "these photos")
    if trained_on:
        rows["overlap_with_training"] = {"photos": int(seen)}
    return rows

