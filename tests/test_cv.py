"""spe-train cv: k-fold cross-validation against the mean and ridge baselines."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import spe_train
from trainer.core.metrics import pairwise_accuracy, same_quartile
from trainer.fitting.baselines import FEATURES, image_statistics
from trainer.fitting.cv import fold_indices, verdict

pytestmark = pytest.mark.slow


def test_cv_reports_table_json_plots_and_verdict(tmp_path):
    data = tmp_path / "data"
    assert spe_train("synth", str(data), "--n", "60", "--seed", "4").returncode == 0
    out = tmp_path / "cv"
    proc = spe_train("cv", str(data), "--folds", "3", "--epochs", "2", "--members", "2",
                     "--backbone", "none", "--out-dir", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((out / "cv.json").read_text())
    assert report["folds"] == 3 and report["photos"] == 60
    assert set(report["summary"]) == {"cnn", "cnn flip-averaged", "ridge", "mean"}
    assert len(report["stopping_epochs"]) == 3 * 2  # two networks per fold
    for name in ("cnn", "cnn flip-averaged", "ridge", "mean"):
        assert len(report["per_fold"][name]) == 3
        assert {"mae", "rmse", "mae_log1p", "spearman", "pairwise_accuracy",
                "same_quartile"} <= set(report["summary"][name])
    assert (out / "cv_predicted_vs_actual.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "cv_error_by_likes.png").read_bytes()[:4] == b"\x89PNG"
    assert "3-fold cross-validation, photos: 60" in proc.stderr
    assert any(line.startswith("The CNN ") for line in proc.stderr.splitlines())
    assert any(line.startswith("Verdict: the CNN ") for line in proc.stderr.splitlines())


def test_folds_cover_every_photo_once():
    parts = fold_indices(23, 5, seed=1)
    assert sorted(np.concatenate(parts).tolist()) == list(range(23))
    assert [len(p) for p in parts] == [5, 5, 5, 4, 4]


def test_verdict_says_when_the_cnn_loses():
    def metrics(value, spearman):
        return {"mae": {"mean": value}, "rmse": {"mean": value}, "mae_log1p": {"mean": value / 100},
                "spearman": {"mean": spearman}, "pairwise_accuracy": {"mean": spearman},
                "same_quartile": {"mean": spearman}}

    lines = verdict({"cnn": metrics(100, 0.5), "ridge": metrics(90, 0.6),
                     "mean": metrics(200, 0.0)})
    assert lines[0] == "The CNN beats the mean predictor on every metric."
    assert lines[1].startswith(
        "The CNN does NOT beat the ridge regression on image statistics on: mae")


def test_ranking_metrics():
    actual = np.array([1.0, 2.0, 3.0, 4.0])
    assert pairwise_accuracy(actual, actual) == 1.0
    assert pairwise_accuracy(actual, -actual) == 0.0
    assert pairwise_accuracy(actual, np.zeros(4)) == 0.5
    assert same_quartile(actual, actual) == 1.0


def test_image_statistics_see_brightness_and_symmetry():
    dark = np.full((1, 64, 64, 3), 30, np.uint8)
    bright = np.full((1, 64, 64, 3), 220, np.uint8)
    half = dark.copy()
    half[:, :, 32:] = 220
    stats = image_statistics(np.concatenate([dark, bright, half]))
    assert stats.shape == (3, len(FEATURES))
    b, s = FEATURES.index("brightness"), FEATURES.index("symmetry")
    assert stats[1, b] > stats[0, b]
    assert stats[0, s] == pytest.approx(1.0) and stats[2, s] < 0.5


def test_ridge_sentence_weighs_the_gap_against_the_fold_spread():
    from trainer.fitting.folds import ridge_sentence

    def summary(cnn, cnn_std, ridge, ridge_std):
        return {"cnn": {"spearman": {"mean": cnn, "std": cnn_std}},
                "ridge": {"spearman": {"mean": ridge, "std": ridge_std}}}

    better = ridge_sentence(summary(0.70, 0.02, 0.60, 0.03), 3)
    assert better.startswith("Verdict: the CNN is better than the ridge baseline by +0.100: ")
    assert "0.700 ± 0.020 against the ridge baseline's 0.600 ± 0.030 (3-fold" in better
    within = ridge_sentence(summary(0.62, 0.05, 0.60, 0.03), 5)
    assert within.startswith("Verdict: the CNN is ahead of the ridge baseline by only +0.020, "
                             "within the fold spread")
    worse = ridge_sentence(summary(0.50, 0.01, 0.60, 0.01), 3)
    assert worse.startswith("Verdict: the CNN is NOT better than the ridge baseline (-0.100)")
    # Where the folds' int8 exports were measured, the verdict is theirs (what ships and
    # what the card records), the float figure beside it.
    both = summary(0.826, 0.078, 0.825, 0.065)
    both["int8"] = {"spearman": {"mean": 0.812, "std": 0.051}}
    shipped = ridge_sentence(both, 3)
    assert shipped.startswith("Verdict: the CNN is NOT better than the ridge baseline (-0.013)")
    assert "Spearman 0.812 ± 0.051 against the ridge baseline's 0.825 ± 0.065" in shipped
    assert "in float before the export 0.826 ± 0.078" in shipped


@pytest.mark.parametrize("transform", ["raw", "log1p", "standardize", "log1p-std"])
def test_target_transforms_round_trip(transform):
    from scorer.model.card import Target

    likes = np.array([0.0, 3.0, 40.0, 512.0, 12000.0])
    target = Target.fit(transform, likes)
    forward = target.forward(likes)
    np.testing.assert_allclose(target.inverse(forward), likes, rtol=1e-9, atol=1e-9)
    if transform.endswith("std") or transform == "standardize":
        assert abs(forward.mean()) < 1e-9 and abs(forward.std() - 1.0) < 1e-9
    assert target.inverse(np.array([-1e9]))[0] == 0.0  # never negative


def test_percentiles_midpoint_of_ties():
    from scorer.model.card import percentile_of

    grid = [float(v) for v in np.percentile(np.arange(1, 102), np.arange(101))]
    # 51 is the 50th percentile exactly: it counts half below and half at.
    assert percentile_of(np.array([0.0, 51.0, 1e9]), grid).tolist() == [0.0, 50.5, 100.0]
    flat = [5.0] * 101
    assert percentile_of(np.array([5.0]), flat).tolist() == [50.5]  # the middle of the ties


def test_percentiles_are_interpolated_between_training_likes():
    """Before, 650.1, 655.7 and 661.3 likes all read "percentile 87" (one step for the whole
    gap between two training likes)."""
    from scorer.model.card import percentile_of

    grid = [float(v) for v in np.percentile(np.arange(1, 102), np.arange(101))]
    between = percentile_of(np.array([51.25, 51.5, 51.75]), grid)
    assert np.allclose(between, [50.75, 51.0, 51.25])
    assert percentile_of(np.array([51.0 - 1e-9]), grid)[0] < 50.5 < percentile_of(
        np.array([51.0 + 1e-9]), grid)[0] + 1e-6
