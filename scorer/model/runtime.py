"""Run a model card's ``.tflite`` on tflite-runtime or ai-edge-litert.

ai-edge-litert is the base install (it has wheels for a Pi's Python 3.11 and
3.13); tflite-runtime 2.14, its predecessor, still runs every export (the
trainer verifies under both). Where both are installed, ``auto`` takes the one
the model's card measured faster at export, with the kernels it would use.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib.resources
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np

from scorer.core.errors import ModelError, RuntimeMissing, UsageError
from scorer.core.settings import DEFAULT_KERNELS, DEFAULT_RUNTIME
from scorer.model.card import MAX_MODEL_BYTES, ModelCard, percentile_of, read_card, read_model_file


def default_model_path() -> Path:
    """The starter model shipped inside the installed package.

    A regular install carries it as ``scorer/models/``; a source checkout or an
    editable install finds it in the repository's own ``models/`` folder.
    """
    try:
        return Path(str(importlib.resources.files("scorer.models").joinpath("default.tflite")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "models" / "default.tflite"


def _tflite_runtime() -> Any:
    from tflite_runtime import interpreter

    return interpreter


def _litert() -> Any:
    from ai_edge_litert import interpreter

    return interpreter


# One table: a runtime's name -> the loader of its ``interpreter`` module, in the
# order ``auto`` tries them when the card has no timings (ai-edge-litert first: the
# base install). Adding a runtime is adding an entry; the CLI and the trainer read it.
LOADERS: dict[str, Callable[[], Any]] = {"litert": _litert, "tflite-runtime": _tflite_runtime}
# Each runtime's top package, to tell whether it is installed without loading it (the
# trainer's process holds TensorFlow's own copy of the TFLite kernels).
PACKAGES = {"litert": "ai_edge_litert", "tflite-runtime": "tflite_runtime"}
RUNTIMES = ("auto", *LOADERS)
# auto: the fast kernels (XNNPACK, where a runtime has them for int8) where the model's
# card shows, measured at export on its calibration photos, that a user would not tell
# them from the built-in ones: they rank the photos the same (Spearman between the two
# kernels' predictions at least MIN_FAST_SPEARMAN), their largest difference in predicted
# likes is no larger than the int8 model's own largest difference from the float model
# (its quantisation error: the fast kernels add no error beyond what int8 already has),
# and they run at least MIN_FAST_SPEEDUP times faster (medians of interleaved repeats).
# A card written before these figures keeps the rule it was exported under: within
# MAX_FAST_STEPS int8 output steps, and faster. exact: always the built-in kernels (the
# same scores on every runtime, bit for bit). fast: XNNPACK whatever the card measured.
KERNELS = ("auto", "exact", "fast")
MIN_FAST_SPEARMAN = 0.99
MIN_FAST_SPEEDUP = 1.5
MAX_FAST_STEPS = 3  # the rule of cards without the figures above
INSTALL_HINT = "pip install tflite-runtime (Python <= 3.11) or ai-edge-litert"


# fd 2 is the process's, not a thread's: two threads that each saved and restored it
# could put /dev/null back for good (spe rank's clones, one per decode thread).
_STDERR_SWAP = threading.Lock()


@contextlib.contextmanager
def _quiet_stderr(quiet: bool) -> Iterator[None]:
    """Silence what native code writes to stderr (fd 2) for the duration."""
    if not quiet:
        yield
        return
    with _STDERR_SWAP:
        saved = os.dup(2)
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _num(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def fast_kernel_checks(measured: dict) -> dict[str, bool] | None:
    """Each condition of the rule, passed or not, from a runtime's figures in the card;
    None for a card that predates them (it keeps the rule of MAX_FAST_STEPS)."""
    rho, diff = measured.get("fast_spearman"), measured.get("fast_max_diff_likes")
    error = measured.get("int8_max_diff_likes")
    if not (_num(rho) and _num(diff) and _num(error)):
        return None
    return {"rank": rho >= MIN_FAST_SPEARMAN, "difference": diff <= error,
            "speed": measured.get("faster") is True}


def fast_kernels_agree(measured: dict) -> bool:
    """The card's export check of a runtime's fast kernels passed (the rule above)."""
    checks = fast_kernel_checks(measured)
    if checks is not None:
        return all(checks.values())
    steps = measured.get("fast_max_steps")
    return _num(steps) and steps <= MAX_FAST_STEPS and measured.get("faster") is True


def _speedup(measured: dict) -> str:
    fast, exact = measured.get("ms_fast"), measured.get("ms_exact")
    if _num(fast) and _num(exact) and fast:
        return (f"{exact / fast:.1f}x as fast (limit {MIN_FAST_SPEEDUP}x; {fast:.2f} against "
                f"{exact:.2f} ms/photo)")
    return "speed not measured"


def kernels_reason(measured: dict) -> str:
    """One line: which kernels ``auto`` uses for a runtime, and why (the card's figures)."""
    photos = measured.get("photos", "?")
    checks = fast_kernel_checks(measured)
    if checks is None:
        steps = measured.get("fast_max_steps")
        close = _num(steps) and steps <= MAX_FAST_STEPS
        found = (f"at most {steps} int8 step(s) from the built-in kernels on {photos} photos "
                 f"(limit {MAX_FAST_STEPS}), {_speedup(measured)}")
        failed = [] if close else ["too far from the built-in kernels"]
    else:
        found = (f"rank agreement with the built-in kernels {measured['fast_spearman']:.4f} "
                 f"(limit {MIN_FAST_SPEARMAN}), largest difference "
                 f"{measured['fast_max_diff_likes']:.3g} likes against int8's own "
                 f"{measured['int8_max_diff_likes']:.3g} from float (the limit), on {photos} "
                 f"photos; {_speedup(measured)}")
        failed = [why for key, why in (("rank", "they rank differently"),
                                       ("difference", "they differ more than int8 does"))
                  if not checks[key]]
    if measured.get("faster") is not True:
        failed.append(f"not {MIN_FAST_SPEEDUP}x as fast")
    if not failed:
        return f"used by default: {found}"
    return f"not used by default ({'; '.join(failed)}): {found}; --kernels fast uses them anyway"


def fast_kernels_faster(ms_fast: float, ms_exact: float) -> bool:
    """The export's speed test of the fast kernels (milliseconds per photo, medians)."""
    return ms_fast * MIN_FAST_SPEEDUP <= ms_exact


def expected_ms(card: ModelCard, runtime: str, kernels: str) -> float | None:
    """Milliseconds per photo the card measured for ``runtime`` with the kernels the
    ``kernels`` setting would choose there; None when the card has no such figure."""
    measured = (card.kernels or {}).get(runtime, {}) if isinstance(card.kernels, dict) else {}
    fast = kernels == "fast" or (kernels == "auto" and fast_kernels_agree(measured))
    value = measured.get("ms_fast" if fast else "ms_exact")
    if value is None and not fast:
        value = ((card.cost or {}).get("ms_per_photo_one_thread") or {}).get(runtime)
    return float(value) if isinstance(value, (int, float)) else None


def runtime_order(card: ModelCard, kernels: str) -> list[str]:
    """The runtimes ``auto`` tries, fastest first by the card's measurements (those it
    has none for keep the table's order, after the measured ones)."""
    timed = {name: expected_ms(card, name, kernels) for name in LOADERS}
    return sorted(LOADERS, key=lambda name: (timed[name] is None, timed[name] or 0.0))


def interpreter_module(runtime: str = DEFAULT_RUNTIME,
                       order: list[str] | None = None) -> tuple[Any, str]:
    """The ``interpreter`` module of the chosen runtime and the runtime's name; ``auto``
    takes the first installed of ``order`` (default: the table's order)."""
    if runtime not in RUNTIMES:
        raise UsageError(f"unknown runtime {runtime!r}: choose one of {', '.join(RUNTIMES)}")
    for name in ((order or list(LOADERS)) if runtime == "auto" else [runtime]):
        try:
            return LOADERS[name](), name
        except ImportError:
            continue
    if runtime == "auto":
        raise RuntimeMissing(f"no TFLite runtime installed: {INSTALL_HINT}")
    raise RuntimeMissing(f"runtime {runtime} is not installed")


class Model:
    """A verified model: its card, its interpreter, and ``predict`` on pixel batches."""

    def __init__(self, path: str | os.PathLike[str] | None = None,
                 runtime: str = DEFAULT_RUNTIME, threads: int | None = None,
                 kernels: str = DEFAULT_KERNELS) -> None:
        self.path = Path(path) if path is not None else default_model_path()
        if self.path.is_dir():
            raise ModelError(f"{self.path}: is a folder, not a model (give NAME.tflite)")
        if not self.path.exists():
            raise ModelError(f"{self.path}: no such model file")
        content = read_model_file(self.path, MAX_MODEL_BYTES, "model")
        if content[4:8] != b"TFL3":  # the FlatBuffer's file identifier of every .tflite
            raise ModelError(f"{self.path}: not a TFLite model (give NAME.tflite)")
        self.card: ModelCard = read_card(self.path)
        digest = hashlib.sha256(content).hexdigest()
        if digest != self.card.sha256:
            raise ModelError(
                f"{self.path}: sha256 {digest[:12]} does not match its card's"
                f" {self.card.sha256[:12]} (model and card are from different trainings?)"
            )
        if kernels not in KERNELS:
            raise UsageError(f"unknown kernels {kernels!r}: choose one of {', '.join(KERNELS)}")
        module, self.runtime = interpreter_module(runtime, runtime_order(self.card, kernels))
        self.kernels = "fast" if self._fast_ok(self.runtime, kernels) else "exact"
        self._module, self._content = module, content
        self._interpreter = self._new_interpreter(threads)
        self._input = self._interpreter.get_input_details()[0]
        outputs = self._interpreter.get_output_details()
        self._output = outputs[0]
        if len(outputs) != 1 or int(np.prod(self._output["shape"][1:])) != 1:
            raise ModelError(f"{self.path}: its output is not one value per photo (shapes "
                             f"{', '.join(str(tuple(o['shape'])) for o in outputs)})")
        shape = tuple(int(v) for v in self._input["shape"][1:])
        expected = (self.card.height, self.card.width, self.card.channels)
        if shape != expected:
            raise ModelError(f"{self.path}: input shape {shape} does not match its card's "
                             f"{expected}")
        self._batch = int(self._input["shape"][0])
        self._lookup: np.ndarray | None = None
        self._shifted = False

    def _new_interpreter(self, threads: int | None) -> Any:
        # exact: the built-in kernels without the XNNPACK delegate. XNNPACK rounds
        # some int8 outputs differently, so only where the card's export check allows
        # (scorer.model.runtime's rule), or when asked.
        module = self._module
        resolver = (module.OpResolverType.AUTO if self.kernels == "fast"
                    else module.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        try:
            interpreter = module.Interpreter(
                model_content=self._content, num_threads=threads,
                experimental_op_resolver_type=resolver,
            )
            with _quiet_stderr(self.kernels == "fast"):  # "INFO: Created ... XNNPACK delegate"
                interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ModelError(f"{self.path}: {self.runtime} cannot load it ({reason})") from None
        return interpreter

    def clone(self, threads: int | None) -> Model:
        """The same model (bytes, card, runtime, kernels) in an interpreter of its own, for
        another thread: an interpreter is never shared between threads."""
        twin = copy.copy(self)
        twin._interpreter = self._new_interpreter(threads)
        twin._batch = int(twin._interpreter.get_input_details()[0]["shape"][0])
        return twin

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
        # A uint8 pixel has 256 values: their input values are computed once, by the
        # same arithmetic, and looked up (one pass over the batch instead of six). Most
        # exports map 0..255 to -128..127, which is flipping the top bit (a tenth of it).
        if pixels.dtype != np.uint8:
            return self._input_values(pixels)
        if self._lookup is None:
            self._lookup = self._input_values(np.arange(256, dtype=np.uint8))
            shifted = np.arange(-128, 128).astype(self._lookup.dtype)
            self._shifted = bool(np.array_equal(self._lookup, shifted))
        if self._shifted:
            return (pixels ^ np.uint8(0x80)).view(np.int8)
        return np.take(self._lookup, pixels)

    def _input_values(self, pixels: np.ndarray) -> np.ndarray:
        values = pixels.astype(np.float32) * self.card.pixel_scale + self.card.pixel_offset
        dtype = self._input["dtype"]
        scale, zero_point = self._input["quantization"]
        if not scale:
            return values.astype(dtype)
        info = np.iinfo(dtype)
        return np.clip(np.round(values / scale) + zero_point, info.min, info.max).astype(dtype)
