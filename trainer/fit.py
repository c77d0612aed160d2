"""Fit the CNN on a person's photos and likes, export it as int8 TFLite, verify it.

The steps follow the data: load the photos (with the scorer's preprocessing),
split them, train, evaluate against a mean-predictor baseline, export to int8,
run the export under every installed TFLite runtime, and write the model card
and the loss plot beside the model. Each step is one small function below.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from scorer.card import SCHEMA_VERSION, Target, card_path_for, likes_distribution

from . import __version__
from .data import load_dataset, load_pixels
from .metrics import format_table, regression_metrics

# The defaults of `spe-train fit`, chosen by the study in docs/STUDY.md: the
# notebook's input and optimiser, with four changes that helped at 185 and at
# 2,000 photos: the notebook's network plus a branch that compares the photo
# with its mirror image ("mirror"), standardised log1p(likes) as the target
# instead of raw likes, mirrored photos at random while training, and early
# stopping (epochs is then an upper bound). `--recipe notebook` gives the
# original recipe.
EPOCHS = 60
BATCH_SIZE = 32
VAL_SPLIT = 0.2
SEED = 0
IMG_SIZE = 64
ARCHITECTURE = "mirror"
TARGET = "log1p-std"
AUGMENT: tuple[str, ...] = ("flip",)
EARLY_STOPPING = True
EARLY_STOPPING_SPLIT = 0.1  # of the training photos, when early stopping is on
EARLY_STOPPING_PATIENCE = 10
# The stopping split is small (a tenth of a few hundred photos) and its loss
# jumps about in the first epochs; never stop, nor pick weights, before this.
EARLY_STOPPING_START = 10
LEARNING_RATE = 1e-3  # Adam's default, as the notebook used
PIXEL_SCALE = 1.0 / 255.0
MIN_PHOTOS = 10


@dataclass(frozen=True)
class FitOptions:
    epochs: int = EPOCHS
    batch_size: int = BATCH_SIZE
    val_split: float = VAL_SPLIT
    seed: int = SEED
    img_size: int = IMG_SIZE
    architecture: str = ARCHITECTURE
    target: str = TARGET
    augment: tuple[str, ...] = AUGMENT
    early_stopping: bool = EARLY_STOPPING


# The original notebook's recipe, kept by name for comparison (`--recipe notebook`).
NOTEBOOK_RECIPE = dict(architecture="notebook", target="raw", augment=(), early_stopping=False,
                       img_size=64, epochs=30, batch_size=32)


@dataclass
class FitResult:
    model_path: Path
    card: dict
    table: str


def split_indices(n: int, val_split: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed-seed shuffle, then the last ``val_split`` share is validation."""
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(round(n * val_split)))
    return np.sort(order[:-n_val]), np.sort(order[-n_val:])


def train(pixels: np.ndarray, targets: np.ndarray, options: FitOptions,
          echo: Callable[[str], None], monitor: tuple[np.ndarray, np.ndarray] | None = None,
          verbose: int = 2):
    """Fit a fresh network on uint8 ``pixels`` and (transformed) ``targets``.

    With early stopping, a fixed-seed tenth of these training photos decides
    when to stop (and which weights to keep), so the caller's validation photos
    stay unseen. Otherwise ``monitor`` (if given) is only watched, for the plot.
    """
    import keras
    import tensorflow as tf

    from .augment import augmenter
    from .model import build_model

    keras.utils.set_random_seed(options.seed)
    tf.config.experimental.enable_op_determinism()
    x = pixels.astype(np.float32) * PIXEL_SCALE
    y = np.asarray(targets, dtype=np.float32)
    callbacks = []
    validation = None
    if monitor is not None:
        validation = (monitor[0].astype(np.float32) * PIXEL_SCALE, np.asarray(monitor[1], np.float32))
    if options.early_stopping:
        fit_idx, stop_idx = split_indices(len(x), EARLY_STOPPING_SPLIT, options.seed + 1)
        validation = (x[stop_idx], y[stop_idx])
        x, y = x[fit_idx], y[fit_idx]
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=EARLY_STOPPING_PATIENCE, restore_best_weights=True,
            start_from_epoch=EARLY_STOPPING_START))
    model = build_model(options.architecture, options.img_size)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="mse")
    echo(f"training {options.architecture} ({model.count_params():,} parameters) for up to "
         f"{options.epochs} epochs on {len(x)} photos (target {options.target}, augment "
         f"{','.join(options.augment) or 'none'}, early stopping "
         f"{'on' if options.early_stopping else 'off'})")
    data = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=options.seed)
    if options.augment:
        data = data.map(augmenter(options.augment, options.img_size, options.seed))
    data = data.batch(options.batch_size).prefetch(2)
    history = model.fit(data, validation_data=validation, epochs=options.epochs,
                        callbacks=callbacks, verbose=verbose, shuffle=False)  # shuffled above
    return model, history.history


def plot_loss(history: dict, path: Path, early_stopping: bool = False) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(history["loss"], label="training loss")
    if "val_loss" in history:
        # With early stopping the monitored photos are the stopping split, a tenth
        # of the training photos; without it, the validation photos.
        ax.plot(history["val_loss"], label="early-stopping split loss" if early_stopping
                else "validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean squared error")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def fit(data_dir: str | os.PathLike[str], out: str | os.PathLike[str], options: FitOptions,
        echo: Callable[[str], None] = print) -> FitResult:
    from .export import export_int8, representative_set, run_exported

    out = Path(out)
    if out.suffix != ".tflite":
        raise ValueError(f"{out}: the model file must end in .tflite")
    out.parent.mkdir(parents=True, exist_ok=True)

    # Prepare the data.
    dataset = load_dataset(data_dir)
    if len(dataset.samples) < MIN_PHOTOS:
        raise ValueError(f"{data_dir}: {len(dataset.samples)} photos; at least {MIN_PHOTOS} needed")
    skipped = ", ".join(f"{n} {why}" for why, n in dataset.skipped.items())
    echo(f"{len(dataset.samples)} photos with likes in {data_dir} ({dataset.layout} layout"
         + (f"; skipped {skipped})" if skipped else ")"))
    pixels = load_pixels(dataset, options.img_size)
    likes = dataset.likes
    train_idx, val_idx = split_indices(len(likes), options.val_split, options.seed)
    train_likes = likes[train_idx]
    target = Target.fit(options.target, train_likes)

    # Train.
    monitor = None if options.early_stopping else (pixels[val_idx], target.forward(likes[val_idx]))
    model, history = train(pixels[train_idx], target.forward(train_likes), options, echo, monitor)

    # Evaluate the Keras model and the baseline.
    val_likes = likes[val_idx]
    keras_raw = model.predict(pixels[val_idx].astype(np.float32) * PIXEL_SCALE, verbose=0).ravel()
    keras_likes = target.inverse(keras_raw)

    # Export to int8 and run it under every installed runtime.
    echo("exporting full-integer int8 TFLite")
    tflite = export_int8(model, representative_set(model, pixels[train_idx], options.seed,
                                                   PIXEL_SCALE), PIXEL_SCALE)
    write_atomically(out, tflite)
    card = build_card(out, tflite, target, train_likes, options, dataset, len(val_idx), history)
    write_card(out, card)  # the runtimes refuse a model without its card
    outputs = run_exported(out, pixels[val_idx])
    int8_likes, agreement = check_runtimes(outputs, target, keras_likes, val_likes)

    rows = {
        "keras": regression_metrics(val_likes, keras_likes, train_likes),
        "int8": regression_metrics(val_likes, int8_likes, train_likes),
        "mean baseline": regression_metrics(val_likes, np.full(len(val_likes), train_likes.mean()),
                                            train_likes),
    }
    card["metrics"] = {"validation": {"n": int(len(val_idx)), **rows}, "int8_vs_keras": agreement}
    write_card(out, card)
    plot_path = out.with_suffix(".loss.png")
    plot_loss(history, plot_path, options.early_stopping)
    table = format_table(rows, len(val_idx))
    echo(table)
    echo(f"int8 vs keras: mean |difference| {agreement['mean_abs_diff']:.2f} likes = "
         f"{agreement['relative_to_val_std']:.2%} of the validation likes' std; runtimes "
         f"{', '.join(agreement['runtimes'])} agree")
    echo(f"wrote {out}, {card_path_for(out)} and {plot_path}")
    return FitResult(out, card, table)


def check_runtimes(outputs: dict[str, np.ndarray], target: Target, keras_likes: np.ndarray,
                   val_likes: np.ndarray) -> tuple[np.ndarray, dict]:
    """Every runtime must give the same outputs; measure int8 against Keras."""
    first_name, first = next(iter(outputs.items()))
    for name, other in outputs.items():
        if not np.allclose(other, first, rtol=0, atol=1e-6):
            raise RuntimeError(f"{name} and {first_name} disagree on the exported model")
    int8_likes = target.inverse(first)
    diff = np.abs(int8_likes - keras_likes)
    std = float(val_likes.std()) or 1.0
    return int8_likes, {
        "runtimes": sorted(outputs),
        "mean_abs_diff": float(diff.mean()),
        "max_abs_diff": float(diff.max()),
        "relative_to_val_std": float(diff.mean() / std),
    }


def build_card(out: Path, tflite: bytes, target: Target, train_likes: np.ndarray,
               options: FitOptions, dataset, n_val: int, history: dict) -> dict:
    return {
        "schema": SCHEMA_VERSION,
        "model_file": out.name,
        "sha256": hashlib.sha256(tflite).hexdigest(),
        "size_bytes": len(tflite),
        "quantization": "full-integer int8 (weights, activations, input, output)",
        "input": {
            "height": options.img_size,
            "width": options.img_size,
            "channels": 3,
            "channel_order": "RGB",
            "resize": "squash to square, cv2.INTER_AREA, EXIF orientation applied",
            "pixel_scaling": {"scale": PIXEL_SCALE, "offset": 0.0},
        },
        "target": target.to_json(),
        "likes_distribution": likes_distribution(train_likes),
        "training": {
            **asdict(options),
            "data": str(dataset.folder),
            "layout": dataset.layout,
            "photos": len(dataset.samples),
            "train_photos": int(len(train_likes)),
            "validation_photos": n_val,
            "skipped": dict(dataset.skipped),
            "optimizer": f"Adam(learning_rate={LEARNING_RATE})",
            "loss": "mean squared error",
            "epochs_run": len(history["loss"]),
            "final_loss": float(history["loss"][-1]),
        },
        "trainer_version": __version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def write_card(out: Path, card: dict) -> None:
    write_atomically(card_path_for(out), (json.dumps(card, indent=2) + "\n").encode("utf-8"))
