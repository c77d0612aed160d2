"""The networks, by name: the original notebook's CNN, kept exactly, and a compact variant."""

from __future__ import annotations

import keras
from keras import layers

ARCHITECTURES = ("notebook", "compact")


def build_model(architecture: str = "notebook", size: int = 64) -> keras.Model:
    """A regression CNN on RGB pixels scaled to 0..1 (the card's pixel scaling).

    notebook: Conv 32, pool, Conv 64, pool, Dense 128, dropout 0.2, one linear
    output: 1,625,281 parameters at 64x64x3, as in the original notebook. Its
    Dense layer grows with the input: 4.3 M parameters at 96, 7.7 M at 128.

    compact: three conv blocks with batch normalisation and a 4x4 average pool
    before the dense head, so the size barely depends on the input (about
    0.3 M parameters, under 0.4 MB as int8) and it stays fast on a Pi; the
    pooled grid keeps coarse layout (a face in the middle, left against right).
    """
    if architecture == "notebook":
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
            name="notebook",
        )
    if architecture == "compact":
        inputs = keras.Input((size, size, 3))
        x = inputs
        for filters in (32, 64, 128):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            # momentum 0.9, not 0.99: with a few hundred photos an epoch is a few
            # dozen steps, and the slow default leaves the inference statistics
            # (what validation and the export see) lagging for many epochs.
            x = layers.BatchNormalization(momentum=0.9)(x)
            x = layers.ReLU()(x)
            x = layers.MaxPooling2D(2)(x)
        # Whatever the input size, pool down to a 4x4 grid of 128 features.
        pool = max(1, (size // 8) // 4)
        x = layers.AveragePooling2D(pool)(x)
        x = layers.Flatten()(x)
        x = layers.Dense(64, activation="relu")(x)
        x = layers.Dropout(0.2)(x)
        outputs = layers.Dense(1)(x)
        return keras.Model(inputs, outputs, name="compact")
    raise ValueError(f"unknown architecture {architecture!r}: choose {', '.join(ARCHITECTURES)}")
