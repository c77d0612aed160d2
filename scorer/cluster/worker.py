"""One worker of ``spe cluster-score``: a Ray actor that loads the model once and
scores chunks of photos with the scorer's own engine.

Nothing here is a second copy: the photos are read, hashed and decoded by the
same Engine as ``spe batch-score`` (scorer/scoring/engine.py), the model runs on the same
runtime (scorer/model/runtime.py), and the rows are the same Row values; the driver
writes them with the same encoder. Ray is not imported here: Ray Data builds
the actors from this plain class.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import astuple
from pathlib import Path
from typing import Any

import numpy as np

from scorer.core.settings import Scoring
from scorer.ledger.ledger import Ledger
from scorer.model.card import card_path_for
from scorer.model.runtime import Model
from scorer.scoring.engine import Engine


def model_copy(model_bytes: bytes, card_text: str, name: str) -> Path:
    """The model and its card written once per machine, under a name of their content:
    workers on other machines need no shared folder for the model, only for the photos."""
    digest = hashlib.sha256(model_bytes + card_text.encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"spe-cluster-model-{digest}"
    path = folder / name
    if path.exists() and card_path_for(path).exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    for target, data in ((card_path_for(path), card_text.encode()), (path, model_bytes)):
        temp = target.with_name(f".{target.name}.{os.getpid()}")
        temp.write_bytes(data)
        os.replace(temp, target)  # whole, even with two workers of one machine at it
    return path


class ChunkScorer:
    """Scores a batch of chunks; returns, for each, its rows and how many were skipped."""

    def __init__(self, model_bytes: bytes, card_text: str, model_name: str, known: np.ndarray,
                 settings: Scoring) -> None:
        path = model_copy(model_bytes, card_text, model_name)
        self.model = Model(path, runtime=settings.runtime, threads=settings.interpreter_threads,
                           kernels=settings.kernels)
        # The output folder's ok rows, as batch-score's ledger knows its CSV's: a photo
        # with an ok row for this model is skipped (read and hashed, not decoded).
        self.ledger = Ledger(None, stdout=False)
        self.ledger.learn_scored(known)
        self.engine = Engine(self.model, self.ledger, settings)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        results = []
        for photos in batch["photos"]:
            members: list[list[str]] = json.loads(photos)  # [[path to read, path shown], ...]
            shown = dict((path, display) for path, display in members)
            rows: list[tuple[Any, ...]] = []
            skipped = 0
            for outcomes in self.engine.score_all(list(shown), shown=shown.__getitem__):
                for outcome in outcomes:
                    if outcome.row is None:
                        skipped += 1
                    else:
                        rows.append(astuple(outcome.row))
            results.append(json.dumps({"rows": rows, "skipped": skipped}))
        return {"name": batch["name"], "result": np.array(results, dtype=object)}
