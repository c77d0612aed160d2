"""Custom Keras layers of the networks, registered so a saved .keras model loads again."""

from __future__ import annotations

import keras
from keras import layers


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



@keras.saving.register_keras_serializable(package="spe")
class MirrorImage(layers.Layer):
    """The photo mirrored left to right (REVERSE_V2 in TFLite, exact in int8)."""

    def call(self, x):
        return keras.ops.flip(x, axis=2)


@keras.saving.register_keras_serializable(package="spe")
class ImageStatistics(layers.Layer):
    """Eight numbers on six statistics of the photo, like the ridge baseline's.

    The baseline's are in trainer/fitting/baselines.py.

    Brightness (mean grey), contrast (variance of grey), colourfulness (the
    variances and mean magnitudes of the red-green and yellow-blue opponent
    channels), saturation (mean of max - min over the channels), sharpness
    (variance of the Laplacian) and asymmetry (mean difference from the mirror
    image). Written only with ops that stay exact in int8 TFLite: no square
    root, logarithm or division (the baseline's own formulas use them), and
    the absolute difference as two ReLU halves (int8 ABS is wrong, see
    MirrorDifference). A network fed these starts where the ridge baseline is.
    """

    def call(self, x):
        ops = keras.ops
        grey = 0.299 * x[..., 0:1] + 0.587 * x[..., 1:2] + 0.114 * x[..., 2:3]
        rg = x[..., 0:1] - x[..., 1:2]
        yb = 0.5 * (x[..., 0:1] + x[..., 1:2]) - x[..., 2:3]

        def mean(t):
            return ops.mean(t, axis=(1, 2))

        def variance(t):
            return mean(ops.square(t - ops.mean(t, axis=(1, 2), keepdims=True)))

        laplacian = (grey[:, 1:-1, 1:-1] * 4.0 - grey[:, :-2, 1:-1] - grey[:, 2:, 1:-1]
                     - grey[:, 1:-1, :-2] - grey[:, 1:-1, 2:])
        mirror = ops.flip(grey, axis=2)
        asymmetry = mean(ops.relu(grey - mirror) + ops.relu(mirror - grey))
        saturation = mean(ops.max(x, axis=-1, keepdims=True) - ops.min(x, axis=-1, keepdims=True))
        # Each scaled to about 0..1 on photos: int8 puts the eight on one scale,
        # and a variance of 0.001 would otherwise be a step or two of it.
        opponent = mean(ops.relu(rg) + ops.relu(-rg)) + mean(ops.relu(yb) + ops.relu(-yb))
        return ops.concatenate([mean(grey), 10.0 * variance(grey), 5.0 * variance(rg),
                                8.0 * variance(yb), opponent, saturation,
                                50.0 * variance(laplacian), 3.0 * asymmetry], axis=-1)
