"""The default recipe on photos it never saw, nor were used to choose it.

The study (docs/STUDY.md) chose the defaults on synthetic sets made with seeds
101 and 102; this test trains on a set made with seed 61 and judges on one made
with seed 62: new pictures, the same planted rule. A small version of the issue's
check (1,200 photos to train) that runs in about a minute on two cores.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import spe_train

pytestmark = pytest.mark.slow

TRAIN_PHOTOS = 1200
HELD_OUT_PHOTOS = 300


def test_default_model_on_held_out_photos(tmp_path):
    train, held_out = tmp_path / "train", tmp_path / "held-out"
    assert spe_train("synth", str(train), "--n", str(TRAIN_PHOTOS), "--seed", "61").returncode == 0
    assert spe_train("synth", str(held_out), "--n", str(HELD_OUT_PHOTOS), "--seed", "62").returncode == 0
    model = tmp_path / "default.tflite"
    fitted = spe_train("fit", str(train), "--out", str(model))
    assert fitted.returncode == 0, fitted.stderr[-3000:]
    report = tmp_path / "held-out.json"
    evaluated = spe_train("evaluate", str(model), str(held_out), "--json", str(report))
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    rows = json.loads(report.read_text())
    int8, mean = rows["int8"], rows["mean baseline"]
    # Issue 5's bar. The default recipe reaches 0.906 here (training is
    # deterministic); the notebook's network with the same recipe reached 0.835.
    assert int8["spearman"] >= 0.85, rows
    assert int8["mae_log1p"] <= 0.5 * mean["mae_log1p"], rows
    validation = json.loads(model.with_suffix(".json").read_text())["metrics"]["validation"]
    assert validation["int8"]["spearman"] >= 0.98 * validation["keras"]["spearman"], validation
