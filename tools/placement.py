"""Issue 26's check: do the crop suggestions and occlusion maps mean something?

On pictures of the texture rule (likes from the fineness of a subject's stripes and its
rule-of-thirds placement; planted.csv has the subject's centre), with a model trained on
that rule: the planted placement score of the subject inside the best suggested crop,
against the centre crop and a random candidate of the same shape; and how often the
occlusion map's strongest cell holds the subject's centre (a random cell: 1 in 16).
Runs the scorer only (no TensorFlow).

    python tools/placement.py MODEL.tflite SYNTH_DIR    # a folder of spe-train synth --rule texture
"""
import csv
import json
import sys
from pathlib import Path

import numpy as np

from scorer.model.runtime import Model
from scorer.photos.crops import SHAPES, candidates, insight_of
from scorer.photos.decode import decoding, read_photo

THIRDS = (1 / 3, 2 / 3)

def thirds(u, v):
    if not (0 <= u <= 1 and 0 <= v <= 1):
        return 0.0
    d = min(np.hypot(u - a, v - b) for a in THIRDS for b in THIRDS)
    return max(0.0, 1 - d / 0.2)

def score(box, sx, sy):
    x, y, w, h = box
    return thirds((sx - x) / w, (sy - y) / h)

model_path, data = sys.argv[1], Path(sys.argv[2])
model = Model(model_path, kernels="exact")
rows = list(csv.DictReader(open(data / "planted.csv")))
rng = np.random.default_rng(0)
out = {s: {"suggested": [], "centre": [], "random": [], "whole": []} for s in SHAPES}
hits, cells = 0, 0
for r in rows:
    raw = read_photo(data / "Images (jpg)" / r["filename"])
    with decoding(raw.data, model.size) as decoded:
        insight = insight_of(decoded, model)
    W, H = decoded.width, decoded.height
    sx, sy = float(r["x"]) * W, float(r["y"]) * H
    boxes = candidates(decoded.image.shape[1], decoded.image.shape[0])
    for shape in SHAPES:
        mine = [b.scaled(decoded.scale) for s, b in boxes if s == shape]
        out[shape]["suggested"].append(score(insight.crops[shape]["box"], sx, sy))
        out[shape]["centre"].append(score(mine[0], sx, sy))  # the first: largest, central
        out[shape]["random"].append(np.mean([score(b, sx, sy) for b in mine]))
        out[shape]["whole"].append(thirds(float(r["x"]), float(r["y"])))
    grid = np.array(insight.occlusion)
    row, col = np.unravel_index(np.argmin(grid), grid.shape)
    g = grid.shape[0]
    hits += int(col == min(int(sx / W * g), g - 1) and row == min(int(sy / H * g), g - 1))
    cells += 1
report = {shape: {k: float(np.mean(v)) for k, v in d.items()} |
          {"suggested_at_least_centre": float(np.mean(np.array(d["suggested"])
                                                      >= np.array(d["centre"]))),
           "suggested_on_thirds": float(np.mean(np.array(d["suggested"]) >= 0.5)),
           "centre_on_thirds": float(np.mean(np.array(d["centre"]) >= 0.5))}
          for shape, d in out.items()}
report["occlusion_strongest_cell_holds_subject"] = hits / cells
report["photos"] = cells
print(json.dumps(report, indent=1))
