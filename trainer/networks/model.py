"""The networks, by name: one table (NETWORKS) from a name to its builder and description.

Adding a network is adding an entry; the CLI's help and validation read the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Keras is imported inside the builders: the CLI reads this table for its help
# and validation, and `spe-train --help` must not wait for TensorFlow.



def _notebook_trunk(inputs):
    from keras import layers

    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    return layers.MaxPooling2D(2)(x)


def _notebook_head(features):
    from keras import layers

    x = layers.Dense(128, activation="relu")(features)
    x = layers.Dropout(0.2)(x)
    return layers.Dense(1)(x)


def _notebook(size: int) -> Any:
    import keras
    from keras import layers

    inputs = keras.Input((size, size, 3))
    outputs = _notebook_head(layers.Flatten()(_notebook_trunk(inputs)))
    return keras.Model(inputs, outputs, name="notebook")


def _mirror(size: int) -> Any:
    import keras
    from keras import layers

    inputs = keras.Input((size, size, 3))
    # At full resolution: the same branch on a half-resolution photo costs a
    # quarter as much but did worse at 185 photos (STUDY.md).
    from trainer.networks.layers import MirrorDifference

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


def _compact(size: int) -> Any:
    import keras
    from keras import layers

    inputs = keras.Input((size, size, 3))
    x = inputs
    for filters in (32, 64, 128):
        x = _conv_bn_relu(x, filters)
        x = layers.MaxPooling2D(2)(x)
    # Whatever the input size, pool down to a 4x4 grid of 128 features.
    pool = max(1, (size // 8) // 4)
    x = layers.AveragePooling2D(pool)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    return keras.Model(inputs, layers.Dense(1)(x), name="compact")


def _conv_bn_relu(x, filters: int):
    from keras import layers

    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    # momentum 0.9, not 0.99: with a few hundred photos an epoch is a few
    # dozen steps, and the slow default leaves the inference statistics
    # (what validation and the export see) lagging for many epochs.
    x = layers.BatchNormalization(momentum=0.9)(x)
    return layers.ReLU()(x)


def _deep(widths: tuple[int, ...], name: str, statistics: bool = False,
          grid: bool = False) -> Callable[[int], Any]:
    """Blocks of two 3x3 conv + BN + ReLU, a max-pool after each, global average pooling.

    Global pooling makes the head tiny and the size independent of the input;
    what a photo is made of counts, not at which pixel (the notebook's dense
    layer on 12,544 positions is most of its 1.6 M parameters and overfits).
    With ``statistics``, the photo's image statistics (ImageStatistics, the
    ridge baseline's kind) feed the output too, scaled by their training mean
    and spread: a dense layer on each part, summed (the same function as one
    dense layer on both, but in int8 each part keeps its own scale, as in the
    mirror network), started at the ridge regression's solution.
    """
    def build(size: int) -> Any:
        import keras
        from keras import layers

        inputs = keras.Input((size, size, 3))
        x = inputs
        for filters in widths:
            x = _conv_bn_relu(_conv_bn_relu(x, filters), filters)
            x = layers.MaxPooling2D(2)(x)
        pooled = layers.GlobalAveragePooling2D()(x)
        if grid:
            # Where things are, coarsely: a 4x4 grid of 16 features beside the pooled
            # ones (global pooling alone cannot see a subject's placement).
            cells = layers.Conv2D(16, 1, activation="relu")(x)
            cells = layers.AveragePooling2D(max(1, x.shape[1] // 4))(cells)
            pooled = layers.Concatenate()([pooled, layers.Flatten()(cells)])
        x = layers.Dropout(0.3)(pooled)
        if not statistics:
            return keras.Model(inputs, layers.Dense(1)(x), name=name)
        from trainer.networks.layers import ImageStatistics

        # The statistics' own linear part starts as the ridge regression on them
        # (trainer/fitting/ridge_start.py sets it before training) and the convolutional
        # part at zero, so training starts exactly where the ridge baseline is.
        stats = ImageStatistics(name=STATISTICS)(inputs)
        stats = layers.Normalization(name=STATISTICS_SCALED)(stats)
        output = layers.Add()([layers.Dense(1, kernel_initializer="zeros")(x),
                               layers.Dense(1, name=STATISTICS_OUT)(stats)])
        return keras.Model(inputs, output, name=name)

    return build


# Layer names of the statistics branch (trainer/fitting/ridge_start.py finds them by name).
STATISTICS, STATISTICS_SCALED, STATISTICS_OUT = "image_statistics", "statistics_scaled", \
    "statistics_out"


@dataclass(frozen=True)
class Network:
    build: Callable[[int], Any]  # input side -> an uncompiled keras.Model
    description: str


NETWORKS: dict[str, Network] = {
    "notebook": Network(_notebook, "the original: Conv 32, pool, Conv 64, pool, Dense 128, "
                        "dropout 0.2 (1,625,281 parameters at 64x64)"),
    "mirror": Network(_mirror, "the notebook's plus a branch on the photo's difference from "
                      "its mirror image (1,639,137 parameters)"),
    "compact": Network(_compact, "three conv+BN blocks, a 4x4 pooled grid, Dense 64 (0.2 M)"),
    "deep": Network(_deep((32, 64, 96, 128), "deep"),
                    "four blocks of two conv+BN (32, 64, 96, 128), global average pooling, "
                    "dropout 0.3 (0.46 M)"),
    "deep-stats": Network(_deep((32, 64, 96, 128), "deep-stats", statistics=True),
                          "deep, plus eight image statistics (brightness, contrast, colour, "
                          "saturation, sharpness, symmetry) in a linear part that starts as "
                          "their ridge regression (0.46 M)"),
    "deep-grid": Network(_deep((32, 64, 96, 128), "deep-grid", grid=True),
                         "deep, plus a coarse 4x4 grid of 16 features beside its global "
                         "pooling, so that placement is visible (0.47 M)"),
    "deep-small": Network(_deep((16, 32, 48, 64), "deep-small"),
                          "as deep at half the width (16, 32, 48, 64): a quarter of the "
                          "arithmetic (0.12 M)"),
}
ARCHITECTURES = tuple(NETWORKS)


def build_model(architecture: str, size: int) -> Any:
    """A regression CNN on RGB pixels scaled to 0..1 (the card's pixel scaling).

    notebook: as in the original notebook. Its Dense layer grows with the
    input: 4.3 M parameters at 96, 7.7 M at 128.

    compact: batch normalisation and a 4x4 average pool before the dense head,
    so the size barely depends on the input and it stays fast on a Pi; the
    pooled grid keeps coarse layout (a face in the middle, left against right).

    mirror: the notebook's network with a second, small branch that looks at
    how the photo differs from its mirror image (MirrorDifference, two
    batch-normalised convolutions, then the average and the maximum of each
    feature over the photo), added into the notebook's dense layer. Found by
    diagnosing the classic synthetic rule; on real photos it did not help
    (issue 11), so it is no longer the default.

    deep, deep-small: see ``_deep``; "deep" is the network that did best on the
    real-photo check (issue 11).
    """
    if architecture not in NETWORKS:
        raise ValueError(f"unknown architecture {architecture!r}: choose {', '.join(NETWORKS)}")
    return NETWORKS[architecture].build(size)
