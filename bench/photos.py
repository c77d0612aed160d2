"""Realistic test photos: 1080x1080 and 1080x1350 JPEGs at quality 90, from real photos.

Flat synthetic colours decode far faster than camera photos, so these are cut
from the real sample photos (public domain and CC0, samples/), scaled up to
phone size, varied by crop, flip and exposure, with sensor-like grain added.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .measure import REPO

SOURCES = ("rocket.jpg", "hubble_deep_field.jpg", "grace_hopper.jpg", "coffee.png", "chelsea.png")
SIZES = ((1080, 1080), (1080, 1350))  # (width, height): square and portrait posts


TWELVE_MP = ((4000, 3000), (3000, 4000))  # a phone camera's own photos, landscape and portrait


def make_photos(folder: Path, n: int, seed: int = 0,
                sizes: tuple[tuple[int, int], ...] = SIZES) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    existing = sorted(folder.glob("photo-*.jpg"))
    if len(existing) >= n:
        return existing[:n]
    rng = np.random.default_rng(seed)
    sources = [cv2.imread(str(REPO / "samples" / name)) for name in SOURCES]
    paths = []
    for i in range(n):
        source = sources[i % len(sources)]
        width, height = sizes[i % len(sizes)]
        h, w = source.shape[:2]
        scale = rng.uniform(0.6, 1.0)
        ch, cw = int(h * scale), int(w * scale)
        top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        crop = source[top : top + ch, left : left + cw]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        image = cv2.resize(crop, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.float32)
        image = image * rng.uniform(0.8, 1.2) + rng.normal(0, 4.0, image.shape)  # exposure, grain
        path = folder / f"photo-{i:05d}.jpg"
        cv2.imwrite(str(path), np.clip(image, 0, 255).astype(np.uint8),
                    [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(path)
    return paths
