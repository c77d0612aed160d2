"""``spe-train``: make a synthetic data set, fit and export a model, evaluate one."""

from __future__ import annotations

from pathlib import Path

import typer

from scorer.cliutil import run_app
from scorer.errors import SpeError

from . import fit as fit_module
from .data import DataError

app = typer.Typer(
    help="Train the like-predicting CNN on your own photos and export it for `spe`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _echo(message: str) -> None:
    typer.echo(message, err=True)


def _fail(message: str) -> None:
    typer.echo(f"spe-train: {message}", err=True)
    raise typer.Exit(2)


@app.command()
def synth(
    out_dir: Path = typer.Argument(..., help="Folder to write the data set into (notebook layout)."),
    n: int = typer.Option(300, "--n", min=1, envvar="SPE_N", help="Number of pictures."),
    seed: int = typer.Option(0, envvar="SPE_SEED", help="Random seed."),
) -> None:
    """Write a synthetic data set whose likes follow a planted rule (see trainer/synth.py)."""
    from .synth import make_synthetic

    try:
        likes = make_synthetic(out_dir, n=n, seed=seed)
    except OSError as exc:
        _fail(f"{out_dir}: {exc}")
    _echo(f"wrote {n} pictures to {out_dir} (likes {likes.min():.0f} to {likes.max():.0f}, "
          f"median {float(__import__('numpy').median(likes)):.0f})")


@app.command()
def fit(
    data_dir: Path = typer.Argument(..., help="Folder of photos and likes (layout detected)."),
    out: Path = typer.Option(..., "--out", envvar="SPE_OUT", help="Model file to write, NAME.tflite."),
    epochs: int = typer.Option(fit_module.EPOCHS, min=1, envvar="SPE_EPOCHS"),
    batch_size: int = typer.Option(fit_module.BATCH_SIZE, min=1, envvar="SPE_BATCH_SIZE"),
    val_split: float = typer.Option(fit_module.VAL_SPLIT, min=0.05, max=0.5, envvar="SPE_VAL_SPLIT",
                                    help="Share of photos held out for validation."),
    seed: int = typer.Option(fit_module.SEED, envvar="SPE_SEED", help="Seed of the split and the weights."),
    img_size: int = typer.Option(fit_module.IMG_SIZE, min=16, max=512, envvar="SPE_IMG_SIZE",
                                 help="Side of the square model input, in pixels."),
    target: str = typer.Option("raw", envvar="SPE_TARGET",
                               help="What the network predicts: raw, log1p or standardize."),
    note: str = typer.Option("", envvar="SPE_NOTE", help="A note stored in the model card."),
) -> None:
    """Train, evaluate against a baseline, export int8 TFLite, verify, write the card."""
    options = fit_module.FitOptions(epochs=epochs, batch_size=batch_size, val_split=val_split,
                                    seed=seed, img_size=img_size, target=target)
    if target not in ("raw", "log1p", "standardize"):
        _fail(f"--target {target!r}: choose raw, log1p or standardize")
    try:
        result = fit_module.fit(data_dir, out, options, echo=_echo)
    except (DataError, SpeError, ValueError) as exc:
        _fail(str(exc))
    if note:
        result.card["note"] = note
        fit_module.write_card(result.model_path, result.card)


@app.command()
def evaluate(
    model: Path = typer.Argument(..., help="An exported NAME.tflite (with NAME.json beside it)."),
    data_dir: Path = typer.Argument(..., help="Folder of photos and likes (layout detected)."),
    runtime: str = typer.Option("auto", envvar="SPE_RUNTIME", help="auto, tflite-runtime or litert."),
) -> None:
    """Metrics of an exported model on a data set, beside the training-mean baseline."""
    from .evaluate import evaluate as run

    try:
        run(model, data_dir, runtime=runtime, echo=_echo)
    except (DataError, SpeError) as exc:
        _fail(str(exc))


def main() -> None:
    run_app(app, "spe-train")
