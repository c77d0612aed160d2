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


def _forward(model, pixels: np.ndarray, batch: int = 64) -> np.ndarray:
    # Batch by batch rather than model.predict, which traces a new tf.function for every
    # new model (folds, members, exports) and warns about it on the person's terminal.
    return np.concatenate([
        np.asarray(model(pixels[i:i + batch].astype(np.float32) * recipe.PIXEL_SCALE,
                         training=False)).ravel() for i in range(0, len(pixels), batch)])
