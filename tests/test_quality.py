"""The default recipe on photos it never saw, nor were used to choose it.

The study (docs/STUDY.md) chose the defaults on synthetic sets made with seeds
101, 102 and 301, and on the real-photo check of issue 11; this test trains on
a set made with seed 61 and judges on one made with seed 62: new pictures, the
classic rule. The full default (3 folds, then 3 averaged networks on all 1,200
photos) takes about half an hour on two cores, too long for CI; tools/heldout.py
measures it (docs/STUDY.md, "Held out"). This test runs the same recipe with
one network and two folds on 600 photos, in a few minutes, and guards what
that reaches: an average of three networks on twice the photos does better.
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
    fitted = spe_train("fit", str(train), "--out", str(model), "--members", "1", "--folds", "2",
                       timeout=1500)
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


# Measured (training is deterministic): held-out Spearman 0.823 and MAE log1p 0.61x the
# mean predictor's, against a cross-validated forecast of 0.838 (docs/STUDY.md).
SPEARMAN_BAR = 0.80
MAE_LOG_BAR = 0.65
