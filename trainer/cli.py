"""``spe-train``: make a synthetic data set, fit and export a model, evaluate one."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

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


def resolve_options(recipe: str, **given) -> fit_module.FitOptions:
    """The recipe's values, with every option given on the command line on top."""
    from .augment import parse_augment

    if recipe not in ("default", "notebook"):
        _fail(f"--recipe {recipe!r}: choose default or notebook")
    values = dict(fit_module.NOTEBOOK_RECIPE) if recipe == "notebook" else {}
    for key, value in given.items():
        if value is not None:
            values[key] = value
    if isinstance(values.get("augment"), str):
        try:
            values["augment"] = parse_augment(values["augment"])
        except ValueError as exc:
            _fail(f"--augment: {exc}")
    from scorer.card import TARGET_TRANSFORMS

    if values.get("target", fit_module.TARGET) not in TARGET_TRANSFORMS:
        _fail(f"--target {values['target']!r}: choose {', '.join(TARGET_TRANSFORMS)}")
    from .model import ARCHITECTURES

    if values.get("architecture", fit_module.ARCHITECTURE) not in ARCHITECTURES:
        _fail(f"--architecture {values['architecture']!r}: choose {', '.join(ARCHITECTURES)}")
    return fit_module.FitOptions(**values)


EPOCHS_HELP = f"Training epochs (an upper bound with early stopping). [default: {fit_module.EPOCHS}]"
Recipe = typer.Option("default", "--recipe", envvar="SPE_RECIPE",
                      help="Base settings: default (chosen by docs/STUDY.md) or notebook "
                           "(the original: notebook CNN, raw likes, no augmentation, 30 epochs).")
Epochs = typer.Option(None, "--epochs", min=1, envvar="SPE_EPOCHS", help=EPOCHS_HELP,
                      show_default=False)
BatchSize = typer.Option(None, "--batch-size", min=1, envvar="SPE_BATCH_SIZE",
                         help=f"[default: {fit_module.BATCH_SIZE}]", show_default=False)
Seed = typer.Option(fit_module.SEED, "--seed", envvar="SPE_SEED", help="Seed of the split and the weights.")
ImgSize = typer.Option(None, "--img-size", min=16, max=512, envvar="SPE_IMG_SIZE", show_default=False,
                       help=f"Side of the square model input, in pixels. [default: {fit_module.IMG_SIZE}]")
Architecture = typer.Option(None, "--architecture", envvar="SPE_ARCHITECTURE", show_default=False,
                            help="The network: notebook (the original), mirror (the notebook's plus a "
                            "mirror-image branch) or compact. "
                            f"[default: {fit_module.ARCHITECTURE}]")
Target = typer.Option(None, "--target", envvar="SPE_TARGET", show_default=False,
                      help="What the network predicts: raw, log1p, standardize or log1p-std (log1p, "
                           f"then standardized). [default: {fit_module.TARGET}]")
Augment = typer.Option(None, "--augment", envvar="SPE_AUGMENT", show_default=False,
                       help="Comma list of flip, rot90, crop, color, or none. "
                            f"[default: {','.join(fit_module.AUGMENT) or 'none'}]")
EarlyStopping = typer.Option(None, "--early-stopping/--no-early-stopping", envvar="SPE_EARLY_STOPPING",
                             show_default=False,
                             help="Stop when a tenth of the training photos stops improving; keep "
                                  f"the best weights. [default: {'on' if fit_module.EARLY_STOPPING else 'off'}]")


@app.command()
def fit(
    data_dir: Path = typer.Argument(..., help="Folder of photos and likes (layout detected)."),
    out: Path = typer.Option(..., "--out", envvar="SPE_OUT", help="Model file to write, NAME.tflite."),
    epochs: Optional[int] = Epochs,
    batch_size: Optional[int] = BatchSize,
    val_split: float = typer.Option(fit_module.VAL_SPLIT, min=0.05, max=0.5, envvar="SPE_VAL_SPLIT",
                                    help="Share of photos held out for validation."),
    seed: int = Seed,
    img_size: Optional[int] = ImgSize,
    architecture: Optional[str] = Architecture,
    target: Optional[str] = Target,
    augment: Optional[str] = Augment,
    early_stopping: Optional[bool] = EarlyStopping,
    recipe: str = Recipe,
    note: str = typer.Option("", envvar="SPE_NOTE", help="A note stored in the model card."),
) -> None:
    """Train, evaluate against a baseline, export int8 TFLite, verify, write the card."""
    options = resolve_options(recipe, epochs=epochs, batch_size=batch_size, val_split=val_split,
                              seed=seed, img_size=img_size, architecture=architecture,
                              target=target, augment=augment, early_stopping=early_stopping)
    try:
        result = fit_module.fit(data_dir, out, options, echo=_echo)
    except (DataError, SpeError, ValueError) as exc:
        _fail(str(exc))
    if note:
        result.card["note"] = note
        fit_module.write_card(result.model_path, result.card)


@app.command()
def cv(
    data_dir: Path = typer.Argument(..., help="Folder of photos and likes (layout detected)."),
    folds: int = typer.Option(5, "--folds", min=2, max=20, envvar="SPE_FOLDS"),
    out_dir: Optional[Path] = typer.Option(None, "--out-dir", envvar="SPE_OUT_DIR",
                                           show_default="DATA_DIR/cv",
                                           help="Where the JSON report and plots go."),
    epochs: Optional[int] = Epochs,
    batch_size: Optional[int] = BatchSize,
    seed: int = Seed,
    img_size: Optional[int] = ImgSize,
    architecture: Optional[str] = Architecture,
    target: Optional[str] = Target,
    augment: Optional[str] = Augment,
    early_stopping: Optional[bool] = EarlyStopping,
    recipe: str = Recipe,
) -> None:
    """K-fold cross-validation of a training recipe against two baselines."""
    from .cv import cross_validate

    options = resolve_options(recipe, epochs=epochs, batch_size=batch_size, seed=seed,
                              img_size=img_size, architecture=architecture, target=target,
                              augment=augment, early_stopping=early_stopping)
    try:
        cross_validate(data_dir, options, folds=folds, out_dir=out_dir or data_dir / "cv",
                       echo=_echo)
    except (DataError, SpeError, ValueError) as exc:
        _fail(str(exc))


@app.command()
def evaluate(
    model: Path = typer.Argument(..., help="An exported NAME.tflite (with NAME.json beside it)."),
    data_dir: Path = typer.Argument(..., help="Folder of photos and likes (layout detected)."),
    runtime: str = typer.Option("auto", envvar="SPE_RUNTIME", help="auto, tflite-runtime or litert."),
    json_out: Optional[Path] = typer.Option(None, "--json", envvar="SPE_JSON",
                                            help="Also write the metrics to this JSON file."),
) -> None:
    """Metrics of an exported model on a data set, beside the training-mean baseline."""
    import json

    from .evaluate import evaluate as run

    try:
        rows = run(model, data_dir, runtime=runtime, echo=_echo)
    except (DataError, SpeError) as exc:
        _fail(str(exc))
    if json_out is not None:
        json_out.write_text(json.dumps(rows, indent=2) + "\n")


def main() -> None:
    run_app(app, "spe-train")
