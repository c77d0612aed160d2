"""Each fold's network exported to int8 and run by the scorer on the fold's own photos,
so cross-validation measures the int8 model the Pi will run, not only the float one."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scorer.model.card import write_card
from trainer.core.metrics import regression_metrics
from trainer.core.recipe import PIXEL_SCALE, FitOptions
from trainer.export.card import build_card


class FoldExport:
    """After each fold: export its network to int8, run it in the scorer, keep the predictions."""

    def __init__(self, folder: Path, pixels, likes, options: FitOptions, int8: np.ndarray,
                 calibration: dict | None = None):
        self.folder, self.pixels, self.likes = folder, pixels, likes
        self.options, self.int8, self.test_parts = options, int8, []
        self.calibration = calibration or {}  # representative_set's sizes, if not its own

    def __call__(self, k, model, target, train_idx, test_idx) -> None:
        from trainer.export.int8 import export_int8, representative_set, run_exported

        path = self.folder / f"fold{k + 1}.tflite"
        tflite = export_int8(model, representative_set(model, self.pixels[train_idx],
                                                       self.options.seed, **self.calibration),
                             PIXEL_SCALE)
        path.write_bytes(tflite)
        card = build_card(path, tflite, target, self.likes[train_idx], self.options, None, 0)
        write_card(path, card)
        raw = next(iter(run_exported(path, self.pixels[test_idx], first_only=True).values()))
        self.int8[test_idx] = target.inverse(raw)
        self.test_parts.append(test_idx)

    def record(self, run) -> None:
        """Put the folds' int8 predictions and per-fold metrics beside the float ones in
        ``run`` (a FoldRun), as its summary reads them."""
        run.predictions["int8"] = self.int8
        run.per_fold["int8"] = [regression_metrics(
            self.likes[idx], self.int8[idx], self.likes[np.setdiff1d(np.arange(len(self.likes)),
                                                                      idx)])
            for idx in self.test_parts]
