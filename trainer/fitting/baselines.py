"""Baselines a CNN has to beat to be worth its weight.

- mean: predict the training photos' average likes for every photo.
- ridge: a ridge regression on six simple statistics of the same 64x64 pixels
  the CNN sees (brightness, contrast, colourfulness, saturation, sharpness,
  symmetry), fitted on log1p(likes) because likes are heavy-tailed.
"""

from __future__ import annotations

import cv2
import numpy as np

FEATURES = ("brightness", "contrast", "colourfulness", "saturation", "sharpness", "symmetry")


def image_statistics(pixels: np.ndarray) -> np.ndarray:
    """``(n, 6)`` statistics of RGB uint8 images, in the order of FEATURES."""
    rows = []
    for image in pixels:
        rgb = image.astype(np.float64) / 255.0
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float64) / 255.0
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        rg, yb = r - g, 0.5 * (r + g) - b
        # Hasler and Suesstrunk's colourfulness metric.
        colourfulness = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
        saturation = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)[..., 1].mean() / 255.0
        sharpness = np.log1p(cv2.Laplacian(grey, cv2.CV_64F).var() * 1e3)
        symmetry = 1.0 - np.abs(grey - grey[:, ::-1]).mean()
        rows.append([grey.mean(), grey.std(), colourfulness, saturation, sharpness, symmetry])
    return np.asarray(rows)


class MeanBaseline:
    name = "mean"

    def fit(self, pixels: np.ndarray, likes: np.ndarray) -> MeanBaseline:
        self.value = float(np.mean(likes))
        return self

    def predict(self, pixels: np.ndarray) -> np.ndarray:
        return np.full(len(pixels), self.value)


class RidgeBaseline:
    name = "ridge"

    def fit(self, pixels: np.ndarray, likes: np.ndarray) -> RidgeBaseline:
        from sklearn.linear_model import RidgeCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))
        self.model.fit(image_statistics(pixels), np.log1p(likes))
        return self

    def predict(self, pixels: np.ndarray) -> np.ndarray:
        return np.maximum(np.expm1(self.model.predict(image_statistics(pixels))), 0.0)
