"""Which planted properties a recipe's predictions follow, on a synthetic set.

``spe-train synth`` records what it planted in each picture (planted.csv). This
trains a recipe on two thirds of such a set, predicts the other third, and fits
the predicted log1p(likes) as a linear function of the planted properties: a
model that learned the rule gets coefficients near the rule's own (1.6, 1.2,
0.7, 0.4 for the classic rule), one that misses a property gets a coefficient near zero for it. The
ridge baseline's predictions are shown the same way. This is how the study
found that the notebook's network ignores symmetry (docs/STUDY.md).

    python tools/diagnose.py DATA [--architecture notebook] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scorer.model.card import Target  # noqa: E402
from trainer.core.metrics import regression_metrics  # noqa: E402
from trainer.core.recipe import PIXEL_SCALE, FitOptions  # noqa: E402
from trainer.data.layouts import load_dataset, load_pixels  # noqa: E402
from trainer.data.synth import PLANTED, RULES  # noqa: E402
from trainer.fitting.baselines import RidgeBaseline  # noqa: E402
from trainer.fitting.cv import fold_indices  # noqa: E402
from trainer.fitting.train import train  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--architecture", help="default: the trainer's default")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with open(args.data / PLANTED, newline="") as handle:
        planted = {row["filename"]: row for row in csv.DictReader(handle)}
    columns = set(next(iter(planted.values())))
    # The rule whose weighted properties planted.csv holds.
    rule = next(r for r in RULES.values() if set(r.weights) <= columns)
    PROPERTIES, RULE = tuple(rule.weights), tuple(rule.weights.values())
    dataset = load_dataset(args.data)
    properties = np.array([[float(planted[s.path.name][p]) for p in PROPERTIES]
                           for s in dataset.samples])
    pixels, likes = load_pixels(dataset, 64), dataset.likes
    options = FitOptions(backbone="none", seed=args.seed)
    if args.architecture:
        options = replace(options, architecture=args.architecture)
    test = fold_indices(len(likes), 3, args.seed)[0]
    fit_idx = np.setdiff1d(np.arange(len(likes)), test)
    target = Target.fit(options.target, likes[fit_idx])
    model, _, _ = train(pixels[fit_idx], target.forward(likes[fit_idx]), options)
    raw = model.predict(pixels[test].astype(np.float32) * PIXEL_SCALE, verbose=0).ravel()
    ridge = RidgeBaseline().fit(pixels[fit_idx], likes[fit_idx])
    predictions = {
        f"cnn ({options.architecture})": target.inverse(raw),
        "ridge baseline": ridge.predict(pixels[test]),
    }
    print(f"{len(fit_idx)} photos to train, {len(test)} to predict; predicted log1p(likes) "
          "as a linear function of what was planted")
    print(f"{'':24}" + "".join(f"{p:>14}" for p in PROPERTIES) + f"{'Spearman':>10}")
    print(f"{'the rule':24}" + "".join(f"{c:14.2f}" for c in RULE))
    design = np.c_[np.ones(len(test)), properties[test]]
    for name, predicted in predictions.items():
        coef, *_ = np.linalg.lstsq(design, np.log1p(np.maximum(predicted, 0)), rcond=None)
        spearman = regression_metrics(likes[test], predicted, likes[fit_idx])["spearman"]
        print(f"{name:24}" + "".join(f"{c:14.2f}" for c in coef[1:]) + f"{spearman:10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
