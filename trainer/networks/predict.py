"""A Keras network's outputs for uint8 pixels: the one way the trainer runs a network
(folds, the checks of an export, distillation), scaled as training scaled them."""

from __future__ import annotations

import numpy as np

from trainer.core import recipe


def predict_raw(model, pixels: np.ndarray, tta: bool = False) -> np.ndarray:
    """The network's outputs for uint8 pixels (averaged with the mirrored photos with tta)."""
    raw = _forward(model, pixels)
    if tta:
        raw = (raw + _forward(model, pixels[:, :, ::-1])) / 2
    return raw.astype(np.float64)


# A batch of 8 photos at 160 px (64 at the 64 px networks'): the backbone's activations of
# 64 photos at 160 px took 2.7 GB, 8 take 0.4 GB, and the photos go through as fast.
BATCH_PIXELS = 8 * 160 * 160
MAX_BATCH = 64


def batch_for(pixels: np.ndarray) -> int:
    """Photos per forward pass for photos of this size."""
    side = pixels.shape[1] * pixels.shape[2] if pixels.ndim == 4 else 1
    return max(1, min(MAX_BATCH, BATCH_PIXELS // max(1, side)))


def _forward(model, pixels: np.ndarray) -> np.ndarray:
    # Batch by batch rather than model.predict, which traces a new tf.function for every
    # new model (folds, members, exports) and warns about it on the person's terminal.
    batch = batch_for(pixels)
    return np.concatenate([
        np.asarray(model(pixels[i:i + batch].astype(np.float32) * recipe.PIXEL_SCALE,
                         training=False)).ravel() for i in range(0, len(pixels), batch)])
