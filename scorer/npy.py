"""Predict a saved array of pixels with a model: ``python -m scorer.npy``.

The trainer verifies every export through the scorer's own runtime path, in a
separate process because tflite-runtime cannot be loaded beside TensorFlow
(their bundled libraries clash). Usage:

    python -m scorer.npy MODEL.tflite RUNTIME PIXELS.npy OUT.npy
"""

from __future__ import annotations

import sys

import numpy as np

from .errors import SpeError
from .runtime import Model


def main(argv: list[str]) -> int:
    model_path, runtime, pixels_path, out_path = argv
    try:
        model = Model(model_path, runtime=runtime, threads=1)
    except SpeError as exc:
        print(exc.reason, file=sys.stderr)
        return 2
    pixels = np.load(pixels_path)
    raw = np.concatenate([model.predict_raw(pixels[i : i + 32]) for i in range(0, len(pixels), 32)])
    np.save(out_path, raw)
    print(model.runtime)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
