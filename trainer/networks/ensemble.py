"""Several trained networks as one Keras graph whose output is their average.

Members are networks of one recipe trained with different seeds; averaging
them cancels much of the noise of any one training (on the real-photo check of
issue 11, three averaged networks gained 0.02 to 0.04 Spearman over the mean
of single ones). Optionally each member also sees the mirrored photo (flip
test-time augmentation). The result is one ordinary graph, exported to int8
and verified like any model, so the scorer does not know it is an ensemble.
"""

from __future__ import annotations

import keras
from keras import layers

from trainer.networks.layers import MirrorImage


def average(members: list[keras.Model], size: int, tta: bool = False) -> keras.Model:
    """One model: the mean of every member's output (on the photo, and its mirror with tta)."""
    inputs = keras.Input((size, size, 3))
    views = [inputs, MirrorImage()(inputs)] if tta else [inputs]
    outputs = []
    for index, member in enumerate(members):
        # A fresh name per member: models trained one after another in separate
        # sessions all call themselves "deep", and names in a graph must differ.
        named = keras.Model(member.inputs[0], member.outputs[0], name=f"member{index + 1}")
        outputs += [named(view) for view in views]
    output = outputs[0] if len(outputs) == 1 else layers.Average()(outputs)
    return keras.Model(inputs, output, name=f"average_of_{len(members)}")
