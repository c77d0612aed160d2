"""Training-time augmentation: more (and varied) copies of the same few photos.

Applied only while training (inside the tf.data pipeline), never exported.
Each kind is named so a study can switch them on one at a time:

- ``flip``: horizontal mirror. A mirrored photo is as likeable as the original.
- ``rot90``: a random quarter turn, as the notebook's "future work" proposed.
  Photos are posted upright, so this teaches the model sideways pictures.
- ``crop``: a random crop of 85-100% of the side, resized back.
- ``color``: brightness and contrast jitter of up to 10%. It changes exactly the
  properties that may drive likes, so it may blur the signal.
"""

from __future__ import annotations

import tensorflow as tf

AUGMENTATIONS = ("flip", "rot90", "crop", "color")


def parse_augment(text: str) -> tuple[str, ...]:
    """``"flip,crop"`` -> ("flip", "crop"); ``"none"`` or ``""`` -> ()."""
    if text.strip().lower() in ("", "none"):
        return ()
    kinds = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = [k for k in kinds if k not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"unknown augmentation {', '.join(unknown)}: choose from "
                         f"{', '.join(AUGMENTATIONS)} or none")
    return kinds


def augmenter(kinds: tuple[str, ...], size: int, seed: int):
    """A function for ``tf.data.Dataset.map`` on (image in 0..1, target) pairs."""
    rng = tf.random.Generator.from_seed(seed)

    def apply(image, target):
        if "flip" in kinds:
            image = tf.cond(rng.uniform(()) < 0.5, lambda: tf.image.flip_left_right(image),
                            lambda: image)
        if "rot90" in kinds:
            image = tf.image.rot90(image, k=rng.uniform((), 0, 4, dtype=tf.int32))
        if "crop" in kinds:
            side = tf.cast(tf.round(size * rng.uniform((), 0.85, 1.0)), tf.int32)
            top = rng.uniform((), 0, size - side + 1, dtype=tf.int32)
            left = rng.uniform((), 0, size - side + 1, dtype=tf.int32)
            image = tf.image.resize(image[top : top + side, left : left + side], (size, size),
                                    method="area")
        if "color" in kinds:
            image = image * rng.uniform((), 0.9, 1.1)
            mean = tf.reduce_mean(image)
            image = (image - mean) * rng.uniform((), 0.9, 1.1) + mean
            image = tf.clip_by_value(image, 0.0, 1.0)
        return image, target

    return apply
