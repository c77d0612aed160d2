"""Training-time augmentation: more (and varied) copies of the same few photos.

Applied only while training (inside the tf.data pipeline), never exported.
Each kind is named so a study can switch them on one at a time:

- ``flip``: horizontal mirror. A mirrored photo is as likeable as the original.
- ``rot90``: a random quarter turn, as the notebook's "future work" proposed.
  Photos are posted upright, so this teaches the model sideways pictures.
- ``crop``: a random crop of 85-100% of the side, resized back.
- ``shift``: a random move of up to 6% of the side each way (edges mirrored in).
- ``zoom``: a random zoom in or out by up to 10% (out: edges mirrored in).
- ``color``: brightness and contrast jitter of up to 10%. It changes exactly the
  properties that may drive likes, so it may blur the signal.

Together (flip, shift, zoom, color) they are the augmentation measured on the
real-photo check of issue 11.
"""

from __future__ import annotations

import tensorflow as tf

AUGMENTATIONS = ("flip", "rot90", "crop", "shift", "zoom", "color")
SHIFT = 0.06
ZOOM = 0.10


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
        if "shift" in kinds or "zoom" in kinds:
            image = _shift_and_zoom(image, rng, size, SHIFT if "shift" in kinds else 0.0,
                                    ZOOM if "zoom" in kinds else 0.0)
        if "color" in kinds:
            image = image * rng.uniform((), 0.9, 1.1)
            mean = tf.reduce_mean(image)
            image = (image - mean) * rng.uniform((), 0.9, 1.1) + mean
            image = tf.clip_by_value(image, 0.0, 1.0)
        return image, target

    return apply


def _shift_and_zoom(image, rng, size: int, shift: float, zoom: float):
    """Mirror-pad, then crop a window of a random side and place, and resize back."""
    pad = int(round(size * (shift + zoom))) + 1
    padded = tf.pad(image, [[pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
    side = tf.cast(tf.round(size * rng.uniform((), 1.0 - zoom, 1.0 + zoom)), tf.int32)
    max_move = int(round(size * shift))
    centre = pad + size // 2
    top = centre - side // 2 + rng.uniform((), -max_move, max_move + 1, dtype=tf.int32)
    left = centre - side // 2 + rng.uniform((), -max_move, max_move + 1, dtype=tf.int32)
    window = padded[top : top + side, left : left + side]
    return tf.image.resize(window, (size, size), method="area")
