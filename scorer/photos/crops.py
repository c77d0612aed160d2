"""Which crop, and why: each photo's best crop per Instagram shape, and where its score
comes from (an occlusion map).

A photo is decoded once (the engine's decode, through the memory budget, handed
to scorer/commands/pageviews.py while it is held); each
candidate crop is cut from that decoded image and resized exactly as the whole
photo is for scoring (decode.model_view), and all views run through the model
in batches. Candidates: the three shapes Instagram shows (1:1, 4:5 portrait,
1.91:1 landscape), each at its largest size and two tighter ones, on a 3x3 grid
of positions. The occlusion map covers each cell of a grid with the photo's
mean colour and records how the prediction changes: the cells whose covering
lowers it most are where the score comes from. Both are the model's opinion:
they are as good as its cross-validated ranking, no better.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scorer.core.settings import DEFAULT_CROPS, OCCLUSION_GRID
from scorer.model.runtime import Model
from scorer.photos.decode import Decoded, model_view

# Width over height of the shapes Instagram shows.
SHAPES = {"1:1": 1.0, "4:5": 0.8, "1.91:1": 1.91}
SIZES = (1.0, 0.8, 0.64)  # of the largest crop of the shape that fits
POSITIONS = 3  # a POSITIONS x POSITIONS grid of places for each size
BATCH = 32


@dataclass(frozen=True)
class Box:
    """A crop in the decoded image's pixels."""

    x: int
    y: int
    w: int
    h: int

    def scaled(self, scale: float) -> list[int]:
        """[x, y, width, height] in the original photo's pixels."""
        return [round(self.x * scale), round(self.y * scale), round(self.w * scale),
                round(self.h * scale)]


def candidates(width: int, height: int, limit: int = DEFAULT_CROPS) -> list[tuple[str, Box]]:
    """Up to ``limit`` distinct crops of an image ``width`` x ``height``: shapes and sizes
    taken in turn, central places first, so a small limit still has every shape (and,
    from 9 on, every size of every shape)."""
    per_shape: dict[str, list[Box]] = {}
    for shape, ratio in SHAPES.items():
        w0, h0 = (width, round(width / ratio)) if width / height <= ratio else (
            round(height * ratio), height)
        by_size: list[list[Box]] = []
        for size in SIZES:
            w, h = max(1, round(w0 * size)), max(1, round(h0 * size))
            room_x, room_y = width - w, height - h
            places = sorted({(round(fx * room_x), round(fy * room_y))
                             for fx in np.linspace(0, 1, POSITIONS)
                             for fy in np.linspace(0, 1, POSITIONS)},
                            key=lambda p: abs(p[0] - room_x / 2) + abs(p[1] - room_y / 2))
            by_size.append([Box(x, y, w, h) for x, y in places])
        per_shape[shape] = list(dict.fromkeys(_in_turn(by_size)))
    tagged = [[(shape, box) for box in boxes] for shape, boxes in per_shape.items()]
    return _in_turn(tagged)[:limit]


def _in_turn(lists: list[list[Any]]) -> list[Any]:
    """The first of each list, then the second of each, and so on."""
    return [items[i] for i in range(max(map(len, lists), default=0))
            for items in lists if i < len(items)]


def occluded(image: np.ndarray, grid: int = OCCLUSION_GRID) -> list[np.ndarray]:
    """The image with each grid cell in turn covered by its mean colour, row by row."""
    mean = image.reshape(-1, 3).mean(axis=0).astype(np.uint8)
    height, width = image.shape[:2]
    ys = np.linspace(0, height, grid + 1).astype(int)
    xs = np.linspace(0, width, grid + 1).astype(int)
    views = []
    for row in range(grid):
        for col in range(grid):
            covered = image.copy()
            covered[ys[row]:ys[row + 1], xs[col]:xs[col + 1]] = mean
            views.append(covered)
    return views


@dataclass
class Insight:
    """What the model thinks of one photo, its crops and its parts."""

    width: int  # the original photo's, as displayed
    height: int
    predicted_likes: float
    crops: dict[str, dict[str, Any]] = field(default_factory=dict)  # best per shape
    occlusion: list[list[float]] = field(default_factory=list)  # change in likes per cell
    candidates: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height, "candidates": self.candidates,
                "crops": self.crops,
                "occlusion": {"grid": len(self.occlusion), "change_in_likes": self.occlusion}}


def insight_of(decoded: Decoded, model: Model, crops: int = DEFAULT_CROPS,
               grid: int = OCCLUSION_GRID) -> Insight:
    image, size = decoded.image, model.size
    boxes = candidates(image.shape[1], image.shape[0], crops) if crops > 0 else []
    views = [model_view(image, size)]
    views += [model_view(image[b.y:b.y + b.h, b.x:b.x + b.w], size) for _, b in boxes]
    views += [model_view(v, size) for v in occluded(image, grid)] if grid > 0 else []
    likes = np.concatenate([model.predict(np.stack(views[i:i + BATCH]))
                            for i in range(0, len(views), BATCH)])
    whole, crop_likes, cell_likes = likes[0], likes[1:1 + len(boxes)], likes[1 + len(boxes):]
    insight = Insight(decoded.width, decoded.height, float(whole), candidates=len(boxes))
    percentiles = model.percentile(crop_likes) if len(boxes) else np.zeros(0)
    for shape in SHAPES:
        indices = [i for i, (s, _) in enumerate(boxes) if s == shape]
        if indices:
            best = max(indices, key=lambda i: crop_likes[i])
            insight.crops[shape] = {
                "box": boxes[best][1].scaled(decoded.scale),
                "predicted_likes": round(float(crop_likes[best]), 1),
                "percentile": round(float(percentiles[best]), 1),
                "change": round(float(crop_likes[best] - whole), 1)}
    if grid > 0:
        changes = (cell_likes - whole).reshape(grid, grid)
        insight.occlusion = [[round(float(v), 2) for v in row] for row in changes]
    return insight
