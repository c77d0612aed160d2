"""``spe``: score photos with a like-predicting model (batch, watch, info).

Exit status: 0 every input scored or skipped; 1 some inputs failed (the others
were still scored and recorded); 2 usage error or fatal setup error, with one
line on stderr and no traceback.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import typer

from scorer import __version__
from scorer.commands.cliutil import (
    CONTEXT_SETTINGS,
    KernelsName,
    RuntimeName,
    add_version,
    fail,
    run_app,
)
from scorer.commands.logsetup import LEVELS, set_up_logging
from scorer.commands.settingsfile import ConfigOption
from scorer.core.errors import SpeError
from scorer.core.settings import (
    BATCH_SIZE,
    CLUSTER_THREADS,
    DEFAULT_CROPS,
    DEFAULT_KERNELS,
    DEFAULT_MAX_MEMORY_MIB,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MODEL_THREADS,
    DEFAULT_RUNTIME,
    DEFAULT_THREADS,
    LIMITS,
    OCCLUSION_GRID,
    PARTITION_FORMATS,
    RESCAN_INTERVAL,
    SETTLE_SECONDS,
    Scoring,
)
from scorer.ledger.ledger import Ledger
from scorer.model import cardtext
from scorer.model.runtime import MIN_FAST_SPEEDUP, Model
from scorer.photos.discover import MAX_PATH_BYTES, missing_inputs, stdin_paths, with_stdin

app = typer.Typer(
    help="Predict how many likes a photo will get, with a model trained on your own posts.",
    no_args_is_help=True,
    context_settings=CONTEXT_SETTINGS,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help that reads at 80 columns, no boxes
)

add_version(app, "spe", __version__)
# Options with a fixed set of values, typed as the set (from its one definition): the
# help shows [auto|exact|fast], a shell completes them, click refuses anything else.
if TYPE_CHECKING:
    from scorer.commands.pageviews import PageViews
    from scorer.commands.rank import Ranking

    FormatName: TypeAlias = str
    LevelName: TypeAlias = str
else:
    FormatName, LevelName = Literal[PARTITION_FORMATS], Literal[LEVELS]

ModelOption = typer.Option(None, "--model", envvar="SPE_MODEL",
                           show_default="the shipped starter model",
                           help="NAME.tflite, with its card NAME.json beside it.")
RuntimeOption = typer.Option(DEFAULT_RUNTIME, "--runtime", envvar="SPE_RUNTIME",
                             help="TFLite runtime; auto: the one the card measured faster.")
KernelsOption = typer.Option(DEFAULT_KERNELS, "--kernels", envvar="SPE_KERNELS",
                             help="auto: XNNPACK where the card measured that it ranks "
                                  "as the built-in kernels do, differs from them by no more "
                                  "than int8 from float, and is "
                                  f"{MIN_FAST_SPEEDUP}x as fast; exact: the built-in kernels "
                                  "(the same scores on every runtime); fast: XNNPACK.")
def _finite(value: float | None) -> float | None:
    """A float option's check beyond its range: NaN passes every comparison."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a finite number")
    return value


def ranged(name: str) -> dict[str, Any]:
    """A numeric option's bounds from the one table (scorer/core/settings.py LIMITS); a float
    option must be finite too."""
    low, high = LIMITS[name]
    if isinstance(low, float):
        return {"min": low, "max": high, "callback": _finite}
    return {"min": int(low), "max": int(high)}


# Options both commands take: declared once, so they carry the same help and default.
ThreadsOption = typer.Option(DEFAULT_THREADS, "--threads", **ranged("threads"),
                             envvar="SPE_THREADS", help="Decoding threads.")
ModelThreadsOption = typer.Option(DEFAULT_MODEL_THREADS, "--model-threads",
                                  **ranged("model_threads"), envvar="SPE_MODEL_THREADS",
                                  show_default="as --threads",
                                  help="Threads of the interpreter, which runs between "
                                       "batches of decodes.")
BatchSizeOption = typer.Option(BATCH_SIZE, "--batch-size", **ranged("batch_size"),
                               envvar="SPE_BATCH_SIZE", help="Photos per interpreter call.")
MaxPixelsOption = typer.Option(DEFAULT_MAX_PIXELS, "--max-pixels", **ranged("max_pixels"),
                               envvar="SPE_MAX_PIXELS",
                               help="Refuse photos whose header claims more pixels.")
MaxMemoryOption = typer.Option(DEFAULT_MAX_MEMORY_MIB, "--max-memory", **ranged("max_memory"),
                               envvar="SPE_MAX_MEMORY",
                               help="MiB the decodes in flight may take together (estimated from "
                                    "each photo's header); a photo that needs more on its own "
                                    "gets an error row.")


# The photos to score, as batch-score and rank both take them.
PathsArgument = typer.Argument(..., metavar="PATH...",
                               help="Photos, folders or glob patterns; - reads paths from "
                                    "standard input, one per line.")
RecursiveOption = typer.Option(False, "--recursive", "-r", envvar="SPE_RECURSIVE",
                               show_default="off",
                               help="Descend into sub-folders (and ** in patterns).")
NullOption = typer.Option(False, "-0", "--null", envvar="SPE_NULL", show_default="off",
                          help="With -, the paths on standard input end with NUL bytes "
                               "(find -print0), not newlines.")


def given_paths(paths: list[str], null: bool, recursive: bool) -> list[str]:
    """The paths typed (``-``: those on standard input, read whole: rank and the cluster
    need them all); one that matches nothing is a usage error, before the model loads
    or the CSV is touched."""
    paths = checked_paths(paths, recursive)
    return list(with_stdin(paths, stdin_paths(sys.stdin.buffer, null, _too_long)))


def checked_paths(paths: list[str], recursive: bool) -> list[str]:
    """The paths typed, each matching something (``-`` is left for standard input)."""
    missing = missing_inputs([p for p in paths if p != "-"], recursive)
    if missing:
        fail(f"{missing[0]}: no such file, folder or matching photo"
             + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    return paths


def _too_long(size: int) -> None:
    typer.echo(f"spe: standard input: a line of {size:,} bytes is no path (at most "
               f"{MAX_PATH_BYTES:,}): passed over", err=True)


def tried_model(model: Path | None, settings: Scoring) -> Model:
    """The model at ``model`` once it has loaded and answered in a child process (the
    daemon's start and SIGHUP); ModelError (a SpeError) otherwise."""
    from scorer.model.modeltrial import (
        try_model,  # the daemon's; not imported at every command's start
    )

    try_model(model, settings.runtime, settings.kernels)
    return Model(model, runtime=settings.runtime, threads=settings.interpreter_threads,
                 kernels=settings.kernels)


def load_model(model: Path | None, settings: Scoring) -> Model:
    try:
        return Model(model, runtime=settings.runtime, threads=settings.interpreter_threads,
                     kernels=settings.kernels)
    except SpeError as exc:
        fail(exc.reason)
        raise  # unreachable: fail() raises


@app.command("batch-score")
def batch_score(
    paths: list[str] = PathsArgument,
    model: Path | None = ModelOption,
    out: Path | None = typer.Option(None, "--out", envvar="SPE_OUT", show_default="standard output",
                                       help="Scores CSV to append to (created with a header)."),
    recursive: bool = RecursiveOption,
    threads: int = ThreadsOption,
    model_threads: int | None = ModelThreadsOption,
    batch_size: int = BatchSizeOption,
    force: bool = typer.Option(False, "--force", envvar="SPE_FORCE", show_default="off",
                               help="Score again photos the CSV already has for this model."),
    runtime: RuntimeName = RuntimeOption,
    kernels: KernelsName = KernelsOption,
    max_pixels: int = MaxPixelsOption,
    max_memory: int = MaxMemoryOption,
    null: bool = NullOption,
    config: Path | None = ConfigOption,
) -> None:
    """Score photos into a CSV: predicted likes and percentile among your posts."""
    from scorer.commands.batch import batch_score as run

    settings = Scoring.from_options(max_memory, threads=threads, model_threads=model_threads,
                                    batch_size=batch_size, max_pixels=max_pixels,
                                    runtime=runtime, kernels=kernels)
    # Standard input is read as it is scored, never whole: a stream without end
    # (`find / | spe batch-score -`) costs the memory of the photos in flight.
    typed = checked_paths(paths, recursive)
    given = (with_stdin(typed, stdin_paths(sys.stdin.buffer, null, _too_long)) if "-" in typed
             else typed)
    loaded = load_model(model, settings)
    try:
        counts = run(given, loaded, str(out) if out else None, recursive=recursive,
                     settings=settings, force=force, echo=lambda m: typer.echo(m, err=True))
    except SpeError as exc:
        fail(exc.reason)
    raise typer.Exit(1 if counts["failed"] else 0)


@app.command()
def rank(
    paths: list[str] = PathsArgument,
    html_out: Path | None = typer.Option(None, "--html", envvar="SPE_HTML", show_default="none",
                                            help="Also write one self-contained page of the "
                                                 "photos in that order, with thumbnails."),
    model: Path | None = ModelOption,
    out: Path | None = typer.Option(None, "--out", envvar="SPE_OUT", show_default="none",
                                       help="Also append rows for photos this CSV does not "
                                            "have yet."),
    recursive: bool = RecursiveOption,
    threads: int = ThreadsOption,
    runtime: RuntimeName = RuntimeOption,
    kernels: KernelsName = KernelsOption,
    max_pixels: int = MaxPixelsOption,
    max_memory: int = MaxMemoryOption,
    crops: int = typer.Option(DEFAULT_CROPS, "--crops", **ranged("crops"), envvar="SPE_CROPS",
                              help="Candidate crops per photo (1:1, 4:5 and 1.91:1) for "
                                   "--html and --json."),
    no_crops: bool = typer.Option(False, "--no-crops", envvar="SPE_NO_CROPS",
                                  show_default="off",
                                  help="No crop suggestions or occlusion maps."),
    json_out: bool = typer.Option(False, "--json", envvar="SPE_JSON", show_default="off",
                                  help="Print JSON (the ranking, best crops, occlusion maps) "
                                       "instead of the table."),
    null: bool = NullOption,
    config: Path | None = ConfigOption,
) -> None:
    """Which of these to post? The photos ranked by predicted likes, best first."""
    from scorer.commands.rank import as_json, table
    from scorer.commands.rank import rank as run

    settings = Scoring.from_options(max_memory, threads=threads, max_pixels=max_pixels,
                                    runtime=runtime, kernels=kernels)
    paths = given_paths(paths, null, recursive)
    if html_out is not None:  # before any work: never a page over a photo of the person's
        from scorer.commands.report import check_page_target

        try_or_fail(check_page_target, html_out)
    loaded = load_model(model, settings)
    views = page_views(loaded, html_out is not None, json_out, 0 if no_crops else crops)
    try:
        ranking = run(paths, loaded, str(out) if out else None, recursive=recursive,
                      settings=settings, views=views)
        said_empty(ranking, html_out)
        if html_out is not None:
            from scorer.commands.report import write_html

            write_html(ranking, loaded.card, html_out)
    except SpeError as exc:
        fail(exc.reason)
    except OSError as exc:
        fail(f"{html_out}: cannot write ({exc.strerror})")
    finally:
        if views is not None:
            views.close()
    typer.echo(json.dumps(as_json(ranking, loaded), indent=2) if json_out else table(ranking))
    if html_out is not None:
        typer.echo(f"wrote {html_out}", err=True)
    raise typer.Exit(1 if ranking.failed else 0)


def try_or_fail(check: Callable[[Path], None], path: Path) -> None:
    """Run a check of a path given; its SpeError is the command's one-line usage error."""
    try:
        check(path)
    except SpeError as exc:
        fail(exc.reason)


def said_empty(ranking: Ranking, html_out: Path | None) -> None:
    """Folders with no photo are said; a page with no photo on it is not written."""
    from scorer.core.text import one_line
    from scorer.photos.discover import no_photos_line

    for folder in ranking.empty:
        typer.echo(f"spe: {no_photos_line(one_line(folder))}", err=True)
    if html_out is not None and not ranking.ranked:
        fail(f"{html_out}: not written: no photo was scored, so the page would be empty")


def page_views(loaded: Model, page: bool, json_out: bool, crops: int) -> PageViews | None:
    """What rank makes of each photo from its one decode: crops and map (--html, --json;
    none with ``crops`` 0) and the page's thumbnail; None when only scores are wanted."""
    from scorer.commands.pageviews import PageViews

    insights = (page or json_out) and crops > 0
    if not (insights or page):
        return None
    return PageViews(loaded, crops if insights else 0, OCCLUSION_GRID if insights else 0,
                     thumbnails=page)


@app.command("cluster-score")
def cluster_score(
    paths: list[str] = PathsArgument,
    out: Path = typer.Option(..., "--out", envvar="SPE_OUT",
                             help="Folder of partitions (created), also the ledger of what is "
                                  "done: a rerun scores only what is missing."),
    address: str | None = typer.Option(None, "--address", envvar=["SPE_ADDRESS", "RAY_ADDRESS"],
                                          show_default="a new Ray instance on this machine",
                                          help="Ray cluster to join: auto (the one started on "
                                               "this machine) or HOST:PORT."),
    workers: int | None = typer.Option(None, "--workers", **ranged("workers"), envvar="SPE_WORKERS",
                                          show_default="one per CPU of the cluster",
                                          help="Workers (Ray actors), each with its own model."),
    model: Path | None = ModelOption,
    recursive: bool = RecursiveOption,
    threads: int = typer.Option(CLUSTER_THREADS, "--threads", **ranged("threads"),
                                envvar="SPE_THREADS", help="Decoding threads per worker."),
    model_threads: int | None = ModelThreadsOption,
    partition_size: int | None = typer.Option(None, "--partition-size", **ranged("partition_size"),
                                                 envvar="SPE_PARTITION_SIZE",
                                                 show_default="1/64 of the photos, 20 to 1000",
                                                 help="Photos per partition (a unit of work)."),
    fmt: FormatName = typer.Option("csv", "--format", envvar="SPE_FORMAT",
                            help="Partition files (parquet needs pyarrow)."),
    runtime: RuntimeName = RuntimeOption,
    kernels: KernelsName = KernelsOption,
    max_pixels: int = MaxPixelsOption,
    max_memory: int = MaxMemoryOption,
    null: bool = NullOption,
    config: Path | None = ConfigOption,
) -> None:
    """Score an archive on a Ray cluster into a folder of partitions (the cluster extra)."""
    from scorer.cluster.driver import ClusterOptions
    from scorer.cluster.driver import cluster_score as run
    settings = Scoring.from_options(max_memory, threads=threads, model_threads=model_threads,
                                    max_pixels=max_pixels, runtime=runtime, kernels=kernels)
    paths = given_paths(paths, null, recursive)
    loaded = load_model(model, settings)
    options = ClusterOptions(out=out, address=address, workers=workers,
                             partition_size=partition_size, fmt=fmt, recursive=recursive,
                             scoring=settings)
    try:
        counts = run(paths, loaded, options, echo=lambda m: typer.echo(m, err=True))
    except SpeError as exc:
        fail(exc.reason)
    raise typer.Exit(1 if counts["failed"] or counts["unfinished"] else 0)


@app.command("cluster-merge")
def cluster_merge(
    folder: Path = typer.Argument(..., help="The --out folder of cluster-score."),
    out: Path | None = typer.Option(None, "--out", envvar="SPE_OUT",
                                       show_default="standard output",
                                       help="One scores CSV of every partition's rows "
                                            "(written whole)."),
) -> None:
    """Join cluster-score's partitions (CSV or Parquet) into one scores CSV."""
    from scorer.ledger.partitions import merge_into

    try:
        rows = merge_into(folder, out)
    except SpeError as exc:
        fail(exc.reason)
    if out is not None:
        typer.echo(f"wrote {rows} rows to {out}", err=True)


@app.command()
def info(model: Path | None = ModelOption, runtime: RuntimeName = RuntimeOption,
         kernels: KernelsName = KernelsOption,
         json_out: bool = typer.Option(False, "--json", envvar="SPE_JSON", show_default="off",
                                       help="Print only JSON: the model's place, runtime, "
                                            "kernels and its whole card."),
         config: Path | None = ConfigOption) -> None:
    """Show the model card, the runtime in use and where the model was loaded from."""
    loaded = load_model(model, Scoring(runtime=runtime, kernels=kernels))
    if json_out:
        typer.echo(json.dumps({"model": str(loaded.path), "card_file": str(loaded.card.path),
                               "id": loaded.model_id, "runtime": loaded.runtime,
                               "kernels": loaded.kernels, "card": loaded.card.to_json()},
                              indent=2))
        return
    card = loaded.card
    dist = card.likes
    lines = [
        f"model:         {loaded.path}",
        f"card:          {loaded.card.path}",
        f"sha256:        {loaded.card.sha256} (id {loaded.model_id})",
        f"runtime:       {loaded.runtime}",
        f"kernels:       {kernels_line(loaded)}",
        f"input:         {loaded.card.height}x{loaded.card.width} {loaded.card.channel_order}, "
        f"target {loaded.card.target.transform}",
        f"trained:       {card.created_at} by trainer "
        f"{card.trainer_version} on {dist['n']} photos (likes {dist['min']:.0f} "
        f"to {dist['max']:.0f}, median {dist['median']:.0f})",
        *(f"{name + ':':<15}{figures}" for name, figures in cardtext.validation(card)),
    ]
    expected, distilled, backbone = (cardtext.quality(card), cardtext.distilled(card),
                                     cardtext.backbone(card))
    if expected:
        members = card.running_cost.members if card.running_cost else 1
        lines.append(f"expected:      {expected} (cross-validated; members {members})"
                     + (" of the teacher" if distilled else ""))
    if distilled:
        lines.append(f"distilled:     {distilled}")
    if backbone:
        lines.append(f"backbone:      {backbone}")
    if card.note:
        lines.append(f"note:          {card.note}")
    typer.echo("\n".join(lines))


def kernels_line(loaded: Model) -> str:
    """Which kernels run, and what the card measured of the fast ones on this runtime."""
    kind = "fast (XNNPACK)" if loaded.kernels == "fast" else "exact (built-in)"
    reason = cardtext.kernels(loaded.card).get(loaded.runtime)
    if not reason:
        return f"{kind}; the card has no measurement of the fast kernels on {loaded.runtime}"
    return f"{kind}; fast kernels {reason}"


@app.command()
def watch(
    inbox: Path = typer.Argument(..., envvar="SPE_INBOX", help="Folder to watch for new photos."),
    model: Path | None = ModelOption,
    out: Path | None = typer.Option(None, "--out", envvar="SPE_OUT",
                                       show_default="INBOX/scores.csv",
                                       help="Scores CSV, also the ledger of what is done."),
    processed: Path | None = typer.Option(None, "--processed", envvar="SPE_PROCESSED",
                                             show_default="none: scored photos stay",
                                             help="Move scored photos here (after their row "
                                                  "is on disk)."),
    failed: Path | None = typer.Option(None, "--failed", envvar="SPE_FAILED",
                                          show_default="none: they stay",
                                          help="Move photos that cannot be scored here."),
    rescan_interval: float = typer.Option(RESCAN_INTERVAL, "--rescan-interval",
                                          **ranged("rescan_interval"), envvar="SPE_RESCAN_INTERVAL",
                                          help="Seconds between scans for photos events missed."),
    polling: bool = typer.Option(False, "--polling", envvar="SPE_POLLING", show_default="off",
                                 help="Poll instead of inotify (network shares)."),
    threads: int = ThreadsOption,
    model_threads: int | None = ModelThreadsOption,
    batch_size: int = BatchSizeOption,
    runtime: RuntimeName = RuntimeOption,
    kernels: KernelsName = KernelsOption,
    max_pixels: int = MaxPixelsOption,
    max_memory: int = MaxMemoryOption,
    settle: float = typer.Option(SETTLE_SECONDS, "--settle", **ranged("settle"),
                                 envvar="SPE_SETTLE",
                                 help="Seconds a file without a close event must stay unchanged."),
    log_level: LevelName = typer.Option("info", "--log-level", envvar="SPE_LOG_LEVEL",
                                  help="The least that is logged."),
    config: Path | None = ConfigOption,
) -> None:
    """Score every photo dropped into INBOX, exactly once, until stopped (a daemon)."""
    from scorer.watch.loop import Watcher, WatchOptions

    set_up_logging(log_level)
    _check_watch_folders(inbox, processed, failed)
    # A bad model: stop first, with one line (systemd's RestartPreventExitStatus=2 keeps
    # it from restarting in a loop); tried in a child process, which may crash alone.
    settings = Scoring.from_options(max_memory, threads=threads, model_threads=model_threads,
                                    batch_size=batch_size, max_pixels=max_pixels,
                                    runtime=runtime, kernels=kernels)
    try:
        loaded = tried_model(model, settings)
    except SpeError as exc:
        fail(exc.reason)
    ledger = _watch_ledger(out if out is not None else inbox / "scores.csv", processed, failed)
    options = WatchOptions(inbox=inbox, processed=processed, failed=failed,
                           rescan_interval=rescan_interval, polling=polling, scoring=settings,
                           settle=settle)
    try:
        status = Watcher(options, loaded, ledger,
                         reload=lambda: tried_model(model, settings)).run()
    except SpeError as exc:  # cannot watch the inbox (the inotify limit)
        fail(exc.reason)
    _leave(status)


def _leave(status: int) -> None:
    """Everything is written and closed. Decodes abandoned at the stop may still be
    running in native code on their (daemon) threads, and the interpreter's own
    shutdown under them can abort the process (SIGABRT, seen in CI): leave at once."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(status)


def _check_watch_folders(inbox: Path, processed: Path | None, failed: Path | None) -> None:
    """The inbox is a readable folder; --processed and --failed are not it nor above it."""
    try:
        if not inbox.is_dir():
            fail(f"{inbox}: inbox is not a folder")
        os.listdir(inbox)
    except OSError as exc:
        fail(f"{inbox}: cannot read the inbox ({exc.strerror})")
    for flag, folder in (("--processed", processed), ("--failed", failed)):
        # Photos moved there would still be under the inbox, where the scan
        # excludes nothing above itself: nothing would ever be scored.
        if folder is not None and (folder.resolve() == inbox.resolve()
                                   or folder.resolve() in inbox.resolve().parents):
            fail(f"{flag} {folder}: is the inbox or contains it; choose a folder outside the "
                 "inbox (or one inside it)")


def _watch_ledger(out: Path, processed: Path | None, failed: Path | None) -> Ledger:
    """The folders to move into, made; the CSV opened (a half row from a crash cut off)."""
    for folder in (processed, failed):
        if folder is not None:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                fail(f"{folder}: cannot create ({exc.strerror})")
    try:
        ledger = Ledger(out)
    except SpeError as exc:
        fail(exc.reason)
    if ledger.repaired_bytes:
        logging.getLogger("spe.watch").warning(
            "%s: cut off a half row (%d bytes) left by an earlier crash", ledger.path,
            ledger.repaired_bytes)
    return ledger


def main() -> None:
    # A file-size limit (RLIMIT_FSIZE) must surface as an EFBIG error the ledger
    # handles, not as SIGXFSZ killing the process.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    run_app(app, "spe")


if __name__ == "__main__":
    main()
