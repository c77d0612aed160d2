"""How close predicted likes are to actual likes, in the units people care about."""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr


def regression_metrics(actual: np.ndarray, predicted: np.ndarray,
                       reference: np.ndarray | None = None) -> dict[str, float]:
    """MAE and RMSE in likes, MAE on log1p(likes), Spearman, pairwise ranking accuracy,
    and the share in the same quartile (of ``reference``, the training likes, if given)."""
    actual = np.asarray(actual, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    error = predicted - actual
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae_log1p": float(np.mean(np.abs(np.log1p(np.maximum(predicted, 0)) - np.log1p(actual)))),
        "spearman": spearman(actual, predicted),
        "pairwise_accuracy": pairwise_accuracy(actual, predicted),
        "same_quartile": same_quartile(actual, predicted, reference),
    }


def spearman(actual: np.ndarray, predicted: np.ndarray) -> float:
    # A constant prediction (the mean predictor) has no rank order: 0, not NaN.
    if np.ptp(predicted) == 0 or np.ptp(actual) == 0:
        return 0.0
    return float(spearmanr(actual, predicted).statistic)


def pairwise_accuracy(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Of two photos with different likes, how often the one with more is ranked higher.

    Ties in the prediction count half, so a constant predictor scores 0.5.
    """
    i, j = np.triu_indices(len(actual), k=1)
    differ = actual[i] != actual[j]
    if not differ.any():
        return 0.5
    truth = np.sign(actual[i] - actual[j])[differ]
    guess = np.sign(predicted[i] - predicted[j])[differ]
    return float(np.mean(np.where(guess == 0, 0.5, guess == truth)))


def same_quartile(actual: np.ndarray, predicted: np.ndarray,
                  reference: np.ndarray | None = None) -> float:
    """Share of photos whose predicted and actual likes fall in the same quartile.

    Quartiles are those of ``reference`` (the training likes) when given.
    """
    edges = np.percentile(actual if reference is None else reference, [25, 50, 75])
    return float(np.mean(np.searchsorted(edges, actual) == np.searchsorted(edges, predicted)))


def format_table(rows: dict[str, dict[str, float]], n: int) -> str:
    """A plain-text table, one row per predictor (the name column as wide as its longest)."""
    width = max(16, *(len(name) + 1 for name in rows))
    header = (f"{'model':<{width}}{'MAE':>10}{'RMSE':>10}{'MAE log1p':>11}{'Spearman':>10}"
              f"{'pairs':>8}{'quartile':>10}")
    lines = [f"photos: {n}", header, "-" * len(header)]
    for name, m in rows.items():
        lines.append(f"{name:<{width}}{m['mae']:>10.1f}{m['rmse']:>10.1f}"
                     f"{m['mae_log1p']:>11.3f}{m['spearman']:>10.3f}"
                     f"{m['pairwise_accuracy']:>8.3f}{m['same_quartile']:>10.1%}")
    lines.append("pairs: of two photos, how often the one with more likes is ranked higher; "
                 "quartile: share whose predicted and actual likes fall in the same quartile")
    return "\n".join(lines)
