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
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from scorer.core.ownfiles import write_file
from trainer.core.errors import DataError
from trainer.core.metrics import format_table
from trainer.core.recipe import FitOptions
from trainer.data.layouts import load_dataset, load_pixels
from trainer.fitting.folds import fold_indices, ridge_sentence, run_folds, verdict

__all__ = ["cross_validate", "fold_indices", "verdict"]


def cross_validate(data_dir: str | os.PathLike[str], options: FitOptions, folds: int = 5,
                   out_dir: str | os.PathLike[str] | None = None,
                   echo: Callable[[str], None] = print) -> dict:
    """Cross-validate the recipe as `fit` would export it: ``options.members`` averaged
    networks per fold (each also on the mirrored photo with ``options.tta``)."""
    dataset = load_dataset(data_dir)
    if len(dataset.samples) < folds * 4:
        raise DataError(f"{data_dir}: {len(dataset.samples)} photos are too few for {folds} folds")
    pixels = load_pixels(dataset, options.img_size)
    likes = dataset.likes
    if options.backbone != "none":
        run = _backbone_folds(pixels, likes, replace(options, folds=folds), echo)
    else:
        run = run_folds(pixels, likes, options, folds, max(1, options.members), echo)
    summary = run.summary
    report = {
        "data": Path(data_dir).name,
        "photos": int(len(likes)),
        "folds": folds,
        "options": {**asdict(options), "augment": list(options.augment)},
        "summary": summary,
        "per_fold": run.per_fold,
        "stopping_epochs": run.best_epochs,
        "verdict": verdict(summary),
    }
    rows = {name: {metric: values["mean"] for metric, values in summary[name].items()}
            for name in run.predictions}
    echo(format_table(rows, len(likes)).replace(
        "photos:", f"{folds}-fold cross-validation, photos:", 1))
    for line in report["verdict"]:
        echo(line)
    echo(ridge_sentence(summary, folds))
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_file(out / "cv.json", (json.dumps(report, indent=2) + "\n").encode())
        plot_predictions(likes, run.predictions, out / "cv_predicted_vs_actual.png")
        plot_error_by_likes(likes, run.predictions, out / "cv_error_by_likes.png")
        echo(f"wrote {out / 'cv.json'} and plots in {out}")
    return report


def _backbone_folds(pixels: np.ndarray, likes: np.ndarray, options: FitOptions, echo):
    """The backbone's ridge head, cross-validated as `fit` measures it (float, no export)."""
    from trainer.fitting.transfer import choose_target
    from trainer.networks.backbone import BACKBONES
    from trainer.networks.head import extract, pooled_extractor
    from trainer.networks.weights import load_weights

    backbone = BACKBONES[options.backbone]
    weights = load_weights(backbone.weights, options.given_weights, echo)
    extractor = pooled_extractor(backbone, options.img_size, weights, options.layers,
                                 options.pooling)
    features = extract(extractor, pixels, echo)
    return choose_target(features, pixels, likes, options, echo)[0]


def plot_predictions(likes: np.ndarray, predictions: dict[str, np.ndarray], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharey=True)
    for ax, name in zip(axes, ("cnn", "ridge"), strict=False):
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
