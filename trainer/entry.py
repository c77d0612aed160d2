"""The ``spe-train`` command's entry point, which must work on the scorer's install too.

The trainer needs the `train` extra (TensorFlow, scikit-learn, SciPy, Matplotlib).
Where it is missing (`pip install .` on a Pi, then `spe-train`), a person gets
one line naming the install command and exit status 2, never a traceback.
"""

from __future__ import annotations

import sys

TRAIN_EXTRA = ("tensorflow", "keras", "sklearn", "scipy", "matplotlib", "tflite_runtime")


def main() -> None:
    try:
        from trainer.cli import main as run

        run()
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in TRAIN_EXTRA:
            raise
        print(f"spe-train: needs the train extra ({missing} is not installed): "
              "pip install '.[train]' from the project's folder", file=sys.stderr)
        sys.exit(2)
