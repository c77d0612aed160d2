"""A ridge regression on a pretrained backbone's pooled activations, and the one Keras
graph (backbone cut, pooling, head) that is exported for the scorer.

The features are centred and divided by one common scale before the ridge (not
by each channel's own spread: on CLIVE that ranked as well, 0.729 against 0.725
cross-validated, and it keeps the exported weights within a narrow range, which
an int8 dense layer with one scale for all its weights needs: the largest weight
is 7 times the median instead of 35). The centring and scale are folded into
the exported dense layer: the scorer runs one graph from uint8 pixels to the
target.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from trainer.core.narrator import phase
from trainer.core.recipe import GRID_CELLS, PIXEL_SCALE, POOLING
from trainer.networks.backbone import Backbone
from trainer.networks.predict import batch_for

# Ridge strengths tried by leave-one-out (generalised cross-validation: one fit for all).
RIDGE_ALPHAS = np.logspace(-4, 5, 37)


def pooled_extractor(backbone: Backbone, size: int, weights: dict[str, np.ndarray],
                     layers: Sequence[str], pooling: str = POOLING) -> Any:
    """pixels in [0, 1] -> the named layers' activations, each averaged over the image,
    side by side; with ``grid`` pooling also over each cell of a GRID_CELLS grid (a
    layer too small for the grid gives its own cells)."""
    import keras

    cut = backbone.build(size, weights, list(layers))
    outputs = cut.outputs if isinstance(cut.outputs, list) else [cut.outputs]
    pooled = [keras.layers.GlobalAveragePooling2D(name=f"pool_{i}")(o)
              for i, o in enumerate(outputs)]
    if pooling == "grid":
        for i, o in enumerate(outputs):
            side = max(1, int(o.shape[1]) // GRID_CELLS)
            cells = keras.layers.AveragePooling2D(side, strides=side, name=f"grid_{i}")(o)
            pooled.append(keras.layers.Flatten(name=f"grid_flat_{i}")(cells))
    features = pooled[0] if len(pooled) == 1 else keras.layers.Concatenate(
        name="features")(pooled)
    return keras.Model(cut.input, features, name=f"{cut.name}_pooled")


def extract(extractor: Any, pixels: np.ndarray, echo: Callable[[str], None]) -> np.ndarray:
    """The pooled features of uint8 photos, in batches, saying how long it took."""
    started = time.perf_counter()
    batch = batch_for(pixels)
    starts = range(0, len(pixels), batch)
    features = None
    with phase(echo, "features", len(starts)) as progress:
        for i in starts:
            part = np.asarray(extractor(pixels[i:i + batch].astype(np.float32) * PIXEL_SCALE,
                                        training=False))
            if features is None:  # filled in place: a list of parts held them twice
                features = np.empty((len(pixels), part.shape[1]), np.float64)
            features[i:i + len(part)] = part
            progress.step()
    assert features is not None
    echo(f"features: {features.shape[1]} pooled activations per photo, {len(pixels)} photos "
         f"in {time.perf_counter() - started:.1f} s")
    return features


@dataclass(frozen=True)
class RidgeHead:
    """target ~ coef . (features - mean) / scale + intercept, its strength chosen by
    leave-one-out on the photos it is fitted to; ``scale`` is one number for all."""

    coef: np.ndarray
    intercept: float
    mean: np.ndarray
    scale: float
    alpha: float

    @classmethod
    def fit(cls, features: np.ndarray, targets: np.ndarray) -> RidgeHead:
        from sklearn.linear_model import RidgeCV

        mean = features.mean(axis=0)
        scale = float((features - mean).std()) or 1.0
        ridge = RidgeCV(alphas=RIDGE_ALPHAS).fit((features - mean) / scale, targets)
        return cls(ridge.coef_, float(ridge.intercept_), mean, scale, float(ridge.alpha_))

    def folded(self) -> tuple[np.ndarray, float]:
        """(weights, bias) on the raw features: the standardisation folded in."""
        weights = self.coef / self.scale
        return weights, float(self.intercept - np.dot(weights, self.mean))

    def predict(self, features: np.ndarray) -> np.ndarray:
        weights, bias = self.folded()
        return features @ weights + bias


def scoring_model(extractor: Any, head: RidgeHead) -> Any:
    """One graph: pixels in [0, 1] -> backbone -> pooled features -> the head's output."""
    import keras

    dense = keras.layers.Dense(1, name="ridge_head")
    output = dense(extractor.output)
    weights, bias = head.folded()
    dense.set_weights([weights[:, None].astype(np.float32), np.array([bias], np.float32)])
    return keras.Model(extractor.input, output, name="backbone_ridge")
