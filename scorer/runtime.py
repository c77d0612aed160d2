"""Run a model card's ``.tflite`` on tflite-runtime or ai-edge-litert.

tflite-runtime 2.14 is what Raspberry Pi OS 12 (Python 3.11) installs;
ai-edge-litert is its maintained successor and the only one on Python 3.12+.
``auto`` prefers tflite-runtime where both are installed, as on a Pi.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.resources
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .card import ModelCard, percentile_of, read_card
from .errors import ModelError, RuntimeMissing, UsageError


def default_model_path() -> Path:
    """The starter model shipped inside the installed package.

    A regular install carries it as ``scorer/models/``; a source checkout or an
    editable install finds it in the repository's own ``models/`` folder.
    """
    try:
        return Path(str(importlib.resources.files("scorer.models").joinpath("default.tflite")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "models" / "default.tflite"


def _tflite_runtime() -> Any:
    from tflite_runtime import interpreter

    return interpreter


def _litert() -> Any:
    from ai_edge_litert import interpreter

    return interpreter


# One table: a runtime's name -> the loader of its ``interpreter`` module, in the
# order ``auto`` tries them (tflite-runtime first, as a Pi OS 12 install has it).
# Adding a runtime is adding an entry; the CLI and the trainer read the table.
LOADERS: dict[str, Callable[[], Any]] = {"tflite-runtime": _tflite_runtime, "litert": _litert}
RUNTIMES = ("auto", *LOADERS)
# auto: the fast kernels (XNNPACK, where a runtime has them for int8) if the model's
# card records that their outputs stayed within MAX_FAST_STEPS int8 steps of the
# built-in kernels when it was exported; else the built-in ones. exact: always the
# built-in kernels (the same scores on every runtime, bit for bit). fast: XNNPACK
# whatever the card measured (`spe info` shows the measured difference).
KERNELS = ("auto", "exact", "fast")
MAX_FAST_STEPS = 1
INSTALL_HINT = "pip install tflite-runtime (Python <= 3.11) or ai-edge-litert"


@contextlib.contextmanager
def _quiet_stderr(quiet: bool) -> Iterator[None]:
    """Silence what native code writes to stderr (fd 2) for the duration."""
    if not quiet:
        yield
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def fast_kernels_agree(measured: dict) -> bool:
    """The card's export check of a runtime's fast kernels passed: within MAX_FAST_STEPS
    int8 steps of the built-in ones, and faster."""
    steps = measured.get("fast_max_steps")
    return steps is not None and steps <= MAX_FAST_STEPS and bool(measured.get("faster"))


def interpreter_module(runtime: str = "auto") -> tuple[Any, str]:
    """The ``interpreter`` module of the chosen runtime and the runtime's name."""
    if runtime not in RUNTIMES:
        raise UsageError(f"unknown runtime {runtime!r}: choose one of {', '.join(RUNTIMES)}")
    for name in (LOADERS if runtime == "auto" else [runtime]):
        try:
            return LOADERS[name](), name
        except ImportError:
            continue
    if runtime == "auto":
        raise RuntimeMissing(f"no TFLite runtime installed: {INSTALL_HINT}")
    raise RuntimeMissing(f"runtime {runtime} is not installed")


class Model:
    """A verified model: its card, its interpreter, and ``predict`` on pixel batches."""

    def __init__(self, path: str | os.PathLike[str] | None = None, runtime: str = "auto",
                 threads: int | None = None, kernels: str = "auto") -> None:
        self.path = Path(path) if path is not None else default_model_path()
        self.card: ModelCard = read_card(self.path)
        try:
            content = self.path.read_bytes()
        except OSError as exc:
            raise ModelError(f"{self.path}: cannot read model ({exc.strerror})") from None
        digest = hashlib.sha256(content).hexdigest()
        if digest != self.card.sha256:
            raise ModelError(
                f"{self.path}: sha256 {digest[:12]} does not match its card's"
                f" {self.card.sha256[:12]} (model and card are from different trainings?)"
            )
        if kernels not in KERNELS:
            raise UsageError(f"unknown kernels {kernels!r}: choose one of {', '.join(KERNELS)}")
        if runtime == "auto" and kernels != "exact" and self._fast_ok("litert", kernels):
            try:  # the runtime with fast int8 kernels, where it is installed
                module, self.runtime = interpreter_module("litert")
            except RuntimeMissing:
                module, self.runtime = interpreter_module(runtime)
        else:
            module, self.runtime = interpreter_module(runtime)
        self.kernels = "fast" if self._fast_ok(self.runtime, kernels) else "exact"
        # exact: the built-in kernels without the XNNPACK delegate. XNNPACK rounds
        # some int8 outputs differently (by one to two steps on the deep network),
        # so only where the card's export check allows, or when asked.
        resolver = (module.OpResolverType.AUTO if self.kernels == "fast"
                    else module.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        try:
            self._interpreter = module.Interpreter(
                model_content=content, num_threads=threads,
                experimental_op_resolver_type=resolver,
            )
            with _quiet_stderr(self.kernels == "fast"):  # "INFO: Created ... XNNPACK delegate"
                self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ModelError(f"{self.path}: {self.runtime} cannot load it ({reason})") from None
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        shape = tuple(int(v) for v in self._input["shape"][1:])
        expected = (self.card.height, self.card.width, self.card.channels)
        if shape != expected:
            raise ModelError(f"{self.path}: input shape {shape} does not match its card's "
                             f"{expected}")
        self._batch = int(self._input["shape"][0])

    def _fast_ok(self, runtime: str, kernels: str) -> bool:
        """Whether ``runtime`` should run the fast kernels under the ``kernels`` setting."""
        if kernels == "exact":
            return False
        if kernels == "fast":
            return True
        return fast_kernels_agree((self.card.kernels or {}).get(runtime, {}))

    @property
    def output_step(self) -> float:
        """One int8 step of the output, in the network's own units (0: not quantized)."""
        return float(self._output["quantization"][0])

    @property
    def size(self) -> int:
        return self.card.height

    @property
    def model_id(self) -> str:
        return self.card.model_id

    def predict_raw(self, pixels: np.ndarray) -> np.ndarray:
        """The network's output (before the target's inverse) for ``(n, s, s, 3)`` uint8."""
        if len(pixels) != self._batch:
            index = self._input["index"]
            self._interpreter.resize_tensor_input(index, [len(pixels), *pixels.shape[1:]])
            self._interpreter.allocate_tensors()
            self._batch = len(pixels)
        self._interpreter.set_tensor(self._input["index"], self._quantize(pixels))
        self._interpreter.invoke()
        out = self._interpreter.get_tensor(self._output["index"]).reshape(len(pixels))
        scale, zero_point = self._output["quantization"]
        if scale:
            return (out.astype(np.float64) - zero_point) * scale
        return out.astype(np.float64)

    def predict(self, pixels: np.ndarray) -> np.ndarray:
        """Predicted likes (never negative) for a batch of RGB uint8 images."""
        return self.card.target.inverse(self.predict_raw(pixels))

    def percentile(self, likes: np.ndarray) -> np.ndarray:
        return percentile_of(likes, self.card.percentiles)

    def _quantize(self, pixels: np.ndarray) -> np.ndarray:
        values = pixels.astype(np.float32) * self.card.pixel_scale + self.card.pixel_offset
        dtype = self._input["dtype"]
        scale, zero_point = self._input["quantization"]
        if not scale:
            return values.astype(dtype)
        info = np.iinfo(dtype)
        return np.clip(np.round(values / scale) + zero_point, info.min, info.max).astype(dtype)
