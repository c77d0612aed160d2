"""The pictures `fit` leaves beside a model: the loss curves, and predicted against actual."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_loss(histories: list[dict], path: Path, held_out: str = "",
              folds: list[dict] | None = None) -> None:
    """Training loss of every member (and the held-out loss, when there was one), and of
    each cross-validation fold's network beside its held-out (early-stopping) loss;
    epochs numbered from 1, as the console counts them."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))

    def curve(values, style, label, **kwargs):
        ax.plot(range(1, len(values) + 1), values, style, label=label, **kwargs)

    for index, history in enumerate(histories):
        label = f" (network {index + 1})" if len(histories) > 1 else ""
        curve(history["loss"], "-", f"training loss{label}")
        if "val_loss" in history and held_out:
            curve(history["val_loss"], "--", f"{held_out} loss{label}")
    for index, history in enumerate(folds or []):
        curve(history["loss"], "-", f"fold {index + 1}: training", lw=0.8, alpha=0.6)
        if "val_loss" in history:
            curve(history["val_loss"], ":", f"fold {index + 1}: held out", lw=1.2)
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean squared error")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_predicted_vs_actual(likes: np.ndarray, predicted: np.ndarray, path: Path,
                             title: str) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(likes + 1, predicted + 1, s=8, alpha=0.5)
    low, high = min(likes.min(), predicted.min()) + 1, max(likes.max(), predicted.max()) + 1
    ax.plot([low, high], [low, high], "k--", lw=1, label="perfect prediction")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("actual likes + 1")
    ax.set_ylabel("predicted likes + 1")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
