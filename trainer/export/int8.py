"""Export a trained Keras model to full-integer int8 TFLite, and check it.

Full int8 (not the converter's default dynamic-range mode) because that mode
emits FULLY_CONNECTED version 12, which tflite-runtime 2.14 on a Pi cannot
load. An int8 output clips outside the range seen during calibration, so the
representative set is widened beyond the training photos: flipped, darker,
brighter and flatter variants, plus the photos with the most extreme
predictions, so the output range covers what the model will be asked.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import subprocess
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf

from scorer.core.child import module_command
from scorer.model.card import Target
from scorer.model.npy import EXIT_RUNTIME_MISSING
from scorer.model.runtime import (
    LOADERS,
    MIN_FAST_SPEARMAN,
    MIN_FAST_SPEEDUP,
    PACKAGES,
    fast_kernels_faster,
    kernels_reason,
)
from trainer.core.errors import ExportError
from trainer.core.fds import redirected
from trainer.core.metrics import spearman
from trainer.networks.predict import predict_raw

REPRESENTATIVE_PHOTOS = 300  # calibration cost grows with this; 300 is a few seconds
CANDIDATES = 1500  # photos and variants the extremes are looked for among (a predict each)
TIMING_PHOTOS = 32  # the kernels' speed: this many photos, timed TIMING_REPEATS times each way
TIMING_REPEATS = 5
EXTREME_PHOTOS = 20  # per end: the lowest and the highest predictions


VARIANTS = 6  # the photo itself, then variant()'s five
VARIANT_CHUNK = 32  # variants are made this many at a time (in float32: 4 bytes a pixel)


def variant(pixels: np.ndarray, kind: int) -> np.ndarray:
    """Variant ``kind`` (uint8) of each photo: 0 itself, 1 flipped, 2 darker, 3 brighter,
    4 more contrast, 5 greyscale; the flips and photometric changes stretch the ranges."""
    if kind == 0:
        return pixels
    if kind == 1:
        return pixels[:, :, ::-1]
    x = pixels.astype(np.float32)
    if kind == 2:
        out = np.clip(x * 0.6, 0, 255)
    elif kind == 3:
        out = np.clip(x * 1.35, 0, 255)
    elif kind == 4:
        mean = x.mean(axis=(1, 2), keepdims=True)
        out = np.clip((x - mean) * 1.4 + mean, 0, 255)
    else:
        out = x.mean(axis=3, keepdims=True).repeat(3, axis=3)
    return out.astype(np.uint8)


def candidate_pool(pixels: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """The candidates at ``chosen`` of the photos followed by each kind of their variants
    (index ``kind * n + photo``), made a chunk at a time: every variant of every photo in
    float32 at once was the fit's peak of memory (six copies, and four bytes a pixel)."""
    n = len(pixels)
    pool = np.empty((len(chosen), *pixels.shape[1:]), np.uint8)
    for start in range(0, len(chosen), VARIANT_CHUNK):
        part = chosen[start:start + VARIANT_CHUNK]
        kinds, photos = np.divmod(part, n)
        for kind in np.unique(kinds):
            at = np.flatnonzero(kinds == kind)
            pool[start + at] = variant(pixels[photos[at]], int(kind))
    return pool


def representative_set(model: tf.keras.Model, pixels: np.ndarray, seed: int,
                       candidates: int = CANDIDATES,
                       photos: int = REPRESENTATIVE_PHOTOS) -> np.ndarray:
    """Training photos and their variants, always including the prediction extremes."""
    rng = np.random.default_rng(seed)
    size = VARIANTS * len(pixels)
    # An ensemble's predict is slow; a sample of the candidates finds the extremes.
    chosen = (np.sort(rng.choice(size, candidates, replace=False)) if size > candidates
              else np.arange(size))
    pool = candidate_pool(pixels, chosen)
    scores = predict_raw(model, pool)
    order = np.argsort(scores)
    extremes = np.concatenate([order[:EXTREME_PHOTOS], order[-EXTREME_PHOTOS:]])
    rest = np.setdiff1d(np.arange(len(pool)), extremes)
    picked = rng.choice(rest, size=min(len(rest), photos - len(extremes)), replace=False)
    return pool[np.concatenate([extremes, picked])]


def export_int8(model: tf.keras.Model, representative: np.ndarray, pixel_scale: float) -> bytes:
    """Convert with int8 weights, activations, input and output."""
    def samples():
        for image in representative:
            yield [image[None].astype(np.float32) * pixel_scale]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = samples
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    # The converter prints the temporary SavedModel's signature to stdout, and its
    # C++ half a line of quantizer settings to stderr: neither is for the person.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), redirected(2):
        warnings.simplefilter("ignore")  # "Statistics for quantized inputs were expected"
        return converter.convert()


def installed_runtimes() -> list[str]:
    """The runtimes an export will be verified under (their interpreters load here)."""
    return [name for name in LOADERS if importlib.util.find_spec(PACKAGES[name]) is not None]


def run_exported(model_path: Path, pixels: np.ndarray, timings: dict[str, float] | None = None,
                 first_only: bool = False, kernels: str = "exact",
                 steps: dict[str, float] | None = None,
                 on_runtime: Callable[[str], None] | None = None) -> dict[str, np.ndarray]:
    """The raw outputs of the exported model under every installed TFLite runtime.

    Each runtime runs in its own process through the scorer (``scorer.model.npy``), so
    this checks exactly what a Pi will run. A runtime that is not installed
    here is left out; one that is installed but fails raises. ``timings``, if
    given, receives each runtime's milliseconds per photo (one thread). With
    ``first_only``, the first installed runtime is enough (the folds' networks:
    only their predictions are wanted; the exported model is run by all).
    ``kernels``: exact (built-in) or fast (XNNPACK where the runtime has it);
    ``steps``, if given, receives each runtime's output step (int8 scale);
    ``on_runtime(name)`` is called as each runtime is done (progress).
    """
    outputs: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        pixels_path = Path(tmp) / "pixels.npy"
        np.save(pixels_path, pixels)
        for runtime in LOADERS:
            out_path = Path(tmp) / f"{runtime}.npy"
            proc = subprocess.run(
                module_command("scorer.model.npy", str(model_path), runtime, str(pixels_path),
                               str(out_path), kernels),
                capture_output=True, text=True, check=False,
            )
            if proc.returncode == EXIT_RUNTIME_MISSING:
                continue  # not installed here: verified by the others
            if proc.returncode != 0:
                raise ExportError(f"{model_path}: {runtime} cannot run the export: "
                                  f"{proc.stderr.strip()[-300:]}")
            outputs[runtime] = np.load(out_path)
            fields = proc.stdout.split()
            if timings is not None:
                timings[runtime] = float(fields[-2])
            if steps is not None:
                steps[runtime] = float(fields[-1])
            if on_runtime is not None:
                on_runtime(runtime)
            if first_only:
                break
    if not outputs:
        raise ExportError("no TFLite runtime installed to verify the export with: "
                          "pip install tflite-runtime (Python <= 3.11) or ai-edge-litert")
    return outputs


def measure_kernels(model_path: Path, pixels: np.ndarray, exact: dict[str, np.ndarray],
                    target: Target, float_likes: np.ndarray) -> dict[str, dict]:
    """Per runtime, what a user would see change with its fast kernels, on ``pixels``:
    their ranking against the built-in kernels' (Spearman), their largest difference in
    predicted likes beside the int8 model's own largest difference from the float model
    (``float_likes``), and both kernels' speed (medians of interleaved repeats). The
    scorer runs the fast kernels by default only where these pass its rule
    (scorer.model.runtime.fast_kernels_agree); the int8 steps are kept for the record."""
    steps: dict[str, float] = {}
    fast = run_exported(model_path, pixels, kernels="fast", steps=steps)
    speeds = time_kernels(model_path, pixels[:TIMING_PHOTOS])
    measured = {}
    for runtime, outputs in fast.items():
        if runtime not in exact or runtime not in speeds:
            continue
        step = steps[runtime] or 1.0
        difference = np.rint(np.abs(outputs - exact[runtime]) / step)
        fast_likes, exact_likes = target.inverse(outputs), target.inverse(exact[runtime])
        ms_exact, ms_fast = speeds[runtime]
        measured[runtime] = {
            "fast_spearman": kernels_spearman(fast_likes, exact_likes),
            "fast_max_diff_likes": float(np.abs(fast_likes - exact_likes).max()),
            "int8_max_diff_likes": float(np.abs(exact_likes - float_likes).max()),
            "fast_max_steps": int(difference.max()), "photos": int(len(pixels)),
            "photos_differing": int((difference > 0).sum()),
            "fast_mean_steps": float(difference.mean()),
            "ms_fast": ms_fast, "ms_exact": ms_exact,
            "timed": f"medians of {TIMING_REPEATS} interleaved runs over "
                     f"{min(len(pixels), TIMING_PHOTOS)} photos, one thread",
            "faster": fast_kernels_faster(ms_fast, ms_exact),
            "limits": {"fast_spearman": MIN_FAST_SPEARMAN,
                       "fast_max_diff_likes": "int8_max_diff_likes",
                       "speedup": MIN_FAST_SPEEDUP}}
        # The choice `auto` will make, and why, in the words spe info and fit print.
        measured[runtime]["decision"] = kernels_reason(measured[runtime])
    return measured


def kernels_spearman(fast: np.ndarray, exact: np.ndarray) -> float:
    """How alike two kernels rank the photos: identical predictions rank identically
    (1.0, where a rank correlation of constant predictions would be undefined)."""
    if np.array_equal(fast, exact):
        return 1.0
    return spearman(exact, fast)


def time_kernels(model_path: Path, pixels: np.ndarray) -> dict[str, tuple[float, float]]:
    """Per installed runtime: (built-in, fast) milliseconds per photo, one thread."""
    speeds = {}
    with tempfile.TemporaryDirectory() as tmp:
        pixels_path = Path(tmp) / "pixels.npy"
        np.save(pixels_path, pixels)
        for runtime in LOADERS:
            proc = subprocess.run(
                module_command("scorer.model.npy", "time", str(model_path), runtime,
                               str(pixels_path), str(TIMING_REPEATS)),
                capture_output=True, text=True, check=False)
            if proc.returncode == EXIT_RUNTIME_MISSING:
                continue
            if proc.returncode != 0:
                raise ExportError(f"{model_path}: {runtime} cannot time the export: "
                                  f"{proc.stderr.strip()[-300:]}")
            fields = proc.stdout.split()
            speeds[runtime] = (float(fields[-2]), float(fields[-1]))
    return speeds
