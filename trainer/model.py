"""The networks, by name: the original notebook's CNN, kept exactly, and two variants."""

from __future__ import annotations

import keras
from keras import layers

ARCHITECTURES = ("notebook", "compact", "mirror")


# Registered so that a saved .keras model (the benchmark's) loads again.
@keras.saving.register_keras_serializable(package="spe")
class MirrorDifference(layers.Layer):
    """How the photo differs from its left-right mirror: zero where the halves match.

    Comparing a pixel with the one across the vertical midline is something
    the notebook's network can only learn through its dense layer, one
    position pair at a time; with a few hundred photos it does not (docs/STUDY.md).
    The difference comes as two non-negative halves, relu(photo - mirror) and
    relu(mirror - photo), six channels, not as one absolute value: TFLite's
    int8 ABS (and max(x, -x)) gave wrong values under both runtimes (a
    constant 0.21 where the mean absolute difference was 0.04), while SUB with
    a fused ReLU is exact. It exports as REVERSE_V2, SUB and CONCATENATION.
    """

    def call(self, x):
        mirror = keras.ops.flip(x, axis=2)
        return keras.ops.concatenate([keras.ops.relu(x - mirror), keras.ops.relu(mirror - x)],
                                     axis=-1)


def _notebook_trunk(inputs):
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    return layers.MaxPooling2D(2)(x)


def _notebook_head(features):
    x = layers.Dense(128, activation="relu")(features)
    x = layers.Dropout(0.2)(x)
    return layers.Dense(1)(x)


def build_model(architecture: str = "notebook", size: int = 64) -> keras.Model:
    """A regression CNN on RGB pixels scaled to 0..1 (the card's pixel scaling).

    notebook: Conv 32, pool, Conv 64, pool, Dense 128, dropout 0.2, one linear
    output: 1,625,281 parameters at 64x64x3, as in the original notebook. Its
    Dense layer grows with the input: 4.3 M parameters at 96, 7.7 M at 128.

    compact: three conv blocks with batch normalisation and a 4x4 average pool
    before the dense head, so the size barely depends on the input (about
    0.3 M parameters, under 0.4 MB as int8) and it stays fast on a Pi; the
    pooled grid keeps coarse layout (a face in the middle, left against right).

    mirror: the notebook's network with a second, small branch that looks at
    how the photo differs from its mirror image (MirrorDifference, two
    batch-normalised convolutions, then the average and the maximum of each
    feature over the photo), added into the notebook's dense layer.
    Left-right symmetry is a classic of composition, and one of the image
    statistics of the ridge baseline; the network is free to ignore it.
    1,639,137 parameters at 64x64, 1.6 MB as int8, about a third more
    arithmetic than the notebook's network.
    """
    if architecture == "notebook":
        inputs = keras.Input((size, size, 3))
        outputs = _notebook_head(layers.Flatten()(_notebook_trunk(inputs)))
        return keras.Model(inputs, outputs, name="notebook")
    if architecture == "mirror":
        inputs = keras.Input((size, size, 3))
        # At full resolution: the same branch on a half-resolution photo costs a
        # quarter as much but did worse at 185 photos (STUDY.md).
        d = MirrorDifference()(inputs)
        for filters in (16, 32):
            d = layers.Conv2D(filters, 3, use_bias=False)(d)
            # Normalised, because the differences are small numbers (most of a
            # photo nearly matches its mirror image): without it the branch's
            # features stay tiny beside the notebook's and the dense layer
            # learned to ignore them (STUDY.md). Momentum as in "compact".
            d = layers.BatchNormalization(momentum=0.9)(d)
            d = layers.ReLU()(d)
            if filters == 16:
                d = layers.MaxPooling2D(2)(d)
        pooled = layers.Concatenate()([layers.GlobalAveragePooling2D()(d),
                                       layers.GlobalMaxPooling2D()(d)])
        # One dense layer over both branches, written as the sum of a dense
        # layer on each: the same function, but in int8 each branch keeps its
        # own scale. Concatenated, the notebook's features were quantised on
        # the branch's wider range: 4.6% of the likes' std from the Keras
        # model, against 1.5% this way (STUDY.md).
        # The branch's part starts at the scale a dense layer on the concatenation
        # would have (Glorot over all 12,608 inputs); Keras's default for a 64-input
        # layer starts it 8 times larger, and at 185 photos that overfit
        # (Spearman 0.74 against 0.85, STUDY.md).
        flat = layers.Flatten()(_notebook_trunk(inputs))
        limit = (6.0 / (flat.shape[-1] + pooled.shape[-1] + 128)) ** 0.5
        start = keras.initializers.RandomUniform(-limit, limit)
        hidden = layers.Add()([
            layers.Dense(128)(flat),
            layers.Dense(128, use_bias=False, kernel_initializer=start)(pooled),
        ])
        hidden = layers.Dropout(0.2)(layers.ReLU()(hidden))
        return keras.Model(inputs, layers.Dense(1)(hidden), name="mirror")
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
