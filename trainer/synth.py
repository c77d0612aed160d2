"""A synthetic data set in the notebook's layout, with a planted rule for likes.

Tests, benchmarks and the starter model need photos with likes that nobody has
to download. Each picture is drawn from four visible properties, and its likes
follow a known rule on them, so a model that learns something real can be told
from one that learns nothing:

    log(1 + likes) = 4.6
                     + 1.6 * (brightness - 0.5)     mean brightness, 0.2 .. 0.85
                     + 1.2 * colourfulness          palette saturation, 0 .. 1
                     + 0.7 * face                   a face-like shape, 40% of pictures
                     + 0.4 * symmetric              mirror-symmetric, 50% of pictures
                     + 0.15 * t(3)                  heavy-tailed noise (Student's t, 3 dof)

A long right tail, like a real account. The noise caps what any model can
reach: the rule's own signal ranks the likes with Spearman 0.93 (0.88 with the
0.22 noise of the first version, too close to the quality bar of 0.85 for a
test to tell a good model from a lucky one). Pictures are 160x160 JPEGs at
quality 90 with grain, so the model's 64x64 input is a real downscale.
Beside the likes, ``planted.csv`` records each picture's four properties and
its noise, so a model's predictions can be checked property by property
(tools/diagnose.py).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from trainer.data import NOTEBOOK_IMAGES, NOTEBOOK_LIKES

IMAGE_SIZE = 160
JPEG_QUALITY = 90
PLANTED = "planted.csv"


def likes_rule(brightness: float, colourfulness: float, face: bool, symmetric: bool,
               noise: float) -> float:
    log_likes = (4.6 + 1.6 * (brightness - 0.5) + 1.2 * colourfulness + 0.7 * face
                 + 0.4 * symmetric + 0.15 * noise)
    return float(np.round(np.expm1(log_likes)))


def draw_picture(rng: np.random.Generator, brightness: float, colourfulness: float,
                 face: bool, symmetric: bool, size: int = IMAGE_SIZE) -> np.ndarray:
    """An RGB uint8 picture with the given properties."""
    hue = rng.uniform(0, 180)
    # A vertical gradient between two shades of one hue: the scene's palette.
    top = _hsv_to_rgb(hue, colourfulness, brightness * rng.uniform(0.8, 1.2))
    bottom = _hsv_to_rgb((hue + rng.uniform(-25, 25)) % 180, colourfulness,
                         brightness * rng.uniform(0.8, 1.2))
    ramp = np.linspace(0.0, 1.0, size)[:, None, None]
    image = (top * (1 - ramp) + bottom * ramp) * np.ones((size, size, 3))
    # Clutter: a few blobs in the palette's neighbourhood.
    for _ in range(rng.integers(2, 6)):
        colour = _hsv_to_rgb((hue + rng.uniform(-60, 60)) % 180, colourfulness,
                             np.clip(brightness * rng.uniform(0.5, 1.4), 0, 1))
        centre = tuple(int(v) for v in rng.integers(0, size, 2))
        if rng.random() < 0.5:
            cv2.circle(image, centre, int(rng.integers(size // 16, size // 5)), colour.tolist(), -1)
        else:
            corner = tuple(int(v) for v in np.add(centre, rng.integers(size // 10, size // 3, 2)))
            cv2.rectangle(image, centre, corner, colour.tolist(), -1)
    if symmetric:
        half = size // 2
        image[:, size - half:] = image[:, :half][:, ::-1]
    if face:
        _draw_face(rng, image, size)
    image += rng.normal(0.0, 0.03, image.shape)  # sensor grain
    return np.clip(image * 255.0, 0, 255).astype(np.uint8)


def _draw_face(rng: np.random.Generator, image: np.ndarray, size: int) -> None:
    cx = size // 2 + int(rng.integers(-size // 10, size // 10 + 1))
    cy = size // 2 + int(rng.integers(-size // 10, size // 10 + 1))
    rx, ry = int(size * rng.uniform(0.18, 0.26)), int(size * rng.uniform(0.24, 0.32))
    skin = np.array([0.93, 0.76, 0.62]) * rng.uniform(0.7, 1.05)
    cv2.ellipse(image, (cx, cy), (rx, ry), 0, 0, 360, np.clip(skin, 0, 1).tolist(), -1)
    eye = max(2, rx // 5)
    for dx in (-rx // 2, rx // 2):
        cv2.circle(image, (cx + dx, cy - ry // 4), eye, (0.08, 0.06, 0.05), -1)
    cv2.ellipse(image, (cx, cy + ry // 3), (rx // 2, ry // 6), 0, 0, 180, (0.55, 0.15, 0.15), max(2, size // 60))


def _hsv_to_rgb(hue: float, saturation: float, value: float) -> np.ndarray:
    hsv = np.uint8([[[hue, np.clip(saturation, 0, 1) * 255, np.clip(value, 0, 1) * 255]]])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float64) / 255.0


def make_synthetic(out_dir: str | Path, n: int = 300, seed: int = 0,
                   size: int = IMAGE_SIZE) -> np.ndarray:
    """Write ``n`` pictures and ``y_likes_data.txt`` under ``out_dir``; return the likes."""
    out = Path(out_dir)
    images = out / NOTEBOOK_IMAGES
    images.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    likes = np.empty(n)
    lines = [
        "# Synthetic likes from spe-train synth: log1p(likes) = 4.6 + 1.6*(brightness-0.5)",
        "# + 1.2*colourfulness + 0.7*face + 0.4*symmetric + 0.15*t(3)",
        f"# n={n} seed={seed}",
    ]
    # What was planted in each picture, so a model's predictions can be checked
    # against each property (tools/diagnose.py); the trainer never reads it.
    planted = ["filename,brightness,colourfulness,face,symmetric,noise"]
    for index in range(1, n + 1):
        brightness = rng.uniform(0.2, 0.85)
        colourfulness = rng.uniform(0.0, 1.0)
        face = bool(rng.random() < 0.4)
        symmetric = bool(rng.random() < 0.5)
        picture = draw_picture(rng, brightness, colourfulness, face, symmetric, size)
        noise = float(rng.standard_t(3))
        likes[index - 1] = likes_rule(brightness, colourfulness, face, symmetric, noise)
        planted.append(f"{index}.jpg,{brightness:.6f},{colourfulness:.6f},{int(face)},"
                       f"{int(symmetric)},{noise:.6f}")
        path = images / f"{index}.jpg"
        if not cv2.imwrite(str(path), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
            raise OSError(f"{path}: cannot write")
        lines.append(f"{index}: {int(likes[index - 1])}")
    (out / NOTEBOOK_LIKES).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / PLANTED).write_text("\n".join(planted) + "\n", encoding="utf-8")
    return likes
