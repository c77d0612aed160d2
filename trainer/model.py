"""The network: the original notebook's small CNN, kept exactly, by name."""

from __future__ import annotations

import keras
from keras import layers

ARCHITECTURES = ("notebook",)


def build_model(architecture: str = "notebook", size: int = 64) -> keras.Model:
    """Conv 32, pool, Conv 64, pool, Dense 128, dropout 0.2, one linear output.

    At 64x64x3 that is 1,625,281 parameters, as in the notebook. Input pixels
    are RGB scaled to 0..1 (the card's pixel scaling).
    """
    if architecture != "notebook":
        raise ValueError(f"unknown architecture {architecture!r}: choose {', '.join(ARCHITECTURES)}")
    return keras.Sequential(
        [
            keras.Input((size, size, 3)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.2),
            layers.Dense(1),
        ],
        name=architecture,
    )
