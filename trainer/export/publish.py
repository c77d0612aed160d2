"""The one export path every pipeline takes (the backbone's ridge, networks from
nothing, the fallback, distillation): a Keras graph and its calibration photos in; a
verified int8 file out, with its card, NAME.md and plots, where the gate put it.

1. Export to int8 beside ``out`` (a hidden name), run it under every installed
   runtime (they must agree) and measure the fast kernels against the built-in ones.
2. The pipeline says what it measured (``Measured``): the card's metrics, its table,
   the Spearman the gate judges by and the plots to draw.
3. The gate chooses the place (``out``, or beside it when the model there is better);
   the card, NAME.md and the plots are written there, then the model is renamed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scorer.core.ownfiles import rename_durably
from scorer.model import cardtext
from scorer.model.card import ModelCard, Target, card_path_for, write_card
from scorer.model.sections import Cost, Quality, Spread
from trainer.core.errors import ExportError
from trainer.core.metrics import format_table
from trainer.core.narrator import phase
from trainer.core.recipe import PIXEL_SCALE, FitOptions
from trainer.export.card import build_card
from trainer.export.card_md import write_card_md
from trainer.export.gate import gate
from trainer.networks.predict import predict_raw

AGREEMENT_PHOTOS = 500  # photos the int8 export is compared with the Keras model on


@dataclass
class Graph:
    """What one export needs: the Keras graph, the photos it is calibrated on (and, by
    default, checked on), their likes and target, and what the card records."""
    model: Any
    pixels: np.ndarray
    likes: np.ndarray
    target: Target
    options: FitOptions
    dataset: Any
    epochs: int
    # (pixels, Keras likes, actual likes) to compare int8 with Keras on; None: a sample
    # of ``pixels`` (every photo trained the final model).
    check: tuple | None = None


@dataclass
class Measured:
    """What a pipeline measured of its model, for the gate and the report (the card's
    metrics it writes into the card itself)."""
    table: str
    spearman: float | None = None   # the gate's figure; None: no gate (distillation)
    sentence: str | None = None     # the one verdict, said last
    # plot name -> draws it at the given path (the final place's NAME.<plot>.png)
    plots: dict[str, Callable[[Path], None]] = field(default_factory=dict)


@dataclass
class FitResult:
    model_path: Path
    card: ModelCard
    table: str


def publish(graph: Graph, out: Path, measure: Callable[[ModelCard, dict], Measured],
            echo: Callable[[str], None], force: bool = False) -> FitResult:
    """Export ``graph``, verify it, let ``measure`` fill in the card (from the export's
    agreement with Keras), let the gate choose the place, put everything there."""
    card, agreement = _export_verified(graph, out, echo)
    measured = measure(card, agreement)
    if measured.spearman is not None:
        out = gate(out, measured.spearman, force, echo)
    for name, draw in measured.plots.items():
        draw(out.with_suffix(f".{name}.png"))
    return _report(out, card, measured, agreement, echo)


def cross_validated(summary: dict, folds: int, photos: int, how: str) -> tuple[dict, str]:
    """The card's ``metrics.validation`` of a cross-validated model (each row the folds'
    means: the model in float and int8, the ridge and mean baselines) and its table."""
    rows = {name: {metric: v["mean"] for metric, v in summary[name].items()}
            for name in ("cnn", "int8", "ridge", "mean")}
    validation = {"how": how, "n": int(photos), "keras": rows["cnn"], "int8": rows["int8"],
                  "mean baseline": rows["mean"], "ridge baseline": rows["ridge"]}
    table = format_table({"keras (cv)": rows["cnn"], "int8 (cv)": rows["int8"],
                          "ridge baseline": rows["ridge"], "mean baseline": rows["mean"]},
                         photos).replace("photos:", f"{folds}-fold cross-validation, photos:", 1)
    return validation, table


def expected_quality(summary: dict, sentence: str) -> dict:
    """The card's expected quality: the int8 model's cross-validated figures, the verdict."""
    def pick(name, metric):
        return Spread(summary[name][metric]["mean"], summary[name][metric]["std"])

    return Quality(pick("int8", "spearman"), pick("int8", "mae_log1p"),
                   pick("int8", "pairwise_accuracy"), pick("ridge", "spearman"),
                   pick("mean", "mae_log1p"), verdict=sentence).to_json()


def _export_verified(graph: Graph, out: Path, echo) -> tuple[ModelCard, dict]:
    """Export to int8 beside its card; compare int8 with Keras under every runtime."""
    from trainer.export.int8 import (
        export_int8,
        installed_runtimes,
        measure_kernels,
        representative_set,
        run_exported,
    )

    model, options, target = graph.model, graph.options, graph.target
    echo("exporting full-integer int8 TFLite")
    with phase(echo, "export"):
        tflite = export_int8(model, representative_set(model, graph.pixels, options.seed),
                             PIXEL_SCALE)
    # Written beside `out` and put in its place only once verified (and past the gate).
    tmp = out.with_name(f".{out.stem}.new.tflite")
    tmp.write_bytes(tflite)
    card = build_card(tmp, tflite, target, graph.likes, options, graph.dataset, graph.epochs)
    card.model_file = out.name
    card.parameters = int(model.count_params())
    write_card(tmp, card)
    timings: dict[str, float] = {}
    # The Keras model's predictions, then the export under each runtime.
    try:
        with phase(echo, "verification", 1 + len(installed_runtimes())) as progress:
            check_pixels, keras_likes, actual = graph.check or _sample(graph)
            progress.step("keras")
            outputs = run_exported(tmp, check_pixels, timings, on_runtime=progress.step)
        with phase(echo, "kernels"):
            card.kernels = measure_kernels(tmp, check_pixels, outputs, target, keras_likes)
    finally:
        card_path_for(tmp).unlink(missing_ok=True)
    agreement = _agreement(outputs, target, keras_likes, actual)
    agreement["file"] = str(tmp)
    scratch = options.backbone == "none"
    card.cost = Cost(len(tflite), int(model.count_params()),
                     members=options.members if scratch else 1,
                     flip_averaged=options.tta and scratch, ms_per_photo_one_thread=timings,
                     measured_on=f"{len(check_pixels)} photos, batches of 32, built-in "
                                 "kernels").to_json()
    return card, agreement


def _sample(graph: Graph) -> tuple:
    rng = np.random.default_rng(graph.options.seed)
    sample = rng.permutation(len(graph.pixels))[:AGREEMENT_PHOTOS]
    keras_likes = graph.target.inverse(predict_raw(graph.model, graph.pixels[sample]))
    return graph.pixels[sample], keras_likes, graph.likes[sample]


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


def _report(out: Path, card: ModelCard, measured: Measured, agreement: dict,
            echo) -> FitResult:
    """Put the verified export in place with its card, and say what was made."""
    agreement.pop("int8_likes", None)
    exported = Path(agreement.pop("file"))
    card.metrics["int8_vs_keras"] = agreement
    card.model_file = out.name
    write_card(out, card)
    write_card_md(out, card)
    rename_durably(exported, out)
    echo(measured.table)
    echo(f"int8 vs keras: mean |difference| {agreement['mean_abs_diff']:.2f} likes = "
         f"{agreement['relative_to_likes_std']:.2%} of the likes' std on "
         f"{agreement['photos']} photos; verified under {' and '.join(agreement['runtimes'])}"
         + (", which agree" if len(agreement["runtimes"]) > 1 else ""))
    cost = card.running_cost
    if cost is not None:
        echo(f"model: {cost.members} network(s), {cost.parameters:,} parameters, "
             f"{cost.size_bytes / 1e6:.2f} MB, " + ", ".join(
                 f"{ms:.2f} ms/photo on {name}"
                 for name, ms in cost.ms_per_photo_one_thread.items()))
    for runtime, reason in cardtext.kernels(card).items():
        echo(f"fast kernels on {runtime}: {reason}")
    if measured.sentence:
        echo(measured.sentence)
    written = [str(card_path_for(out)), str(out.with_suffix(".md")),
               *(str(out.with_suffix(f".{plot}.png")) for plot in measured.plots)]
    echo(f"wrote {out}, {', '.join(written[:-1])} and {written[-1]}")
    return FitResult(out, card, table=measured.table)
