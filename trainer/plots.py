"""The pictures `fit` leaves beside a model: the loss curves, and predicted against actual."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_loss(histories: list[dict], path: Path, held_out: str = "") -> None:
    """Training loss of every member (and the held-out loss, when there was one)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for index, history in enumerate(histories):
        label = f" (network {index + 1})" if len(histories) > 1 else ""
        ax.plot(history["loss"], label=f"training loss{label}")
        if "val_loss" in history and held_out:
            ax.plot(history["val_loss"], "--", label=f"{held_out} loss{label}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean squared error")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
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
