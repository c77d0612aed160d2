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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scorer.card import ModelCard, Target, card_path_for, write_card
from scorer.ownfiles import rename_durably
from scorer.runtime import kernels_reason

from .card import build_card, check_same_photos, read_previous_quality
from .card_md import write_card_md
from .data import load_dataset, load_pixels
from .errors import DataError, ExportError, TrainerError, WorseModelError
from .folds import ridge_sentence, run_folds
from .metrics import format_table, regression_metrics
from .plots import plot_loss, plot_predicted_vs_actual
from .recipe import MIN_PHOTOS, PIXEL_SCALE, FitOptions
from .train import predict_raw, split_indices, train

__all__ = ["FitOptions", "FitResult", "WorseModelError", "fit"]
AGREEMENT_PHOTOS = 500  # photos the int8 export is compared with the Keras model on


@dataclass
class FitResult:
    model_path: Path
    card: ModelCard
    table: str




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
        from .transfer import fit_on_backbone

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
        worse = _worse_than(result.card.measured_spearman or 0.0, read_previous_quality(out) or 0.0)
        raise WorseModelError(f"{out}: not replaced: {worse}; the new model is kept as "
                              f"{result.model_path} with its card; --force replaces it anyway")
    return result


def _detrend(dataset, echo) -> dict:
    """Replace every sample's likes by its likes at the account's latest level."""
    from dataclasses import replace

    from .trend import fit_trend

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
    return dataset, load_pixels(dataset, options.img_size)


# ---- the default: cross-validate, then train the members on every photo ----------------

def _fit_cross_validated(dataset, pixels, out: Path, options: FitOptions, echo, force: bool):
    likes = dataset.likes
    echo(f"measuring the recipe: {options.folds}-fold cross-validation, one {options.architecture} "
         f"network per fold (target {options.target}, augment "
         f"{','.join(options.augment) or 'none'})")
    with tempfile.TemporaryDirectory() as tmp:
        int8 = np.zeros(len(likes))
        exporter = _FoldExport(Path(tmp), pixels, likes, options, int8)
        run = run_folds(pixels, likes, options, options.folds, 1, echo, after_fold=exporter)
    run.predictions["int8"] = int8
    run.per_fold["int8"] = [regression_metrics(likes[idx], int8[idx], likes[np.setdiff1d(
        np.arange(len(likes)), idx)]) for idx in exporter.test_parts]
    summary = run.summary
    sentence = ridge_sentence(summary, options.folds, "one network of this recipe")
    echo(sentence)
    from .transfer import falls_short, fit_fallback

    if falls_short(summary) and options.fallback == "ridge":
        return fit_fallback(dataset, pixels, out, options, echo, force)
    out = _check_gate(out, summary["int8"]["spearman"]["mean"], force, echo)

    epochs = (int(statistics.median(run.best_epochs)) if options.early_stopping
              else options.epochs)
    target = Target.fit(options.target, likes)
    members, histories = [], []
    for m in range(options.members):
        echo(f"member {m + 1}/{options.members}: training on all {len(likes)} photos for "
             f"{epochs} epochs (the median of the folds' stopping points)")
        model, history, _ = train(pixels, target.forward(likes), options, epochs=epochs,
                                  seed=options.seed + 1000 * m, echo=echo)
        members.append(model)
        histories.append(history)
    from .ensemble import average

    model = average(members, options.img_size, options.tta) if (
        len(members) > 1 or options.tta) else members[0]
    card, agreement = _export(model, pixels, likes, target, out, options, dataset, echo,
                              epochs=epochs)
    rows = {name: {metric: v["mean"] for metric, v in summary[name].items()}
            for name in ("cnn", "int8", "ridge", "mean")}
    card.metrics = {
        "validation": {"how": f"{options.folds}-fold cross-validation, out-of-fold, one network "
                              "per fold (the exported average of "
                              f"{options.members} trained on every photo is expected to do at "
                              "least as well; docs/STUDY.md)",
                       "n": int(len(likes)), "keras": rows["cnn"], "int8": rows["int8"],
                       "mean baseline": rows["mean"], "ridge baseline": rows["ridge"]},
        "cross_validation": {"folds": options.folds, "summary": summary,
                             "stopping_epochs": run.best_epochs},
        "int8_vs_keras": agreement,
    }
    card.expected_quality = _expected_quality(summary, sentence)
    table = format_table({"keras (cv)": rows["cnn"], "int8 (cv)": rows["int8"],
                          "ridge baseline": rows["ridge"], "mean baseline": rows["mean"]},
                         len(likes)).replace("photos:", f"{options.folds}-fold cross-validation, "
                                                        "photos:", 1)
    plot_loss(histories, out.with_suffix(".loss.png"), folds=run.histories)
    plot_predicted_vs_actual(likes, run.predictions["int8"], out.with_suffix(".predicted.png"),
                             f"{options.folds}-fold cross-validation, int8, out of fold")
    return _report(out, card, table, agreement, sentence, echo)


class _FoldExport:
    """After each fold: export its network to int8, run it in the scorer, keep the predictions."""

    def __init__(self, folder: Path, pixels, likes, options: FitOptions, int8: np.ndarray,
                 calibration: dict | None = None):
        self.folder, self.pixels, self.likes = folder, pixels, likes
        self.options, self.int8, self.test_parts = options, int8, []
        self.calibration = calibration or {}  # representative_set's sizes, if not its own

    def __call__(self, k, model, target, train_idx, test_idx) -> None:
        from .export import export_int8, representative_set, run_exported

        path = self.folder / f"fold{k + 1}.tflite"
        tflite = export_int8(model, representative_set(model, self.pixels[train_idx],
                                                       self.options.seed, **self.calibration),
                             PIXEL_SCALE)
        path.write_bytes(tflite)
        card = build_card(path, tflite, target, self.likes[train_idx], self.options, None, 0)
        write_card(path, card)
        raw = next(iter(run_exported(path, self.pixels[test_idx], first_only=True).values()))
        self.int8[test_idx] = target.inverse(raw)
        self.test_parts.append(test_idx)


def refused_path(out: Path) -> Path:
    """Where a model the gate did not let replace ``out`` is kept: the work is not lost."""
    return out.with_name(f"{out.stem}.refused.tflite")


def _check_gate(out: Path, spearman: float, force: bool, echo) -> Path:
    """Where the new model goes: ``out``, unless the model there measured better on the
    same photos (or the new one is no better than a constant); then beside it
    (refused_path), and fit ends with the gate's error naming both."""
    previous = read_previous_quality(out)
    if previous is None:
        return out
    worse = _worse_than(spearman, previous)
    if not worse:
        return out
    if force:
        echo(f"replacing {out} although {worse} (--force)")
        return out
    echo(f"{out} is not replaced: {worse}; the new model goes to {refused_path(out)}")
    return refused_path(out)


def _worse_than(spearman: float, previous: float) -> str:
    worse = []
    if spearman <= 0.0:
        worse.append(f"its Spearman {spearman:.3f} is no better than the mean predictor's 0")
    if spearman < previous:
        worse.append(f"its Spearman {spearman:.3f} is below the existing model's {previous:.3f}")
    return " and ".join(worse)


def _expected_quality(summary: dict, sentence: str) -> dict:
    def pick(name, metric):
        return {"mean": summary[name][metric]["mean"], "std": summary[name][metric]["std"]}

    return {"spearman": pick("int8", "spearman"), "mae_log1p": pick("int8", "mae_log1p"),
            "pairwise_accuracy": pick("int8", "pairwise_accuracy"),
            "ridge_spearman": pick("ridge", "spearman"),
            "mean_mae_log1p": pick("mean", "mae_log1p"),
            "verdict": sentence}


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
    from .ensemble import average

    model = average(members, options.img_size, options.tta) if (
        len(members) > 1 or options.tta) else members[0]
    echo(f"{model.count_params():,} parameters")
    keras_likes = target.inverse(predict_raw(model, pixels[val_idx]))
    card, agreement = _export(model, pixels[train_idx], train_likes, target, out, options,
                              dataset, echo, epochs=epochs, check=(pixels[val_idx], keras_likes,
                                                                   val_likes))
    int8_likes = agreement.pop("int8_likes")
    rows = {
        "keras": regression_metrics(val_likes, keras_likes, train_likes),
        "int8": regression_metrics(val_likes, int8_likes, train_likes),
        "mean baseline": regression_metrics(val_likes, np.full(len(val_likes), train_likes.mean()),
                                            train_likes),
    }
    out = _check_gate(out, rows["int8"]["spearman"], force, echo)
    card.metrics = {"validation": {"how": f"one hold-out split of {len(val_idx)} photos",
                                      "n": int(len(val_idx)), **rows},
                       "int8_vs_keras": agreement}
    card.training["validation_photos"] = int(len(val_idx))
    table = format_table(rows, len(val_idx))
    plot_loss(histories, out.with_suffix(".loss.png"),
              "early-stopping split" if options.early_stopping else "validation")
    plot_predicted_vs_actual(val_likes, int8_likes, out.with_suffix(".predicted.png"),
                             f"hold-out split of {len(val_idx)} photos, int8")
    return _report(out, card, table, agreement, None, echo)


# ---- shared: export, verify, report ---------------------------------------------------

def _export(model, pixels, likes, target: Target, out: Path, options: FitOptions, dataset, echo,
            epochs: int, check=None) -> tuple[ModelCard, dict]:
    """Export to int8 beside its card; compare int8 with Keras under every runtime.

    ``check`` = (pixels, keras likes, actual likes) to compare on; by default a
    sample of the training photos (all photos trained the final model).
    """
    from .export import export_int8, measure_kernels, representative_set, run_exported

    echo("exporting full-integer int8 TFLite")
    tflite = export_int8(model, representative_set(model, pixels, options.seed),
                         PIXEL_SCALE)
    # Written beside `out` and put in its place only once verified (and past the gate).
    tmp = out.with_name(f".{out.stem}.new.tflite")
    tmp.write_bytes(tflite)
    card = build_card(tmp, tflite, target, likes, options, dataset, epochs)
    card.model_file = out.name
    card.parameters = int(model.count_params())
    write_card(tmp, card)
    if check is None:
        sample = np.random.default_rng(options.seed).permutation(len(pixels))[:AGREEMENT_PHOTOS]
        check = (pixels[sample], target.inverse(predict_raw(model, pixels[sample])), likes[sample])
    check_pixels, keras_likes, actual = check
    timings: dict[str, float] = {}
    try:
        outputs = run_exported(tmp, check_pixels, timings)
        card.kernels = measure_kernels(tmp, check_pixels, outputs, target, keras_likes)
    finally:
        card_path_for(tmp).unlink(missing_ok=True)
    agreement = _agreement(outputs, target, keras_likes, actual)
    agreement["file"] = str(tmp)
    scratch = options.backbone == "none"
    card.cost = {"size_bytes": len(tflite), "parameters": int(model.count_params()),
                    "members": options.members if scratch else 1,
                    "flip_averaged": options.tta and scratch,
                    "ms_per_photo_one_thread": timings,
                    "measured_on": f"{len(check_pixels)} photos, batches of 32, built-in kernels"}
    return card, agreement


def _agreement(outputs: dict[str, np.ndarray], target: Target, keras_likes: np.ndarray,
               actual: np.ndarray) -> dict:
    """Every runtime must give the same outputs; measure int8 against Keras."""
    first_name, first = next(iter(outputs.items()))
    for name, other in outputs.items():
        if not np.allclose(other, first, rtol=0, atol=1e-6):
            raise ExportError(f"{name} and {first_name} disagree on the exported model")
    int8_likes = target.inverse(first)
    diff = np.abs(int8_likes - keras_likes)
    std = float(actual.std()) or 1.0
    return {"runtimes": sorted(outputs), "mean_abs_diff": float(diff.mean()),
            "max_abs_diff": float(diff.max()), "relative_to_likes_std": float(diff.mean() / std),
            "relative_to_val_std": float(diff.mean() / std), "photos": int(len(actual)),
            "int8_likes": int8_likes}


def _report(out: Path, card: ModelCard, table: str, agreement: dict, sentence: str | None,
            echo, plots: tuple[str, ...] = ("loss", "predicted")) -> FitResult:
    """Put the verified export in place with its card, and say what was made."""
    agreement.pop("int8_likes", None)
    exported = Path(agreement.pop("file"))
    card.metrics["int8_vs_keras"] = agreement
    card.model_file = out.name
    write_card(out, card)
    write_card_md(out, card)
    rename_durably(exported, out)
    echo(table)
    echo(f"int8 vs keras: mean |difference| {agreement['mean_abs_diff']:.2f} likes = "
         f"{agreement['relative_to_likes_std']:.2%} of the likes' std on "
         f"{agreement['photos']} photos; verified under {' and '.join(agreement['runtimes'])}"
         + (", which agree" if len(agreement["runtimes"]) > 1 else ""))
    cost = card.cost or {}
    timings = cost["ms_per_photo_one_thread"].items()
    echo(f"model: {cost['members']} network(s), {cost['parameters']:,} parameters, "
         f"{cost['size_bytes'] / 1e6:.2f} MB, "
         + ", ".join(f"{ms:.2f} ms/photo on {name}" for name, ms in timings))
    for runtime, k in (card.kernels or {}).items():
        echo(f"fast kernels on {runtime}: {kernels_reason(k)}")
    if sentence:
        echo(sentence)
    written = [str(card_path_for(out)), str(out.with_suffix(".md")),
               *(str(out.with_suffix(f".{plot}.png")) for plot in plots)]
    echo(f"wrote {out}, {', '.join(written[:-1])} and {written[-1]}")
    return FitResult(out, card, table)
