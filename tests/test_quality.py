"""The default recipe on photos it never saw, nor were used to choose it.

The study (docs/STUDY.md, round 5) chose the defaults on real photos rated by
people (CLIVE, and the team's own check); the synthetic family is a sanity
check. This test trains the full default (the ImageNet-trained backbone, a ridge
head, 3-fold cross-validation, the int8 export) on a set made with seed 61 and
judges on one made with seed 62: new pictures, the classic rule. About three
minutes for 600 photos on two cores.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import spe_train

pytestmark = pytest.mark.slow

TRAIN_PHOTOS = 600
HELD_OUT_PHOTOS = 300


def test_default_recipe_on_held_out_photos(tmp_path):
    train, held_out = tmp_path / "train", tmp_path / "held-out"
    for folder, n, seed in ((train, TRAIN_PHOTOS, 61), (held_out, HELD_OUT_PHOTOS, 62)):
        assert spe_train("synth", str(folder), "--n", str(n), "--seed", str(seed)).returncode == 0
    model = tmp_path / "default.tflite"
    fitted = spe_train("fit", str(train), "--out", str(model), timeout=1500)
    assert fitted.returncode == 0, fitted.stderr[-3000:]
    report = tmp_path / "held-out.json"
    evaluated = spe_train("evaluate", str(model), str(held_out), "--json-file", str(report))
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    rows = json.loads(report.read_text())
    int8, mean = rows["int8"], rows["mean baseline"]
    card = json.loads(model.with_suffix(".json").read_text())
    print(f"held-out int8 Spearman {int8['spearman']:.3f}, MAE log1p {int8['mae_log1p']:.3f}; "
          f"card's cross-validated {card['expected_quality']['spearman']['mean']:.3f}")
    assert int8["spearman"] >= SPEARMAN_BAR, rows
    assert int8["mae_log1p"] <= MAE_LOG_BAR * mean["mae_log1p"], rows
    # The card's cross-validated figure is an honest forecast of the held-out one.
    assert abs(card["expected_quality"]["spearman"]["mean"] - int8["spearman"]) < 0.1


# Measured: held-out Spearman 0.836 and MAE log1p 0.52x the mean predictor's, against a
# cross-validated forecast of 0.847 (docs/STUDY.md, round 5). The networks trained from
# nothing reached 0.823 and 0.61x here with one network and two folds.
SPEARMAN_BAR = 0.80
MAE_LOG_BAR = 0.65
