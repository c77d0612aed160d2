"""`fit --detrend`: likes at today's audience, for an account that grew."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from tests.conftest import spe_train
from trainer.core.metrics import spearman
from trainer.data.layouts import DataError, load_dataset
from trainer.data.synth import RULES, make_synthetic
from trainer.data.trend import fit_trend


def _planted_likes(folder) -> np.ndarray:
    """The likes the rule alone gives, without the planted growth."""
    with open(folder / "planted.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return np.array([np.expm1(RULES["classic"].log_likes(
        {k: float(v) for k, v in row.items() if k not in ("filename", "noise")},
        float(row["noise"]))) for row in rows])


def test_detrending_recovers_the_photos_own_order(tmp_path):
    make_synthetic(tmp_path, n=200, seed=3, trend=1.5)
    dataset = load_dataset(tmp_path)
    assert dataset.layout == "manifest"
    times = dataset.post_times()
    trend = fit_trend(times, dataset.likes)
    clean = _planted_likes(tmp_path)
    raw, adjusted = spearman(clean, dataset.likes), spearman(clean, trend.adjust(dataset.likes))
    assert adjusted > raw + 0.05, (raw, adjusted)
    summary = trend.to_json(times)
    assert 1.0 < summary["growth_log1p"] < 2.0  # 1.5 planted
    assert summary["first_post"] == "2024-01-01"


def test_a_flat_account_is_left_nearly_alone(tmp_path):
    make_synthetic(tmp_path, n=120, seed=4, trend=0.0)
    likes = load_dataset(tmp_path).likes
    trend = fit_trend(np.arange(len(likes), dtype=float), likes)
    assert spearman(likes, trend.adjust(likes)) > 0.9


def test_manifest_post_times_iso_seconds_and_errors(tmp_path):
    make_synthetic(tmp_path, n=3, seed=1)
    (tmp_path / "y_likes_data.txt").unlink()
    rows = ["filename,likes,posted_at", "Images (jpg)/1.jpg,10,2024-05-01T10:00:00",
            "Images (jpg)/2.jpg,20,1714557600", "Images (jpg)/3.jpg,30,"]
    (tmp_path / "likes.csv").write_text("\n".join(rows) + "\n")
    dataset = load_dataset(tmp_path)
    assert [s.posted_at for s in dataset.samples] == [1714557600.0, 1714557600.0, None]
    with pytest.raises(DataError, match=r"likes.csv:4: no post time for 3.jpg"):
        dataset.post_times()
    (tmp_path / "likes.csv").write_text(rows[0] + "\nImages (jpg)/1.jpg,10,last tuesday\n")
    with pytest.raises(DataError, match=r"likes.csv:2: posted_at 'last tuesday' is neither"):
        load_dataset(tmp_path)


@pytest.mark.slow
def test_fit_detrend_needs_times_and_records_the_trend(tmp_path):
    flat = tmp_path / "flat"
    make_synthetic(flat, n=30, seed=2)
    refused = spe_train("fit", str(flat), "--out", str(tmp_path / "x.tflite"), "--detrend")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1].endswith(
        "no post time for 1.jpg (--detrend needs a posted_at column in likes.csv, or an "
        "instaloader download)")
    grown = tmp_path / "grown"
    make_synthetic(grown, n=40, seed=2, trend=1.5)
    out = tmp_path / "m.tflite"
    proc = spe_train("fit", str(grown), "--out", str(out), "--detrend", "--folds", "2",
                     "--members", "1", "--epochs", "1", "--architecture", "deep-small")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "detrended: the account's level grew by +" in proc.stderr
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["detrend"]["growth_log1p"] > 0.5 and card["training"]["detrend"] is True
    # The percentiles are those of the likes at the latest level: above the raw median.
    assert card["likes_distribution"]["median"] > np.median(load_dataset(grown).likes)
