"""``spe-train cv``: k-fold cross-validation of a training recipe against baselines.

With a few hundred photos, one 80/20 split says little: each fold here trains
a fresh network on the other folds and predicts its own photos, so every photo
is predicted once by a model that never saw it. The CNN is always shown beside
the mean predictor and a ridge regression on simple image statistics, and the
report says in plain words when it does not beat them.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np

from scorer.card import Target

from .baselines import MeanBaseline, RidgeBaseline
from .data import load_dataset, load_pixels
from .fit import PIXEL_SCALE, FitOptions, train
from .metrics import format_table, regression_metrics

HIGHER_IS_BETTER = ("spearman", "pairwise_accuracy", "same_quartile")


def fold_indices(n: int, folds: int, seed: int) -> list[np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(part) for part in np.array_split(order, folds)]


def cross_validate(data_dir: str | os.PathLike[str], options: FitOptions, folds: int = 5,
                   out_dir: str | os.PathLike[str] | None = None,
                   echo: Callable[[str], None] = print) -> dict:
    import keras

    dataset = load_dataset(data_dir)
    if len(dataset.samples) < folds * 4:
        raise ValueError(f"{data_dir}: {len(dataset.samples)} photos are too few for {folds} folds")
    pixels = load_pixels(dataset, options.img_size)
    likes = dataset.likes
    parts = fold_indices(len(likes), folds, options.seed)
    predictions = {name: np.zeros(len(likes)) for name in ("cnn", "ridge", "mean")}
    per_fold: dict[str, list[dict]] = {name: [] for name in predictions}
    for k, test_idx in enumerate(parts):
        train_idx = np.setdiff1d(np.arange(len(likes)), test_idx)
        train_likes = likes[train_idx]
        target = Target.fit(options.target, train_likes)
        echo(f"fold {k + 1}/{folds}: {len(train_idx)} photos to train, {len(test_idx)} to test")
        model, history = train(pixels[train_idx], target.forward(train_likes), options,
                               echo=lambda _m: None, verbose=0)
        raw = model.predict(pixels[test_idx].astype(np.float32) * PIXEL_SCALE, verbose=0).ravel()
        predictions["cnn"][test_idx] = target.inverse(raw)
        for baseline in (RidgeBaseline(), MeanBaseline()):
            fitted = baseline.fit(pixels[train_idx], train_likes)
            predictions[baseline.name][test_idx] = fitted.predict(pixels[test_idx])
        for name in predictions:
            per_fold[name].append(regression_metrics(likes[test_idx], predictions[name][test_idx],
                                                     train_likes))
        echo(f"  cnn Spearman {per_fold['cnn'][-1]['spearman']:.3f} after "
             f"{len(history['loss'])} epochs; ridge {per_fold['ridge'][-1]['spearman']:.3f}")
        keras.backend.clear_session()  # free the fold's graph before the next

    summary = {name: _mean_and_std(per_fold[name]) for name in predictions}
    report = {
        "data": str(data_dir),
        "photos": int(len(likes)),
        "folds": folds,
        "options": {**asdict(options), "augment": list(options.augment)},
        "summary": summary,
        "per_fold": per_fold,
        "verdict": verdict(summary),
    }
    rows = {name: {metric: values["mean"] for metric, values in summary[name].items()}
            for name in predictions}
    echo(format_table(rows, len(likes)).replace("photos:", f"{folds}-fold cross-validation, photos:", 1))
    for line in report["verdict"]:
        echo(line)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "cv.json").write_text(json.dumps(report, indent=2) + "\n")
        plot_predictions(likes, predictions, out / "cv_predicted_vs_actual.png")
        plot_error_by_likes(likes, predictions, out / "cv_error_by_likes.png")
        echo(f"wrote {out / 'cv.json'} and plots in {out}")
    return report


def _mean_and_std(folds: list[dict]) -> dict[str, dict[str, float]]:
    return {metric: {"mean": float(np.mean([f[metric] for f in folds])),
                     "std": float(np.std([f[metric] for f in folds]))} for metric in folds[0]}


def verdict(summary: dict) -> list[str]:
    """Plain words: does the CNN beat each baseline on each metric (fold means)?"""
    lines = []
    for baseline in ("mean", "ridge"):
        lost = []
        for metric, values in summary["cnn"].items():
            if baseline == "mean" and metric in ("spearman", "pairwise_accuracy"):
                continue  # a constant has no ranking to compare with
            cnn, other = values["mean"], summary[baseline][metric]["mean"]
            better = cnn > other if metric in HIGHER_IS_BETTER else cnn < other
            if not better:
                lost.append(metric)
        label = "the mean predictor" if baseline == "mean" else "the ridge regression on image statistics"
        if lost:
            lines.append(f"The CNN does NOT beat {label} on: {', '.join(lost)}.")
        else:
            lines.append(f"The CNN beats {label} on every metric.")
    return lines


def plot_predictions(likes: np.ndarray, predictions: dict[str, np.ndarray], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharey=True)
    for ax, name in zip(axes, ("cnn", "ridge")):
        ax.scatter(likes + 1, predictions[name] + 1, s=8, alpha=0.5)
        low, high = likes.min() + 1, likes.max() + 1
        ax.plot([low, high], [low, high], "k--", lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("actual likes + 1")
        ax.set_title(f"{name}: out-of-fold predictions")
    axes[0].set_ylabel("predicted likes + 1")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_error_by_likes(likes: np.ndarray, predictions: dict[str, np.ndarray], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    edges = np.percentile(likes, [0, 20, 40, 60, 80, 100])
    bins = np.clip(np.searchsorted(edges, likes, side="right") - 1, 0, 4)
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, predicted in predictions.items():
        error = np.abs(np.log1p(predicted) - np.log1p(likes))
        ax.plot(range(5), [error[bins == b].mean() for b in range(5)], marker="o", label=name)
    ax.set_xticks(range(5), [f"{edges[b]:.0f}-{edges[b + 1]:.0f}" for b in range(5)])
    ax.set_xlabel("actual likes (quintiles)")
    ax.set_ylabel("mean |log1p error|")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
