"""Train one network of a recipe: the loop that `fit`, `cv` and the study share."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from scorer.core.progress import time_left
from trainer.core import recipe
from trainer.core.recipe import FitOptions


def split_indices(n: int, val_split: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed-seed shuffle, then the last ``val_split`` share is held out."""
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(round(n * val_split)))
    return np.sort(order[:-n_val]), np.sort(order[-n_val:])


def train(pixels: np.ndarray, targets: np.ndarray, options: FitOptions, *,
          epochs: int | None = None, seed: int | None = None,
          monitor: tuple[np.ndarray, np.ndarray] | None = None,
          echo: Callable[[str], None] | None = None):
    """Fit a fresh network on uint8 ``pixels`` and (transformed) ``targets``.

    With ``epochs`` given, train exactly that long on every photo given (how
    `fit` trains its final members). Otherwise, with early stopping, a
    fixed-seed share of these photos decides when to stop and which weights to
    keep, so the caller's test photos stay unseen; ``monitor`` (if given) is
    only watched, for the plot. Returns the model, Keras's history and the
    number of epochs that counted (the best epoch when stopping early).
    """
    import keras
    import tensorflow as tf

    from trainer.data.augment import augmenter
    from trainer.fitting.ridge_start import start_at_ridge
    from trainer.networks.model import build_model

    seed = options.seed if seed is None else seed
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    x = pixels.astype(np.float32) * recipe.PIXEL_SCALE
    y = np.asarray(targets, dtype=np.float32)
    validation = None
    if monitor is not None:
        validation = (monitor[0].astype(np.float32) * recipe.PIXEL_SCALE,
                      np.asarray(monitor[1], np.float32))
    stopping = options.early_stopping and epochs is None
    if stopping:
        fit_idx, stop_idx = split_indices(len(x), recipe.EARLY_STOPPING_SPLIT, seed + 1)
        validation = (x[stop_idx], y[stop_idx])
        x, y = x[fit_idx], y[fit_idx]
    callbacks = _callbacks(options, stopping, echo)
    model = build_model(options.architecture, options.img_size)
    start_at_ridge(model, x, y)  # only networks with a statistics branch have one
    optimizer = (keras.optimizers.AdamW(recipe.LEARNING_RATE, weight_decay=options.weight_decay)
                 if options.weight_decay else keras.optimizers.Adam(recipe.LEARNING_RATE))
    model.compile(optimizer=optimizer, loss="mse")
    data = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed)
    if options.augment:
        data = data.map(augmenter(options.augment, options.img_size, seed))
    data = data.batch(options.batch_size).prefetch(2)
    history = model.fit(data, validation_data=validation, epochs=epochs or options.epochs,
                        callbacks=callbacks, verbose=0, shuffle=False).history  # shuffled above
    counted = len(history["loss"])
    if stopping:
        start = min(recipe.EARLY_STOPPING_START, counted - 1)
        counted = start + int(np.argmin(history["val_loss"][start:])) + 1
    return model, history, counted


def _callbacks(options: FitOptions, stopping: bool, echo: Callable[[str], None] | None) -> list:
    import keras

    callbacks: list = []
    if stopping:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=recipe.EARLY_STOPPING_PATIENCE,
            restore_best_weights=True, start_from_epoch=recipe.EARLY_STOPPING_START))
    if options.lr_plateau:
        # On the training loss, so the final members (no stopping split) follow
        # the same rule as the fold networks that fixed their epochs.
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor="loss", factor=0.5, patience=recipe.LR_PLATEAU_PATIENCE, min_lr=1e-5))
    if echo is not None:
        callbacks.append(epoch_lines(echo))
    return callbacks


def epoch_lines(echo: Callable[[str], None]):
    """A Keras callback that reports each epoch on the trainer's own output (stderr),
    so standard output stays free for data."""
    import keras

    class EpochLines(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.started = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            parts = [f"loss {logs.get('loss', float('nan')):.4f}"]
            if "val_loss" in logs:
                parts.append(f"held-out loss {logs['val_loss']:.4f}")
            total = int(self.params.get("epochs") or epoch + 1)
            per_epoch = (time.monotonic() - self.started) / (epoch + 1)
            # An upper bound: early stopping may end the training sooner.
            parts.append(f"{per_epoch:.1f} s/epoch, at most "
                         f"{time_left(total - epoch - 1, 1 / per_epoch if per_epoch else 0)}")
            echo(f"  epoch {epoch + 1}/{total}: " + ", ".join(parts))

    return EpochLines()
