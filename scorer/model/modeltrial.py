"""A model is tried before the daemon trusts it: ``python -m scorer.model.modeltrial``.

A .tflite that passes the card's checks can still bring the interpreter down
(a truncated file whose card carries its sha256 segfaults it), or give an
output that is not one value per photo. The daemon loads every new model (at
start and on SIGHUP) in a child process first and runs it on one photo-sized
input; a crash there costs one log line, not the daemon. Only a model that
answers is loaded in the daemon itself.

    python -m scorer.model.modeltrial MODEL.tflite RUNTIME KERNELS
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

from scorer.core.child import module_command
from scorer.core.errors import ModelError, SpeError
from scorer.model.runtime import Model, default_model_path

TRIAL_SECONDS = 60.0


def try_model(path: Path | None, runtime: str, kernels: str) -> None:
    """ModelError, with one line, unless the model loads and answers in a child process."""
    shown = path or default_model_path()
    command = module_command("scorer.model.modeltrial", str(shown), runtime, kernels)
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=TRIAL_SECONDS,
                              check=False)
    except subprocess.TimeoutExpired:
        raise ModelError(f"{shown}: the runtime did not load and run it within "
                         f"{TRIAL_SECONDS:.0f} s") from None
    if proc.returncode == 0:
        return
    said = (proc.stderr.strip().splitlines() or [""])[-1]
    if proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name
        raise ModelError(f"{shown}: the TFLite runtime ({runtime}) crashed loading or running "
                         f"it ({name}); a damaged or truncated .tflite?")
    raise ModelError(said or f"{shown}: the trial run failed (exit {proc.returncode})")


def main(argv: list[str]) -> int:
    path, runtime, kernels = argv[:3]
    try:
        model = Model(path, runtime=runtime, threads=1, kernels=kernels)
        raw = model.predict_raw(np.zeros((1, model.size, model.size, 3), np.uint8))
        if raw.shape != (1,) or not np.isfinite(raw).all():
            raise ModelError(f"{path}: its output is not one number per photo ({raw!r:.60})")
    except SpeError as exc:
        print(exc.reason, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
