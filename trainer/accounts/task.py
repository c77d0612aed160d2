"""One account's fit, run in a fresh process (a spawned child here, a Ray worker on a
cluster): the account's photos in, its model's files out as bytes, so that only the
driver writes the models folder, each file whole.

The fit is `spe-train fit`'s own, with its gate: the account's current model (when it
was trained on the same photos) is put beside the fit's output first, so a new model
that measures worse is refused as `fit` refuses it, and kept as ``NAME.refused``. A
current model trained on other photos (the account posted since) is replaced: it is
the account's model, and its figures do not compare with the new fit's.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from scorer.core.errors import SpeError
from trainer.core.errors import TrainerError, WorseModelError
from trainer.core.fds import redirected
from trainer.core.narrator import Narrator
from trainer.core.recipe import FitOptions


@dataclass(frozen=True)
class AccountJob:
    name: str
    folder: str              # the account's photos and likes (a shared path on a cluster)
    options: FitOptions
    force: bool = False
    weights: bytes | None = None          # the backbone's weights file, shipped once
    previous: dict[str, bytes] = field(default_factory=dict)  # its current model's files


@dataclass
class Outcome:
    name: str
    status: str               # fitted, not replaced, failed, up to date
    seconds: float = 0.0
    reason: str = ""          # failed / not replaced: one line
    card: dict | None = None  # the new model's card (fitted, not replaced)
    files: dict[str, bytes] = field(default_factory=dict)  # file name -> bytes, to write

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "not replaced")


def fit_account(job: AccountJob) -> Outcome:
    """Fit one account into a temporary folder and return what it wrote."""
    started = time.monotonic()
    # TensorFlow's C++ log lines go to file descriptor 2: off, for this fit.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with tempfile.TemporaryDirectory(prefix=f"spe-account-{job.name}-") as tmp, redirected(2):
        out = Path(tmp) / f"{job.name}.tflite"
        options = job.options
        if job.weights is not None:
            weights = Path(tmp) / ".weights" / "backbone.pth"
            weights.parent.mkdir()
            weights.write_bytes(job.weights)
            options = replace(options, given_weights=str(weights))
        if _same_photos(job):
            for name, data in job.previous.items():
                (Path(tmp) / name).write_bytes(data)
        said = io.StringIO()
        echo = Narrator(said, tty=False, quiet=True, kept_when_quiet=("warning",))
        from trainer.fitting.fit import fit

        try:
            fit(job.folder, out, options, echo=echo, force=job.force)
            status, reason = "fitted", ""
        except WorseModelError as exc:
            status, reason = "not replaced", reason_of(exc)
        except (TrainerError, SpeError, OSError) as exc:
            return Outcome(job.name, "failed", time.monotonic() - started, reason_of(exc))
        # What the fit wrote: the new model's files, or, refused, those kept beside.
        prefix = f"{job.name}.refused." if status == "not replaced" else f"{job.name}."
        files = {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir())
                 if p.is_file() and p.name.startswith(prefix)}
        return Outcome(job.name, status, time.monotonic() - started, reason,
                       _card_of(files, f"{prefix}json"), files)


def _same_photos(job: AccountJob) -> bool:
    """The account's current model was trained on the photos there now: the gate applies."""
    card_name = f"{job.name}.json"
    if card_name not in job.previous or f"{job.name}.tflite" not in job.previous:
        return False
    from trainer.data.layouts import load_dataset
    from trainer.export.card import photo_hashes

    try:
        theirs = json.loads(job.previous[card_name]).get("training", {}).get("photo_hashes")
        return isinstance(theirs, list) and sorted(theirs) == photo_hashes(
            load_dataset(job.folder))
    except (ValueError, AttributeError, TrainerError, SpeError, OSError):
        return False  # the fit itself will say what is wrong with the data


def _card_of(files: dict[str, bytes], name: str) -> dict | None:
    try:
        return json.loads(files[name])
    except (KeyError, ValueError):
        return None


def reason_of(exc: BaseException, limit: int | None = None) -> str:
    """An exception as one line for an account's row (its type when it says nothing)."""
    return " ".join(str(exc).split())[:limit] or type(exc).__name__


def fit_shipped(job: AccountJob, weights: bytes | None) -> Outcome:
    """A Ray task: ``weights`` come from the object store (put there once by the driver)."""
    return fit_account(replace(job, weights=weights))
