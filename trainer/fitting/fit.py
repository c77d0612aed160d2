"""Fit the CNN on a person's photos and likes, export it as int8 TFLite, verify it.

The steps follow the data: load the photos (with the scorer's preprocessing);
measure the recipe by k-fold cross-validation beside the mean and ridge
baselines (each fold's network also exported to int8 and run by the scorer,
so the int8 numbers are measured too) and let the folds' early stopping fix the
number of epochs; refuse to replace a better model; train the members on every
photo for that many epochs; average them in one graph; export to int8, run the
export under every installed TFLite runtime; write the card and plots. With
``folds=0`` the notebook's way is kept instead: one hold-out split.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from scorer.model.card import ModelCard, Target, write_card
from trainer.core.errors import DataError, TrainerError, WorseModelError
from trainer.core.metrics import format_table, regression_metrics
from trainer.core.narrator import phase
from trainer.core.recipe import MIN_PHOTOS, FitOptions, memory_needed
from trainer.data.layouts import load_dataset, load_pixels
from trainer.export.card import check_same_photos, read_previous_quality
from trainer.export.card_md import write_card_md
from trainer.export.fold_export import FoldExport
from trainer.export.gate import worse_than
from trainer.export.plots import plot_loss, plot_predicted_vs_actual
from trainer.export.publish import (
    FitResult,
    Graph,
    Measured,
    cross_validated,
    expected_quality,
    publish,
)
from trainer.fitting.folds import ridge_sentence, run_folds
from trainer.fitting.train import split_indices, train
from trainer.networks.predict import predict_raw

__all__ = ["FitOptions", "FitResult", "WorseModelError", "fit"]


def fit(data_dir: str | os.PathLike[str], out: str | os.PathLike[str], options: FitOptions,
        echo: Callable[[str], None] = print, force: bool = False) -> FitResult:
    out = Path(out)
    if out.suffix != ".tflite":
        raise TrainerError(f"{out}: the model file must end in .tflite")
    out.parent.mkdir(parents=True, exist_ok=True)
    dataset, pixels = _prepare(data_dir, options, echo)
    check_same_photos(out, dataset, force, echo)
    trend = _detrend(dataset, echo) if options.detrend else None
    if options.backbone != "none":
        from trainer.fitting.transfer import fit_on_backbone

        if options.folds < 2:
            raise TrainerError("a backbone's head is measured by cross-validation: --folds 2 "
                               "or more (or --backbone none for a hold-out split)")
        result = fit_on_backbone(dataset, pixels, out, options, echo, force)
    elif options.folds >= 2:
        result = _fit_cross_validated(dataset, pixels, out, options, echo, force)
    else:
        result = _fit_hold_out(dataset, pixels, out, options, echo, force)
    if trend is not None:
        result.card.detrend = trend
        write_card(result.model_path, result.card)
        write_card_md(result.model_path, result.card)
    if result.model_path != out:
        worse = worse_than(result.card.measured_spearman or 0.0, read_previous_quality(out) or 0.0)
        raise WorseModelError(f"{out}: not replaced: {worse}; the new model is kept as "
                              f"{result.model_path} with its card; --force replaces it anyway")
    return result


def _detrend(dataset, echo) -> dict:
    """Replace every sample's likes by its likes at the account's latest level."""
    from dataclasses import replace

    from trainer.data.trend import fit_trend

    times = dataset.post_times()
    trend = fit_trend(times, dataset.likes)
    adjusted = trend.adjust(dataset.likes)
    dataset.samples = [replace(s, likes=float(v))
                       for s, v in zip(dataset.samples, adjusted, strict=True)]
    summary = trend.to_json(times)
    echo(f"detrended: the account's level grew by {summary['growth_log1p']:+.2f} in log1p(likes) "
         f"from {summary['first_post']} to {summary['last_post']} (running median of "
         f"{trend.window} posts); training on likes at the latest level")
    return summary


def _prepare(data_dir, options: FitOptions, echo):
    dataset = load_dataset(data_dir)
    if len(dataset.samples) < max(MIN_PHOTOS, options.folds * 4):
        raise DataError(f"{data_dir}: {len(dataset.samples)} photos; at least "
                         f"{max(MIN_PHOTOS, options.folds * 4)} needed")
    skipped = ", ".join(f"{n} {why}" for why, n in dataset.skipped.items())
    echo(f"{len(dataset.samples)} photos with likes in {data_dir} ({dataset.layout} layout"
         + (f"; skipped {skipped})" if skipped else ")"))
    if options.backbone != "none":
        echo(f"this fit will need about {memory_needed(len(dataset.samples), options) / 1e9:.1f}"
             " GB of memory at its peak")
    with phase(echo, "photos", len(dataset.samples)) as progress:
        return dataset, load_pixels(dataset, options.img_size, on_photo=progress.step)


# ---- the default: cross-validate, then train the members on every photo ----------------

def _fit_cross_validated(dataset, pixels, out: Path, options: FitOptions, echo, force: bool):
    likes = dataset.likes
    echo(f"measuring the recipe: {options.folds}-fold cross-validation, one {options.architecture} "
         f"network per fold (target {options.target}, augment "
         f"{','.join(options.augment) or 'none'})")
    with tempfile.TemporaryDirectory() as tmp:
        int8 = np.zeros(len(likes))
        exporter = FoldExport(Path(tmp), pixels, likes, options, int8)
        run = run_folds(pixels, likes, options, options.folds, 1, echo, after_fold=exporter)
    exporter.record(run)
    summary = run.summary
    sentence = ridge_sentence(summary, options.folds, "one network of this recipe")
    echo(sentence)
    from trainer.fitting.transfer import falls_short, fit_fallback

    if falls_short(summary) and options.fallback == "ridge":
        return fit_fallback(dataset, pixels, out, options, echo, force)
    epochs = (int(statistics.median(run.best_epochs)) if options.early_stopping
              else options.epochs)
    target = Target.fit(options.target, likes)
    members, histories = [], []
    with phase(echo, "members", options.members) as progress:
        for m in range(options.members):
            echo(f"member {m + 1}/{options.members}: training on all {len(likes)} photos for "
                 f"{epochs} epochs (the median of the folds' stopping points)")
            model, history, _ = train(pixels, target.forward(likes), options, epochs=epochs,
                                      seed=options.seed + 1000 * m, echo=echo)
            members.append(model)
            histories.append(history)
            progress.step()
    from trainer.networks.ensemble import average

    model = average(members, options.img_size, options.tta) if (
        len(members) > 1 or options.tta) else members[0]
    graph = Graph(model, pixels, likes, target, options, dataset, epochs)
    return publish(graph, out, lambda card, agreement: _cross_validated_card(
        card, agreement, run, histories, likes, options, sentence), echo, force)


def _cross_validated_card(card: ModelCard, agreement: dict, run, histories, likes,
                          options: FitOptions, sentence: str) -> Measured:
    summary = run.summary
    validation, table = cross_validated(
        summary, options.folds, len(likes),
        f"{options.folds}-fold cross-validation, out-of-fold, one network per fold (the "
        f"exported average of {options.members} trained on every photo is expected to do at "
        "least as well; docs/STUDY.md)")
    card.metrics = {
        "validation": validation,
        "cross_validation": {"folds": options.folds, "summary": summary,
                             "stopping_epochs": run.best_epochs},
        "int8_vs_keras": agreement,
    }
    card.expected_quality = expected_quality(summary, sentence)
    plots = {"loss": lambda path: plot_loss(histories, path, folds=run.histories),
             "predicted": lambda path: plot_predicted_vs_actual(
                 likes, run.predictions["int8"], path,
                 f"{options.folds}-fold cross-validation, int8, out of fold")}
    return Measured(table, summary["int8"]["spearman"]["mean"], sentence, plots)


# ---- the notebook's way: one hold-out split ------------------------------------------

def _fit_hold_out(dataset, pixels, out: Path, options: FitOptions, echo, force: bool):
    likes = dataset.likes
    train_idx, val_idx = split_indices(len(likes), options.val_split, options.seed)
    train_likes, val_likes = likes[train_idx], likes[val_idx]
    target = Target.fit(options.target, train_likes)
    monitor = None if options.early_stopping else (pixels[val_idx], target.forward(val_likes))
    echo(f"training {options.architecture} for up to {options.epochs} epochs on "
         f"{len(train_idx)} photos, {len(val_idx)} held out (target {options.target}, augment "
         f"{','.join(options.augment) or 'none'}, early stopping "
         f"{'on' if options.early_stopping else 'off'})")
    members, histories = [], []
    for m in range(options.members):
        model, history, epochs = train(pixels[train_idx], target.forward(train_likes), options,
                                       seed=options.seed + 1000 * m, monitor=monitor, echo=echo)
        members.append(model)
        histories.append(history)
    from trainer.networks.ensemble import average

    model = average(members, options.img_size, options.tta) if (
        len(members) > 1 or options.tta) else members[0]
    echo(f"{model.count_params():,} parameters")
    keras_likes = target.inverse(predict_raw(model, pixels[val_idx]))
    graph = Graph(model, pixels[train_idx], train_likes, target, options, dataset, epochs,
                  check=(pixels[val_idx], keras_likes, val_likes))
    return publish(graph, out, lambda card, agreement: _hold_out_card(
        card, agreement, histories, keras_likes, train_likes, val_likes, options), echo, force)


def _hold_out_card(card: ModelCard, agreement: dict, histories, keras_likes, train_likes,
                   val_likes, options: FitOptions) -> Measured:
    int8_likes = agreement.pop("int8_likes")
    rows = {
        "keras": regression_metrics(val_likes, keras_likes, train_likes),
        "int8": regression_metrics(val_likes, int8_likes, train_likes),
        "mean baseline": regression_metrics(val_likes, np.full(len(val_likes), train_likes.mean()),
                                            train_likes),
    }
    n = len(val_likes)
    card.metrics = {"validation": {"how": f"one hold-out split of {n} photos", "n": int(n),
                                   **rows},
                    "int8_vs_keras": agreement}
    card.training["validation_photos"] = int(n)
    plots = {"loss": lambda path: plot_loss(
                 histories, path, "early-stopping split" if options.early_stopping
                 else "validation"),
             "predicted": lambda path: plot_predicted_vs_actual(
                 val_likes, int8_likes, path, f"hold-out split of {n} photos, int8")}
    return Measured(format_table(rows, n), rows["int8"]["spearman"], None, plots)
