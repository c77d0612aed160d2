"""A synthetic data set in the notebook's layout, with a planted rule for likes.

Tests, benchmarks and the starter model need photos with likes that nobody has
to download. Each picture is drawn from a few visible properties, and its likes
follow a known rule on them, so a model that learns something real can be told
from one that learns nothing. A study that tunes its defaults on one readable
rule learns that rule, not photos; so there is a family of structurally
different rules (``--rule``), and an option is kept only if it helps on all:

``classic`` (the first rule; global statistics and two shapes)::

    log(1 + likes) = 4.6 + 1.6 * (brightness - 0.5)   mean brightness, 0.2 .. 0.85
                         + 1.2 * colourfulness        palette saturation, 0 .. 1
                         + 0.7 * face                 a face-like shape, 40% of pictures
                         + 0.4 * symmetric            mirror-symmetric, 50% of pictures
                         + 0.15 * t(3)

``texture`` (local texture of a subject and where it stands; brightness and
colour are drawn at random and carry nothing)::

    log(1 + likes) = 4.2 + 1.5 * texture              stripe fineness of the subject, 0 .. 1
                         + 1.1 * thirds               1 on a rule-of-thirds point, 0 far from all
                         + 0.15 * t(3)

``harmony`` (how the colours of a scene relate, not what they are)::

    log(1 + likes) = 4.4 + 1.3 * harmony              1 - hue spread of the palette / 90 degrees
                         + 1.3 * contrast             spread of the elements' lightness, 0 .. 1
                         + 0.15 * t(3)

t(3) is heavy-tailed noise (Student's t, 3 dof): a long right tail, like a real
account, and a cap on what any model can reach (for ``classic`` the rule's own
signal ranks the likes with Spearman 0.93). Pictures are 160x160 JPEGs at
quality 90 with grain, so the model's 64x64 input is a real downscale. Beside
the likes, ``planted.csv`` records each picture's properties and its noise, so
a model's predictions can be checked property by property (tools/diagnose.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np

from trainer.data.layouts import MANIFEST, NOTEBOOK_IMAGES, NOTEBOOK_LIKES

IMAGE_SIZE = 160
JPEG_QUALITY = 90
PLANTED = "planted.csv"
NOISE = 0.15
THIRDS = (1 / 3, 2 / 3)


@dataclass(frozen=True)
class Rule:
    """One planted rule: what it draws, and how its properties make likes."""

    description: str
    intercept: float
    weights: dict[str, float]  # property -> coefficient on log1p(likes)
    sample: Callable[[np.random.Generator], dict[str, float]]
    draw: Callable[[np.random.Generator, dict[str, float], int], np.ndarray]
    centre: dict[str, float] = field(default_factory=dict)  # subtracted before weighting

    def log_likes(self, properties: dict[str, float], noise: float) -> float:
        return (self.intercept + sum(w * (properties[k] - self.centre.get(k, 0.0))
                                     for k, w in self.weights.items()) + NOISE * noise)

    def formula(self) -> str:
        terms = " + ".join(f"{w}*({k}-{self.centre[k]})" if k in self.centre else f"{w}*{k}"
                           for k, w in self.weights.items())
        return f"log1p(likes) = {self.intercept} + {terms} + {NOISE}*t(3)"


def likes_rule(brightness: float, colourfulness: float, face: bool, symmetric: bool,
               noise: float) -> float:
    """The classic rule, as planted.csv records it."""
    props = {"brightness": brightness, "colourfulness": colourfulness, "face": float(face),
             "symmetric": float(symmetric)}
    return float(np.round(np.expm1(RULES["classic"].log_likes(props, noise))))


# ---- classic: global statistics and two shapes ------------------------------------------

def _sample_classic(rng: np.random.Generator) -> dict[str, float]:
    return {"brightness": rng.uniform(0.2, 0.85), "colourfulness": rng.uniform(0.0, 1.0),
            "face": float(rng.random() < 0.4), "symmetric": float(rng.random() < 0.5)}


def _draw_classic(rng: np.random.Generator, p: dict[str, float], size: int) -> np.ndarray:
    image = _scene(rng, rng.uniform(0, 180), p["colourfulness"], p["brightness"], size)
    if p["symmetric"]:
        half = size // 2
        image[:, size - half:] = image[:, :half][:, ::-1]
    if p["face"]:
        _draw_face(rng, image, size)
    return _finish(rng, image)


def draw_picture(rng: np.random.Generator, brightness: float, colourfulness: float,
                 face: bool, symmetric: bool, size: int = IMAGE_SIZE) -> np.ndarray:
    """An RGB uint8 picture of the classic rule with the given properties."""
    return _draw_classic(rng, {"brightness": brightness, "colourfulness": colourfulness,
                               "face": float(face), "symmetric": float(symmetric)}, size)


# ---- texture: a striped subject, and where it stands ------------------------------------

def _sample_texture(rng: np.random.Generator) -> dict[str, float]:
    x, y = rng.uniform(0.2, 0.8, 2)
    # Distance to the nearest rule-of-thirds point, 0 on one, ~0.2 at the centre.
    distance = min(np.hypot(x - tx, y - ty) for tx in THIRDS for ty in THIRDS)
    return {"texture": rng.uniform(0.0, 1.0), "x": x, "y": y,
            "thirds": float(max(0.0, 1.0 - distance / 0.2))}


def _draw_texture(rng: np.random.Generator, p: dict[str, float], size: int) -> np.ndarray:
    image = _scene(rng, rng.uniform(0, 180), rng.uniform(0.1, 0.9), rng.uniform(0.3, 0.8), size)
    radius = int(size * rng.uniform(0.12, 0.18))
    cx, cy = int(p["x"] * size), int(p["y"] * size)
    mask = np.zeros((size, size), np.uint8)
    cv2.circle(mask, (cx, cy), radius, 1, -1)
    # Stripes from a period of 40 px (smooth at 64x64) to 6 px (fine), any angle.
    period = 40.0 - 34.0 * p["texture"]
    angle = rng.uniform(0, np.pi)
    yy, xx = np.mgrid[0:size, 0:size]
    wave = 0.5 + 0.5 * np.sin(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period)
    base = _hsv_to_rgb(rng.uniform(0, 180), rng.uniform(0.3, 0.9), rng.uniform(0.5, 0.9))
    subject = base * (0.55 + 0.45 * wave[..., None])
    image[mask == 1] = subject[mask == 1]
    return _finish(rng, image)


# ---- harmony: how the palette's hues and lightness relate -------------------------------

def _sample_harmony(rng: np.random.Generator) -> dict[str, float]:
    return {"harmony": rng.uniform(0.0, 1.0), "contrast": rng.uniform(0.0, 1.0)}


def _draw_harmony(rng: np.random.Generator, p: dict[str, float], size: int) -> np.ndarray:
    hue, spread = rng.uniform(0, 180), (1.0 - p["harmony"]) * 90.0  # OpenCV hue: 0..180
    saturation, mid = rng.uniform(0.35, 0.9), rng.uniform(0.4, 0.6)

    def colour() -> np.ndarray:
        value = np.clip(mid + p["contrast"] * rng.uniform(-0.45, 0.45), 0.05, 1.0)
        return _hsv_to_rgb((hue + rng.uniform(-spread, spread)) % 180, saturation, value)

    image = np.ones((size, size, 3)) * colour()
    for _ in range(rng.integers(4, 8)):
        centre = tuple(int(v) for v in rng.integers(0, size, 2))
        if rng.random() < 0.5:
            radius = int(rng.integers(size // 10, size // 4))
            cv2.circle(image, centre, radius, colour().tolist(), -1)
        else:
            corner = tuple(int(v) for v in np.add(centre, rng.integers(size // 8, size // 2, 2)))
            cv2.rectangle(image, centre, corner, colour().tolist(), -1)
    return _finish(rng, image)


RULES: dict[str, Rule] = {
    "classic": Rule("global brightness and colour, a face, left-right symmetry", 4.6,
                    {"brightness": 1.6, "colourfulness": 1.2, "face": 0.7, "symmetric": 0.4},
                    _sample_classic, _draw_classic, centre={"brightness": 0.5}),
    "texture": Rule("the fineness of a subject's texture and its rule-of-thirds placement", 4.2,
                    {"texture": 1.5, "thirds": 1.1}, _sample_texture, _draw_texture),
    "harmony": Rule("colour harmony (narrow hue spread) and lightness contrast", 4.4,
                    {"harmony": 1.3, "contrast": 1.3}, _sample_harmony, _draw_harmony),
}
DEFAULT_RULE = "classic"


# ---- shared drawing ----------------------------------------------------------------------

def _scene(rng: np.random.Generator, hue: float, colourfulness: float, brightness: float,
           size: int) -> np.ndarray:
    """A vertical gradient between two shades of one hue, and a few blobs of clutter."""
    top = _hsv_to_rgb(hue, colourfulness, brightness * rng.uniform(0.8, 1.2))
    bottom = _hsv_to_rgb((hue + rng.uniform(-25, 25)) % 180, colourfulness,
                         brightness * rng.uniform(0.8, 1.2))
    ramp = np.linspace(0.0, 1.0, size)[:, None, None]
    image = (top * (1 - ramp) + bottom * ramp) * np.ones((size, size, 3))
    for _ in range(rng.integers(2, 6)):
        colour = _hsv_to_rgb((hue + rng.uniform(-60, 60)) % 180, colourfulness,
                             np.clip(brightness * rng.uniform(0.5, 1.4), 0, 1))
        centre = tuple(int(v) for v in rng.integers(0, size, 2))
        if rng.random() < 0.5:
            cv2.circle(image, centre, int(rng.integers(size // 16, size // 5)), colour.tolist(), -1)
        else:
            corner = tuple(int(v) for v in np.add(centre, rng.integers(size // 10, size // 3, 2)))
            cv2.rectangle(image, centre, corner, colour.tolist(), -1)
    return image


def _finish(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    image = image + rng.normal(0.0, 0.03, image.shape)  # sensor grain
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
    cv2.ellipse(image, (cx, cy + ry // 3), (rx // 2, ry // 6), 0, 0, 180, (0.55, 0.15, 0.15),
                max(2, size // 60))


def _hsv_to_rgb(hue: float, saturation: float, value: float) -> np.ndarray:
    hsv = np.uint8([[[hue, np.clip(saturation, 0, 1) * 255, np.clip(value, 0, 1) * 255]]])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float64) / 255.0


def _cell(name: str, value: float) -> str:
    return str(int(value)) if name in FLAGS else f"{value:.6f}"


FLAGS = ("face", "symmetric")  # yes/no properties, written as 0 or 1


def refusal(out_dir: str | Path, force: bool) -> str:
    """Why synth must not write into ``out_dir`` ("" when it may): a folder holding a
    data set or photos is left alone, and even with ``force`` only a folder synth wrote
    (its planted.csv) is emptied of what synth wrote: 60 pictures then 10 left
    pictures 11-60 beside the new likes, and someone's own photos are never synth's."""
    out = Path(out_dir)
    if not out.exists():
        return ""
    if not out.is_dir():
        return f"{out}: not a folder"
    held = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    if not held:
        return ""
    if not (out / PLANTED).is_file():
        return (f"{out}: holds files synth did not write ({', '.join(held[:3])}"
                f"{', ...' if len(held) > 3 else ''}): refused, even with --force; give a "
                "new or empty folder")
    if not force:
        return (f"{out}: already holds a synthetic data set: refused; --force replaces it, "
                "or give a new folder")
    _empty_synth(out)
    return ""


def _empty_synth(out: Path) -> None:
    """Remove what synth writes (numbered pictures, the likes, planted.csv), nothing else."""
    images = out / NOTEBOOK_IMAGES
    if images.is_dir():
        for picture in images.glob("*.jpg"):
            if picture.stem.isdigit():
                picture.unlink()
    for name in (NOTEBOOK_LIKES, MANIFEST, PLANTED):
        (out / name).unlink(missing_ok=True)


def make_synthetic(out_dir: str | Path, n: int = 300, seed: int = 0, size: int = IMAGE_SIZE,
                   rule: str = DEFAULT_RULE, trend: float = 0.0) -> np.ndarray:
    """Write ``n`` pictures and ``y_likes_data.txt`` under ``out_dir``; return the likes.

    With ``trend``, the account grows: picture N is posted on day N, and
    log1p(likes) gains ``trend`` from the first post to the last (on top of the
    rule); the likes then go in a ``likes.csv`` manifest with a ``posted_at``
    column instead (the notebook's layout has no times), for `fit --detrend`.
    """
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}: choose {', '.join(RULES)}")
    spec = RULES[rule]
    out = Path(out_dir)
    images = out / NOTEBOOK_IMAGES
    images.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    likes = np.empty(n)
    lines = [f"# Synthetic likes from spe-train synth --rule {rule}: {spec.formula()}",
             f"# n={n} seed={seed}"]
    # What was planted in each picture, so a model's predictions can be checked
    # against each property (tools/diagnose.py); the trainer never reads it.
    names: list[str] = []
    planted: list[str] = []
    for index in range(1, n + 1):
        props = spec.sample(rng)
        picture = spec.draw(rng, props, size)
        noise = float(rng.standard_t(3))
        growth = trend * (index - 1) / max(1, n - 1)
        likes[index - 1] = float(np.round(np.expm1(spec.log_likes(props, noise) + growth)))
        names = list(props)
        planted.append(f"{index}.jpg," + ",".join(_cell(k, props[k]) for k in names)
                       + f",{noise:.6f}")
        path = images / f"{index}.jpg"
        if not cv2.imwrite(str(path), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
            raise OSError(f"{path}: cannot write")
        lines.append(f"{index}: {int(likes[index - 1])}")
    if trend:
        start = datetime(2024, 1, 1, 12, tzinfo=timezone.utc)
        rows = ["filename,likes,posted_at"] + [
            f"{NOTEBOOK_IMAGES}/{i}.jpg,{int(likes[i - 1])},"
            f"{(start + timedelta(days=i - 1)).isoformat()}" for i in range(1, n + 1)]
        (out / MANIFEST).write_text("\n".join(rows) + "\n", encoding="utf-8")
    else:
        (out / NOTEBOOK_LIKES).write_text("\n".join(lines) + "\n", encoding="utf-8")
    header = ",".join(["filename", *names, "noise"])
    (out / PLANTED).write_text("\n".join([header, *planted]) + "\n", encoding="utf-8")
    return likes
