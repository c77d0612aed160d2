"""Predict a saved array of pixels with a model: ``python -m scorer.model.npy``.

The trainer verifies every export through the scorer's own runtime path, in a
separate process because tflite-runtime cannot be loaded beside TensorFlow
(their bundled libraries clash). It prints the runtime's name and the
milliseconds per photo it took (one thread, batches of 32), which the trainer
records in the model card. Usage:

    python -m scorer.model.npy MODEL.tflite RUNTIME PIXELS.npy OUT.npy [KERNELS]

KERNELS is exact (the default) or fast; the output's int8 step (its
quantization scale) is printed too, so differences can be counted in steps.

    python -m scorer.model.npy time MODEL.tflite RUNTIME PIXELS.npy REPEATS

times the built-in and the fast kernels side by side, interleaved (exact, fast,
exact, fast, ...), and prints the runtime's name and the median milliseconds per
photo of each: steady numbers that the same load on the machine affects alike.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from scorer.core.errors import RuntimeMissing, SpeError
from scorer.model.runtime import Model

BATCH = 32
EXIT_RUNTIME_MISSING = 3  # the trainer skips that runtime; any other failure is an error


def _ms_per_photo(model: Model, pixels: np.ndarray) -> float:
    started = time.perf_counter()
    for i in range(0, len(pixels), BATCH):
        model.predict_raw(pixels[i : i + BATCH])
    return (time.perf_counter() - started) * 1000 / max(1, len(pixels))


def _load(model_path: str, runtime: str, kernels: list[str]) -> list[Model] | int:
    """The model on one thread with each of ``kernels``, or the exit status to leave with
    (EXIT_RUNTIME_MISSING when the runtime is not installed here), the reason said."""
    try:
        return [Model(model_path, runtime=runtime, threads=1, kernels=k) for k in kernels]
    except RuntimeMissing as exc:
        print(exc.reason, file=sys.stderr)
        return EXIT_RUNTIME_MISSING
    except SpeError as exc:
        print(exc.reason, file=sys.stderr)
        return 2


def time_kernels(argv: list[str]) -> int:
    model_path, runtime, pixels_path, repeats = argv[:4]
    models = _load(model_path, runtime, ["exact", "fast"])
    if isinstance(models, int):
        return models
    pixels = np.load(pixels_path)
    for model in models:
        model.predict_raw(pixels[:BATCH])  # allocation and the delegate's set-up, untimed
    times: list[list[float]] = [[], []]
    for _ in range(int(repeats)):
        for k, model in enumerate(models):
            times[k].append(_ms_per_photo(model, pixels))
    print(models[0].runtime, f"{np.median(times[0]):.3f}", f"{np.median(times[1]):.3f}")
    return 0


def main(argv: list[str]) -> int:
    if argv and argv[0] == "time":
        return time_kernels(argv[1:])
    model_path, runtime, pixels_path, out_path = argv[:4]
    loaded = _load(model_path, runtime, [argv[4] if len(argv) > 4 else "exact"])
    if isinstance(loaded, int):
        return loaded
    model = loaded[0]
    pixels = np.load(pixels_path)
    model.predict_raw(pixels[:BATCH])  # the first call allocates; keep it out of the timing
    started = time.perf_counter()
    raw = np.concatenate([model.predict_raw(pixels[i : i + BATCH])
                          for i in range(0, len(pixels), BATCH)])
    milliseconds = (time.perf_counter() - started) * 1000 / max(1, len(pixels))
    np.save(out_path, raw)
    print(model.runtime, f"{milliseconds:.3f}", f"{model.output_step!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
