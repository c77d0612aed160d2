"""K-fold training shared by `spe-train cv` and `spe-train fit`.

Each fold trains fresh networks on the other folds and predicts its own
photos, so every photo is predicted once by a model that never saw it. The
CNN is always measured beside the mean predictor and a ridge regression on
image statistics. Each fold also reports the epoch its early stopping chose,
so `fit` can train its final members on every photo for that many epochs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from scorer.model.card import Target
from trainer.core.metrics import regression_metrics
from trainer.core.narrator import phase
from trainer.core.recipe import FitOptions
from trainer.fitting.baselines import MeanBaseline, RidgeBaseline
from trainer.fitting.train import train
from trainer.networks.predict import predict_raw

HIGHER_IS_BETTER = ("spearman", "pairwise_accuracy", "same_quartile")


def fold_indices(n: int, folds: int, seed: int) -> list[np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(part) for part in np.array_split(order, folds)]


@dataclass
class FoldRun:
    """Out-of-fold predictions (likes) per predictor, metrics per fold, stopping epochs."""

    predictions: dict[str, np.ndarray]
    per_fold: dict[str, list[dict]] = field(default_factory=dict)
    best_epochs: list[int] = field(default_factory=list)
    histories: list[dict] = field(default_factory=list)  # each fold network's loss per epoch

    @property
    def summary(self) -> dict[str, dict[str, dict[str, float]]]:
        return {name: mean_and_std(folds) for name, folds in self.per_fold.items()}


def baseline_folds(pixels: np.ndarray, likes: np.ndarray, folds: int,
                   seed: int) -> dict[str, np.ndarray]:
    """Out-of-fold predictions of the two baselines (ridge on image statistics, mean)."""
    predictions = {name: np.zeros(len(likes)) for name in ("ridge", "mean")}
    for test_idx in fold_indices(len(likes), folds, seed):
        train_idx = np.setdiff1d(np.arange(len(likes)), test_idx)
        for baseline in (RidgeBaseline(), MeanBaseline()):
            fitted = baseline.fit(pixels[train_idx], likes[train_idx])
            predictions[baseline.name][test_idx] = fitted.predict(pixels[test_idx])
    return predictions


def run_folds(pixels: np.ndarray, likes: np.ndarray, options: FitOptions, folds: int,
              members: int, echo: Callable[[str], None],
              after_fold: Callable | None = None) -> FoldRun:
    """Cross-validate ``members`` averaged networks of ``options``' recipe.

    ``after_fold(k, model, target, train_idx, test_idx)`` is called with each
    fold's last network (before its session is cleared), e.g. to export it.
    """

    parts = fold_indices(len(likes), folds, options.seed)
    # "cnn" is the recipe as asked; "cnn flip-averaged" / "cnn single view" is the
    # same networks the other way round, measured for free (one more predict).
    other = "cnn single view" if options.tta else "cnn flip-averaged"
    run = FoldRun({"cnn": np.zeros(len(likes)), other: np.zeros(len(likes)),
                   **baseline_folds(pixels, likes, folds, options.seed)})
    run.per_fold = {name: [] for name in run.predictions}
    with phase(echo, "folds", folds) as progress:
        for k, test_idx in enumerate(parts):
            _one_fold(run, k, test_idx, pixels, likes, options, (folds, members, other), echo,
                      after_fold)
            progress.step()
    return run


def _one_fold(run: FoldRun, k: int, test_idx: np.ndarray, pixels, likes, options: FitOptions,
              shape: tuple[int, int, str], echo, after_fold) -> None:
    """Fold ``k``: train its networks on the other folds, predict its photos, measure.
    ``shape``: (folds, networks per fold, the name of the other view's predictions)."""
    import keras

    folds, members, other = shape
    train_idx = np.setdiff1d(np.arange(len(likes)), test_idx)
    train_likes = likes[train_idx]
    target = Target.fit(options.target, train_likes)
    echo(f"fold {k + 1}/{folds}: {len(train_idx)} photos to train, {len(test_idx)} to test"
         + (f", {members} networks" if members > 1 else ""))
    raw, raw_other = np.zeros(len(test_idx)), np.zeros(len(test_idx))
    for member in range(members):
        model, history, best = train(pixels[train_idx], target.forward(train_likes), options,
                                     seed=options.seed + 1000 * member, echo=echo)
        raw += predict_raw(model, pixels[test_idx], options.tta) / members
        raw_other += predict_raw(model, pixels[test_idx], not options.tta) / members
        run.best_epochs.append(best)
        run.histories.append(history)
        if after_fold is not None and member == members - 1:
            after_fold(k, model, target, train_idx, test_idx)
        keras.backend.clear_session()  # free this network's graph before the next
    run.predictions["cnn"][test_idx] = target.inverse(raw)
    run.predictions[other][test_idx] = target.inverse(raw_other)
    for name in run.predictions:
        run.per_fold[name].append(regression_metrics(
            likes[test_idx], run.predictions[name][test_idx], train_likes))
    echo(f"  cnn Spearman {run.per_fold['cnn'][-1]['spearman']:.3f} (stopped at epoch "
         f"{', '.join(map(str, run.best_epochs[-members:]))}); ridge "
         f"{run.per_fold['ridge'][-1]['spearman']:.3f}")


def mean_and_std(folds: list[dict]) -> dict[str, dict[str, float]]:
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
        label = ("the mean predictor" if baseline == "mean"
                 else "the ridge regression on image statistics")
        if lost:
            lines.append(f"The CNN does NOT beat {label} on: {', '.join(lost)}.")
        else:
            lines.append(f"The CNN beats {label} on every metric.")
    return lines


def ridge_sentence(summary: dict, folds: int, what: str = "the CNN") -> str:
    """One plain sentence: better than the ridge baseline or not, by how much, with the
    spread. Where the folds' int8 exports were measured, of them: the int8 model is what
    ships, what the card records and what the gate compares, so one fit has one figure."""
    exported = "int8" in summary
    cnn, ridge = summary["int8" if exported else "cnn"]["spearman"], summary["ridge"]["spearman"]
    gap = cnn["mean"] - ridge["mean"]
    measured = (f"Spearman {cnn['mean']:.3f} ± {cnn['std']:.3f} against the ridge baseline's "
                f"{ridge['mean']:.3f} ± {ridge['std']:.3f} ({folds}-fold cross-validation")
    if exported:
        float_ = summary["cnn"]["spearman"]
        measured += (f", of each fold's int8 export as it ships; in float before the export "
                     f"{float_['mean']:.3f} ± {float_['std']:.3f}")
    measured += ")"
    if gap > max(cnn["std"], ridge["std"]):
        return f"Verdict: {what} is better than the ridge baseline by {gap:+.3f}: {measured}."
    if gap > 0:
        return (f"Verdict: {what} is ahead of the ridge baseline by only {gap:+.3f}, within the "
                f"fold spread: {measured}.")
    return f"Verdict: {what} is NOT better than the ridge baseline ({gap:+.3f}): {measured}."
