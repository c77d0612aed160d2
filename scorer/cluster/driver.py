"""``spe cluster-score``: score an archive on a Ray cluster, into a folder of partitions.

The driver (this module) lists the photos (a recursive folder's sub-folders are
listed by Ray tasks, on the machines that mount them), cuts the list into
chunks, passes over the chunks whose partition is already written
(partitions.py says how they are named), and has Ray Data stream the others
through a pool of actors (cluster_worker.py) that each load the model once.
Each chunk's rows come back to the driver, which writes them as one partition,
whole. Ray retries a chunk whose actor died (its partition was not written, so
no row is lost or doubled); a rerun after the driver died finds the written
partitions and scores only the rest.

Ray is imported here only, and only when the command runs: ``spe batch-score``
and the Pi's base install never need it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scorer.core.errors import ClusterError, OutputError, UsageError
from scorer.core.extras import install_command
from scorer.core.progress import Progress
from scorer.core.settings import CLUSTER_THREADS, Scoring
from scorer.core.text import display_path, one_line
from scorer.ledger.csvformat import Row
from scorer.ledger.partitions import (
    existing_parts,
    ok_keys,
    part_name,
    remove_leftovers,
    write_part,
)
from scorer.model.runtime import Model
from scorer.photos.discover import expand, folder_reason, is_junk_dir, is_photo_name, list_folder

# Photos per partition: at most 1000 (10,000 files for 10 million photos), and small
# enough for 64 partitions, so that a few thousand photos still keep every worker
# busy. It depends on the number of photos only, so the same listing is always cut
# the same way, whatever the cluster (a rerun on another cluster finds its partitions).
MAX_PARTITION = 1000
MIN_PARTITION = 20
SPREAD = 64


def partition_size(photos: int) -> int:
    return min(MAX_PARTITION, max(MIN_PARTITION, -(-photos // SPREAD)))


@dataclass
class Photo:
    path: str  # absolute: what a worker reads
    shown: str  # as batch-score would show it in the path column
    size: int
    mtime_ns: int


@dataclass
class Listing:
    photos: list[Photo] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (folder, reason)


def stat_photos(paths: list[str], shown: list[str] | None = None) -> list[Photo]:
    """Size and time of each photo, for the partition names; a file that cannot be
    stat'ed is still listed (the worker writes its error row)."""
    photos = []
    for i, path in enumerate(paths):
        try:
            info = os.stat(path)
            size, mtime = info.st_size, info.st_mtime_ns
        except OSError:
            size, mtime = -1, 0
        photos.append(Photo(os.path.abspath(path), display_path(shown[i] if shown else path),
                            size, mtime))
    return photos


def list_tree(folder: str, shown: str) -> Listing:
    """One sub-folder, recursively: the work of one listing task, on whichever machine.

    ``folder`` is absolute (a worker's working folder is not the driver's); the
    photos are shown under ``shown``, the folder as the person typed it.
    """
    def as_typed(path: str) -> str:
        return os.path.join(shown, os.path.relpath(path, folder))

    unreadable: list[tuple[str, str]] = []
    found = list(list_folder(folder, True, unreadable))
    return Listing(stat_photos(found, [as_typed(p) for p in found]),
                   [(as_typed(f), why) for f, why in unreadable])


def list_photos(paths: list[str], recursive: bool,
                remote: Callable[[list[tuple[str, str]]], list[Listing]]) -> Listing:
    """The photos batch-score would score for ``paths``, in the same order, each once.

    A folder given with --recursive is listed here one level deep; its sub-folders
    go to ``remote`` (Ray tasks), whose listings come back in order.
    """
    listing = Listing()
    for given in paths:
        if recursive and os.path.isdir(given):
            try:
                names = sorted(os.listdir(given))
            except OSError as exc:
                listing.unreadable.append((given, folder_reason(exc)))
                continue
            files = [os.path.join(given, n) for n in names if is_photo_name(n)
                     and not os.path.isdir(os.path.join(given, n))]
            subfolders = [(os.path.abspath(os.path.join(given, n)), os.path.join(given, n))
                          for n in names if not is_junk_dir(n)
                          and os.path.isdir(os.path.join(given, n))
                          and not os.path.islink(os.path.join(given, n))]
            listing.photos += stat_photos(files)
            for part in remote(subfolders):
                listing.photos += part.photos
                listing.unreadable += part.unreadable
        else:
            found, _ = expand([given], recursive, listing.unreadable)
            listing.photos += stat_photos(found)
    seen: set[str] = set()
    unique = []
    for photo in listing.photos:
        if photo.path not in seen:
            seen.add(photo.path)
            unique.append(photo)
    listing.photos = unique
    return listing


def chunks(photos: list[Photo], model_id: str, size: int,
           fmt: str) -> Iterator[tuple[str, list[Photo]]]:
    for start in range(0, len(photos), size):
        members = photos[start:start + size]
        yield part_name(model_id, ((f"{p.path}\0{p.shown}", p.size, p.mtime_ns)
                                   for p in members), fmt), members


@dataclass
class ClusterOptions:
    out: Path
    address: str | None = None  # None: the cluster in RAY_ADDRESS, else a new local one
    workers: int | None = None  # None: one per CPU of the cluster
    partition_size: int | None = None  # None: partition_size(number of photos)
    fmt: str = "csv"
    recursive: bool = False
    # Each worker's: batch-score's settings, one decoding thread (the workers fill the cores).
    scoring: Scoring = Scoring(threads=CLUSTER_THREADS)


def import_ray(command: str = "cluster-score") -> Any:
    try:
        import ray
        import ray.data  # noqa: F401 - Ray Data is the part we need
    except ImportError as exc:
        raise UsageError(f"{command} needs Ray Data, which is not installed "
                         f"({exc.name or exc}): {install_command('cluster')}") from None
    return ray


def connect(ray: Any, address: str | None) -> None:
    """Join the cluster at ``address`` (or RAY_ADDRESS), or start one on this machine."""
    # The driver's C++ core prints an "E" line for every actor whose constructor
    # arguments are in the object store (Ray Data puts them there; they live as
    # long as the run): noise for a person, so only fatal ones are shown.
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    probe(address or os.environ.get("RAY_ADDRESS"))
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.ERROR, configure_logging=True)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        where = address or os.environ.get("RAY_ADDRESS") or "this machine"
        raise ClusterError(f"cannot reach the Ray cluster at {where} ({connect_reason(exc)})"
                          ) from None
    # Ray Data's own INFO and WARNING lines ("execution finished", "progress bars
    # disabled") are not for the person running spe; its errors still show.
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False  # ours is one line, in photos
    ctx.print_on_execution_start = False
    # A chunk whose worker died MAX_TRIES times in a row (a photo that crashes the
    # decoder, say) is reported and left for a rerun; the other chunks go on.
    ctx.max_errored_blocks = -1


MAX_TRIES = 4


def probe(address: str | None) -> None:
    """A HOST:PORT that does not answer is said in seconds: Ray itself retries for minutes."""
    if not address or address == "auto" or "://" in address or ":" not in address:
        return
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ClusterError(f"cannot reach the Ray cluster at {address} ({reason}); is it "
                          "started (`ray start --head`) and the address right?") from None


def connect_reason(exc: BaseException) -> str:
    """Why ray.init failed, in one line; a missing token says what to set."""
    chain = [exc]
    while chain[-1].__cause__ is not None and len(chain) < 5:
        chain.append(chain[-1].__cause__)
    if any("AuthToken" in str(e) or type(e).__name__ == "AuthenticationError" for e in chain):
        return ("the cluster asks for its token: set RAY_AUTH_MODE=token, with the token in "
                "~/.ray/auth_token or RAY_AUTH_TOKEN, as `ray start` printed")
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def remote_listings(ray: Any, folders: list[tuple[str, str]]) -> list[Listing]:
    """List sub-folders (absolute, as typed) as Ray tasks, near the data; the listings
    come back in order."""
    if not folders:
        return []
    task = ray.remote(num_cpus=1, max_retries=MAX_TRIES)(list_tree)
    return list(ray.get([task.remote(folder, shown) for folder, shown in folders]))


def stream(ray: Any, todo: list[tuple[str, list[Photo]]], model: Model, known: Any,
           options: ClusterOptions) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each chunk's result as a worker finishes it: (partition name, {rows, skipped})."""
    from scorer.cluster.worker import ChunkScorer
    from scorer.model.card import card_path_for

    items = [{"name": name, "photos": json.dumps([[p.path, p.shown] for p in members])}
             for name, members in todo]
    workers = options.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    workers = min(workers, len(items))
    dataset = ray.data.from_items(items, override_num_blocks=len(items))
    with warnings.catch_warnings():
        # Ray 2.60 calls max_task_retries a deprecated "ray_remote_args" but has no other
        # way to bound the retries of an actor's task (its default is forever).
        warnings.simplefilter("ignore", DeprecationWarning)
        scored = dataset.map_batches(
            ChunkScorer, batch_size=1, compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=1, max_restarts=-1, max_task_retries=MAX_TRIES - 1,
            fn_constructor_kwargs={
                "model_bytes": model.path.read_bytes(),
                "card_text": card_path_for(model.path).read_text(encoding="utf-8"),
                "model_name": model.path.name, "known": known, "settings": options.scoring})
    for batch in scored.iter_batches(batch_size=None, batch_format="numpy"):
        for name, result in zip(batch["name"], batch["result"], strict=True):
            yield str(name), json.loads(result)


def cluster_score(paths: list[str], model: Model, options: ClusterOptions,
                  echo: Callable[[str], None] = lambda m: print(m, file=sys.stderr)) -> dict:
    """Score ``paths`` into partitions under ``options.out``; return the counts."""
    from scorer.ledger.ledger import Ledger

    out = options.out
    try:
        out.mkdir(parents=True, exist_ok=True)
        removed = remove_leftovers(out)
        written = existing_parts(out)
        known, rows_before = ok_keys(out, model.model_id)
    except OSError as exc:
        raise OutputError(f"{out}: cannot use as the output folder ({exc.strerror})") from None
    if removed:
        echo(f"{out}: removed {removed} half-written partition(s) of a run that was stopped")
    ray = import_ray()
    started = time.monotonic()
    connect(ray, options.address)
    listing = list_photos(paths, options.recursive, lambda f: remote_listings(ray, f))
    ledger = Ledger(None, stdout=False)  # this run's dedup: identical bytes scored once
    ledger.learn_scored(known)
    counts = {"scored": 0, "skipped": 0, "failed": 0, "partitions": 0, "already": 0,
              "unfinished": 0}
    if listing.unreadable:
        rows = [Row(display_path(folder), "", model.model_id, error=reason)
                for folder, reason in listing.unreadable]
        for row in rows:
            echo(f"{one_line(row.path)}: {row.error}")
        name = part_name(model.model_id, ((r.path + "\0" + r.error, 0, 0) for r in rows),
                         options.fmt)
        if name.rsplit(".", 1)[0] not in written:
            write_part(out, name, rows)
        counts["failed"] += len(rows)
    todo = []
    size = options.partition_size or partition_size(len(listing.photos))
    for name, members in chunks(listing.photos, model.model_id, size, options.fmt):
        if name.rsplit(".", 1)[0] in written:
            counts["already"] += 1
            counts["skipped"] += len(members)
        else:
            todo.append((name, members))
    echo(f"{len(listing.photos)} photos, {counts['already'] + len(todo)} partitions: "
         f"{counts['already']} already in {out}, {len(todo)} to score "
         f"({rows_before} rows there before)")
    if todo:
        _score_chunks(ray, todo, model, known, options, ledger, counts, echo)
    elapsed = time.monotonic() - started
    rate = counts["scored"] / elapsed if elapsed > 0 else 0.0
    echo(f"scored {counts['scored']}, skipped {counts['skipped']} (scored before, or the same "
         f"bytes as a photo scored), failed {counts['failed']} in {elapsed:.1f} s "
         f"({rate:.1f} photos/s); wrote {counts['partitions']} partition(s)")
    return counts


def _score_chunks(ray: Any, todo: list[tuple[str, list[Photo]]], model: Model, known: Any,
                  options: ClusterOptions, ledger: Any, counts: dict[str, int],
                  echo: Callable[[str], None]) -> None:
    """Stream the chunks through the workers; write each one's partition as it comes."""
    from scorer.core.errors import SpeError

    waiting = {name: len(members) for name, members in todo}
    bar = Progress(sum(waiting.values()))
    try:
        for name, result in stream(ray, todo, model, known, options):
            rows = [Row(*cells) for cells in result["rows"]]
            kept = []
            for row in rows:
                if row.ok and ledger.has_scored(row.sha256, row.model):
                    counts["skipped"] += 1  # the same bytes under another name, scored
                    continue
                kept.append(row)
                ledger.append([row])
                if not row.ok:
                    echo(f"{one_line(row.path)}: {row.error}")
            write_part(options.out, name, kept)
            counts["partitions"] += 1
            counts["scored"] += sum(row.ok for row in kept)
            counts["failed"] += sum(not row.ok for row in kept)
            counts["skipped"] += int(result["skipped"])  # by the workers: ledger or copies
            bar.update(waiting.pop(name))
    except SpeError:
        raise
    except Exception as exc:  # noqa: BLE001 - Ray's own failures: say which, keep what is written
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        echo(f"cluster-score: the run stopped: {type(exc).__name__}: {reason}")
    finally:
        bar.close()
    if waiting:
        counts["unfinished"] = len(waiting)
        echo(f"{len(waiting)} partition(s) of {sum(waiting.values())} photos were not written "
             "(their workers failed); run the same command again to score them")
