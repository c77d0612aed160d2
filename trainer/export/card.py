"""The model card as the trainer writes it (the scorer reads it through scorer.model.card)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from scorer.core.errors import SpeError
from scorer.model.card import ModelCard, Target, likes_distribution, read_card
from trainer import __version__
from trainer.core.errors import WorseModelError
from trainer.core.recipe import LEARNING_RATE, PIXEL_SCALE, FitOptions


def build_card(out: Path, tflite: bytes, target: Target, train_likes: np.ndarray,
               options: FitOptions, dataset, epochs: int) -> ModelCard:
    """Everything the scorer needs, and how the model was made; no absolute path."""
    training = {**asdict(options), "augment": list(options.augment),
                "optimizer": (f"AdamW(learning_rate={LEARNING_RATE}, weight_decay="
                              f"{options.weight_decay})" if options.weight_decay
                              else f"Adam(learning_rate={LEARNING_RATE})"),
                "loss": "mean squared error", "epochs_run": int(epochs),
                "train_photos": int(len(train_likes))}
    if dataset is not None:
        # The folder's own name only: a full path would publish the trainer's
        # home folder and user name with every model.
        training.update(data=Path(dataset.folder).name, layout=dataset.layout,
                        photos=len(dataset.samples), skipped=dict(dataset.skipped),
                        photo_hashes=photo_hashes(dataset))
        times = [s.posted_at for s in dataset.samples if s.posted_at is not None]
        if times:
            training.update(first_post=_day(min(times)), last_post=_day(max(times)))
    distribution = likes_distribution(train_likes)
    return ModelCard(
        sha256=hashlib.sha256(tflite).hexdigest(), height=options.img_size,
        width=options.img_size, target=target, likes=distribution, model_file=out.name,
        size_bytes=len(tflite), pixel_scale=PIXEL_SCALE, pixel_offset=0.0, training=training,
        trainer_version=__version__,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))


HASH_CHARS = 12  # of each training photo's sha256: enough to tell overlap, nothing more


def photo_hashes(dataset) -> list[str]:
    """Short sha256 prefixes of the training photos (sorted), so that `spe-train evaluate`
    can tell when it is shown photos the model trained on."""
    return sorted(hashlib.sha256(Path(s.path).read_bytes()).hexdigest()[:HASH_CHARS]
                  for s in dataset.samples)


def _day(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d")


def read_previous_quality(model_path: Path) -> float | None:
    """The int8 Spearman the model at ``model_path`` was measured at, if there is one.

    None when there is no model there, or its card cannot be read or says
    nothing usable: then there is nothing to protect.
    """
    if not model_path.exists():
        return None
    try:
        return read_card(model_path).measured_spearman
    except SpeError:
        return None


def check_same_photos(out: Path, dataset, force: bool, echo) -> None:
    """Before any training: the gate compares with the model at ``out`` only on the photos
    that model was trained on. Trained on others, its figures are not comparable: refuse at
    the start (not after the work), unless --force. A card that does not list its photos
    (an older one) cannot tell, and the gate compares as before."""
    if not out.exists():
        return
    try:
        card = read_card(out)
    except SpeError:
        return  # as read_previous_quality: nothing usable there, nothing to protect
    theirs = card.training.get("photo_hashes")
    if card.measured_spearman is None or not isinstance(theirs, list):
        return
    ours = photo_hashes(dataset)
    if sorted(theirs) == ours:
        return
    shared = len(set(theirs) & set(ours))
    what = (f"{out} was trained on other photos ({shared} of its {len(theirs)} are among the "
            f"{len(ours)} here), so its figures do not compare with this fit's")
    if force:
        echo(f"replacing {out} whatever this fit measures: {what} (--force)")
        return
    raise WorseModelError(f"{what}: not replaced; --force replaces it, or choose another --out")
