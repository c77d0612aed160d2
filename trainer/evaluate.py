"""Metrics of an exported model on any data folder: ``spe-train evaluate``."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from scorer.runtime import Model

from .data import load_dataset, load_pixels
from .metrics import format_table, regression_metrics

BATCH = 64


def evaluate(model_path: str | os.PathLike[str], data_dir: str | os.PathLike[str],
             runtime: str = "auto", echo: Callable[[str], None] = print) -> dict:
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
    echo(f"{model_path} ({model.model_id}, {model.runtime}) on {len(likes)} photos in "
         f"{data_dir} ({dataset.layout} layout)")
    echo(format_table(rows, len(likes)))
    return rows
