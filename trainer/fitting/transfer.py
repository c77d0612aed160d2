"""Fit on a pretrained backbone: the default of `spe-train fit`.

1. Prepare: the backbone's ImageNet weights (fetched once, checked by sha256)
   and the pooled activations of the chosen layers for every photo.
2. Measure: k-fold cross-validation of a ridge head on those features beside the
   mean and the image-statistics ridge baselines, for each candidate target
   transform; the best by Spearman is kept. Each fold's whole graph is also
   exported to int8 and run by the scorer, so the int8 numbers are measured.
3. Train: the ridge head on every photo (its strength by leave-one-out).
4. Export: backbone cut + pooling + head as one int8 graph, verified under every
   installed runtime; the card names the backbone and its weights.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from scorer.model.card import ModelCard, Target
from trainer.core.metrics import regression_metrics
from trainer.core.narrator import phase
from trainer.core.recipe import GRID_CELLS, TARGET_CANDIDATES, FitOptions
from trainer.export.fold_export import FoldExport
from trainer.export.plots import plot_predicted_vs_actual
from trainer.export.publish import Graph, Measured, cross_validated, expected_quality, publish
from trainer.fitting.folds import FoldRun, baseline_folds, fold_indices, ridge_sentence
from trainer.networks.backbone import BACKBONES
from trainer.networks.head import RidgeHead, extract, pooled_extractor, scoring_model
from trainer.networks.weights import load_weights

WHAT = "the backbone with its ridge head"
FALLBACK_WHAT = "the ridge on image statistics"
# Each fold's export only measures int8 against float: a smaller calibration than the
# final export's (the backbone's predict is the slow part: 13 ms a photo at 160 px).
FOLD_CALIBRATION = {"candidates": 400, "photos": 150}


def fit_on_backbone(dataset, pixels: np.ndarray, out: Path, options: FitOptions,
                    echo: Callable[[str], None], force: bool):
    backbone = BACKBONES[options.backbone]
    weights = load_weights(backbone.weights, options.given_weights, echo)
    extractor = pooled_extractor(backbone, options.img_size, weights, options.layers,
                                 options.pooling)
    echo(f"backbone {options.backbone} at {options.img_size} px, layers "
         f"{', '.join(options.layers)}, {options.pooling} pooling")
    return fit_head(extractor, _backbone_record(options), dataset, pixels, out, options, echo,
                    force)


def fit_fallback(dataset, pixels: np.ndarray, out: Path, options: FitOptions,
                 echo: Callable[[str], None], force: bool):
    """--fallback ridge: the ridge baseline itself (a ridge on image statistics computed in
    the graph), measured and exported the same way as any head."""
    echo("--fallback ridge: exporting the ridge regression on image statistics instead")
    return fit_head(statistics_extractor(options.img_size), None, dataset, pixels, out,
                    replace(options, fallback="none"), echo, force)


def falls_short(summary: dict) -> bool:
    """The model ranks no better than the ridge baseline (cross-validated, int8)."""
    return summary["int8"]["spearman"]["mean"] <= summary["ridge"]["spearman"]["mean"]


def fit_head(extractor, record: dict | None, dataset, pixels: np.ndarray, out: Path,
             options: FitOptions, echo: Callable[[str], None], force: bool):
    """Measure a ridge head on ``extractor``'s features by cross-validation (int8 too),
    then fit it on every photo and export extractor and head as one graph. ``record``
    names the backbone in the card (None: the image-statistics fallback)."""
    likes = dataset.likes
    features = extract(extractor, pixels, echo)
    run, target_name = choose_target(features, pixels, likes, options, echo)
    _int8_folds(run, extractor, features, pixels, likes, options, target_name, echo)
    summary = run.summary
    what = WHAT if record is not None else FALLBACK_WHAT
    sentence = ridge_sentence(summary, options.folds, what)
    echo(sentence)
    if falls_short(summary) and options.fallback == "ridge":
        return fit_fallback(dataset, pixels, out, options, echo, force)
    target = Target.fit(target_name, likes)
    head = RidgeHead.fit(features, target.forward(likes))
    echo(f"head: ridge on all {len(likes)} photos, strength {head.alpha:g} (leave-one-out)")
    graph = Graph(scoring_model(extractor, head), pixels, likes, target, options, dataset, 0)
    return publish(graph, out, lambda card, _agreement: _head_card(
        card, record, head, features.shape[1], run, likes, options, sentence), echo, force)


def _int8_folds(run: FoldRun, extractor, features, pixels, likes, options: FitOptions,
                target_name: str, echo) -> None:
    """Each fold's whole graph exported to int8 and run by the scorer on its photos."""
    with tempfile.TemporaryDirectory() as tmp, phase(echo, "folds", options.folds) as progress:
        int8 = np.zeros(len(likes))
        exporter = FoldExport(Path(tmp), pixels, likes, options, int8, FOLD_CALIBRATION)
        for k, test_idx in enumerate(fold_indices(len(likes), options.folds, options.seed)):
            train_idx = np.setdiff1d(np.arange(len(likes)), test_idx)
            target = Target.fit(target_name, likes[train_idx])
            head = RidgeHead.fit(features[train_idx], target.forward(likes[train_idx]))
            echo(f"fold {k + 1}/{options.folds}: exporting to int8 and scoring its "
                 f"{len(test_idx)} photos with the scorer")
            exporter(k, scoring_model(extractor, head), target, train_idx, test_idx)
            progress.step()
    exporter.record(run)


def _head_card(card: ModelCard, record: dict | None, head: RidgeHead, features: int,
               run: FoldRun, likes, options: FitOptions, sentence: str) -> Measured:
    """The card of the head fitted on every photo: what it is and how it measured."""
    kind = "ridge" if record is not None else "ridge on image statistics (--fallback ridge)"
    card.training.update(target=card.target.transform, head={"kind": kind, "alpha": head.alpha,
                                                        "features": int(features)})
    if record is not None:
        card.training["backbone"] = record
    else:
        card.training.update(architecture="image statistics", backbone=None)
    card.training.pop("given_weights", None)
    validation, table = cross_validated(
        run.summary, options.folds, len(likes),
        f"{options.folds}-fold cross-validation, out-of-fold: "
        f"{WHAT if record is not None else FALLBACK_WHAT} fitted on the other folds")
    card.metrics = {"validation": validation,
                    "cross_validation": {"folds": options.folds, "summary": run.summary}}
    card.expected_quality = expected_quality(run.summary, sentence)
    plots = {"predicted": lambda path: plot_predicted_vs_actual(
        likes, run.predictions["int8"], path,
        f"{options.folds}-fold cross-validation, int8, out of fold")}
    return Measured(table, run.summary["int8"]["spearman"]["mean"], sentence, plots)


def statistics_extractor(size: int) -> Any:
    """pixels in [0, 1] -> the photo's image statistics (the ridge baseline's, in the graph)."""
    import keras

    from trainer.networks.layers import ImageStatistics

    inputs = keras.Input((size, size, 3), name="pixels")
    return keras.Model(inputs, ImageStatistics(name="statistics")(inputs),
                       name="image_statistics")


def _backbone_record(options: FitOptions) -> dict:
    source = BACKBONES[options.backbone].weights
    return {"name": options.backbone, "layers": list(options.layers),
            "pooling": ("global average" if options.pooling == "average" else
                        f"global average and a {GRID_CELLS}x{GRID_CELLS} grid of cell averages"),
            "weights": source.to_json()}


def choose_target(features, pixels, likes, options: FitOptions, echo) -> tuple[FoldRun, str]:
    """Cross-validate the head for each candidate target; keep the best by Spearman."""
    candidates = (options.target,) if options.target else TARGET_CANDIDATES
    baselines = baseline_folds(pixels, likes, options.folds, options.seed)  # every target's
    runs = {}
    with phase(echo, "targets", len(candidates)) as progress:
        for name in candidates:
            runs[name] = head_folds(features, likes, options, name, baselines)
            progress.step(name)
    best = max(runs, key=lambda name: runs[name].summary["cnn"]["spearman"]["mean"])
    for name, run in runs.items():
        s = run.summary["cnn"]["spearman"]
        echo(f"target {name}: Spearman {s['mean']:.3f} ± {s['std']:.3f} "
             f"({options.folds}-fold cross-validation)" + ("  <- kept" if name == best else ""))
    return runs[best], best


def head_folds(features: np.ndarray, likes: np.ndarray, options: FitOptions,
               target_name: str, baselines: dict[str, np.ndarray]) -> FoldRun:
    """Out-of-fold predictions of the ridge head, beside the baselines' (given)."""
    run = FoldRun({"cnn": np.zeros(len(likes)), **baselines})
    run.per_fold = {name: [] for name in run.predictions}
    for test_idx in fold_indices(len(likes), options.folds, options.seed):
        train_idx = np.setdiff1d(np.arange(len(likes)), test_idx)
        target = Target.fit(target_name, likes[train_idx])
        head = RidgeHead.fit(features[train_idx], target.forward(likes[train_idx]))
        run.predictions["cnn"][test_idx] = target.inverse(head.predict(features[test_idx]))
        for name in run.predictions:
            run.per_fold[name].append(regression_metrics(
                likes[test_idx], run.predictions[name][test_idx], likes[train_idx]))
    return run
