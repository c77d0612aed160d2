"""Fast kernels where a user would not tell them apart, the exact ones otherwise.

The real runtimes on the real starter model and sample photos. ai-edge-litert's
XNNPACK runs int8 models several times faster than the built-in kernels but
rounds differently; the scorer uses it by default only where the model's card
recorded, at export, that it ranks the calibration photos as the built-in
kernels do, moves no prediction further than int8 moved it from float, and is
at least MIN_FAST_SPEEDUP times as fast (medians of interleaved runs).

Every interpreter runs in a child process: tflite-runtime cannot run in a
process that has imported TensorFlow, as other tests' modules do.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scorer.model.runtime import LOADERS, default_model_path
from scorer.photos.decode import load_photo
from tests.conftest import SAMPLES


def installed() -> list[str]:
    names = []
    for name, loader in LOADERS.items():
        try:
            loader()
            names.append(name)
        except ImportError:
            continue
    return names


@pytest.fixture(scope="module")
def pixels(tmp_path_factory) -> Path:
    photos = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".jpg", ".png"))
    size = json.loads(default_model_path().with_suffix(".json").read_text())["input"]["height"]
    base = np.stack([load_photo(p, size)[1] for p in photos])
    # More views of the same photos: flips and shifts, 60 inputs in all.
    views = [base, base[:, :, ::-1], np.roll(base, 5, axis=1), np.roll(base, -7, axis=2)]
    views += [np.clip(base.astype(int) + d, 0, 255).astype(np.uint8) for d in (-40, 40)]
    path = tmp_path_factory.mktemp("kernels") / "pixels.npy"
    np.save(path, np.concatenate(views)[:60])
    return path


RUN = """
import json, sys, numpy as np
from scorer.model.runtime import Model
model = Model(sys.argv[1] or None, runtime=sys.argv[2], kernels=sys.argv[3])
raw = model.predict_raw(np.load(sys.argv[4]))
print(json.dumps({"raw": raw.tolist(), "step": model.output_step, "kernels": model.kernels}))
"""


def predict(pixels_file, runtime: str, kernels: str, model: str = "") -> dict:
    proc = subprocess.run([sys.executable, "-c", RUN, model, runtime, kernels, str(pixels_file)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    result["raw"] = np.array(result["raw"])
    return result


def _likes(raw: np.ndarray) -> np.ndarray:
    from scorer.model.card import read_card

    return read_card(default_model_path()).target.inverse(raw)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ranks_a, ranks_b = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ranks_a, ranks_b)[0, 1])


def test_the_default_choice_ranks_and_scores_as_the_exact_kernels_do(pixels):
    """On photos the card never saw (the samples and their variants), the kernels auto
    chooses rank them as the built-in ones do, and move no prediction further than the
    int8 model's own error from float that the card measured."""
    card = json.loads(default_model_path().with_suffix(".json").read_text())
    for runtime in installed():
        exact = _likes(predict(pixels, runtime, "exact")["raw"])
        chosen = predict(pixels, runtime, "auto")
        likes = _likes(chosen["raw"])
        assert _spearman(exact, likes) >= 0.99, (runtime, chosen["kernels"])
        limit = card["kernels"][runtime]["int8_max_diff_likes"]
        assert np.abs(likes - exact).max() <= limit, (runtime, chosen["kernels"])


def test_exact_kernels_give_the_same_scores_under_both_runtimes(pixels):
    runtimes = installed()
    if len(runtimes) < 2:
        pytest.skip("needs both tflite-runtime and ai-edge-litert")
    outputs = [predict(pixels, r, "exact")["raw"] for r in runtimes]
    assert np.array_equal(outputs[0], outputs[1])


@pytest.mark.parametrize("steps, faster, expected", [
    (3, True, "fast"), (4, True, "exact"), (0, False, "exact")])
def test_auto_follows_the_cards_measurement(tmp_path, steps, faster, expected):
    if "litert" not in installed():
        pytest.skip("ai-edge-litert (the runtime with int8 XNNPACK) is not installed")
    model = tmp_path / "m.tflite"
    shutil.copy(default_model_path(), model)
    card = json.loads(default_model_path().with_suffix(".json").read_text())
    card["kernels"] = {"litert": {"fast_max_steps": steps, "photos": 500, "faster": faster,
                                  "ms_fast": 1.0, "ms_exact": 5.0}}
    model.with_suffix(".json").write_text(json.dumps(card))
    size = card["input"]["height"]
    np.save(tmp_path / "px.npy", np.zeros((1, size, size, 3), np.uint8))
    assert predict(tmp_path / "px.npy", "litert", "auto", str(model))["kernels"] == expected


FIGURES = {"fast_spearman": 0.999, "fast_max_diff_likes": 2.0, "int8_max_diff_likes": 5.0,
           "faster": True, "ms_fast": 1.0, "ms_exact": 5.0, "photos": 300, "fast_max_steps": 9}


@pytest.mark.parametrize("change, expected", [
    ({}, "fast"),  # nine steps apart, but ranked alike and within int8's own error
    ({"fast_spearman": 0.98}, "exact"),  # ranks differently
    ({"fast_max_diff_likes": 6.0}, "exact"),  # moves the likes more than int8 does
    ({"faster": False, "ms_fast": 4.0}, "exact"),  # not worth it
])
def test_auto_follows_the_cards_figures_on_the_real_interpreter(tmp_path, change, expected):
    """A card whose figures are out of bounds, each in turn, keeps the built-in kernels."""
    if "litert" not in installed():
        pytest.skip("ai-edge-litert (the runtime with int8 XNNPACK) is not installed")
    model = tmp_path / "m.tflite"
    shutil.copy(default_model_path(), model)
    card = json.loads(default_model_path().with_suffix(".json").read_text())
    card["kernels"] = {"litert": {**FIGURES, **change}}
    model.with_suffix(".json").write_text(json.dumps(card))
    size = card["input"]["height"]
    np.save(tmp_path / "px.npy", np.zeros((1, size, size, 3), np.uint8))
    assert predict(tmp_path / "px.npy", "litert", "auto", str(model))["kernels"] == expected


def test_fast_kernels_differ_from_exact_only_as_the_card_says(pixels):
    """The card's figures are measured on the calibration photos; on other photos the
    fast kernels may differ differently, but within what int8 already moves."""
    if "litert" not in installed():
        pytest.skip("ai-edge-litert is not installed")
    measured = json.loads(default_model_path().with_suffix(".json").read_text())[
        "kernels"]["litert"]
    exact = _likes(predict(pixels, "litert", "exact")["raw"])
    fast = _likes(predict(pixels, "litert", "fast")["raw"])
    assert np.abs(fast - exact).max() <= measured["int8_max_diff_likes"]
    assert _spearman(exact, fast) >= measured["limits"]["fast_spearman"]


def _card(kernels: dict | None, cost_ms: dict | None):
    from scorer.model.card import ModelCard

    raw = json.loads(default_model_path().with_suffix(".json").read_text())
    raw.pop("kernels", None)
    if kernels is not None:
        raw["kernels"] = kernels
    raw["cost"] = {"ms_per_photo_one_thread": cost_ms} if cost_ms is not None else {}
    return ModelCard.from_json(raw, default_model_path().with_suffix(".json"))


FAST_OK = {"fast_max_steps": 2, "faster": True, "ms_fast": 2.5, "ms_exact": 9.0, "photos": 9}
FAST_FAR = {**FAST_OK, "fast_max_steps": 9}
SLOW = {"fast_max_steps": 0, "faster": False, "ms_fast": 23.0, "ms_exact": 22.0, "photos": 9}


@pytest.mark.parametrize("kernels, cost, setting, first", [
    ({"litert": FAST_OK, "tflite-runtime": SLOW}, None, "auto", "litert"),  # fast kernels
    ({"litert": FAST_FAR, "tflite-runtime": SLOW}, None, "auto", "litert"),  # 9 < 22 ms exact
    ({"litert": FAST_FAR, "tflite-runtime": {**SLOW, "ms_exact": 5.0}}, None, "auto",
     "tflite-runtime"),  # built-in against built-in: 5 < 9 ms
    ({"litert": FAST_FAR, "tflite-runtime": {**SLOW, "ms_exact": 5.0}}, None, "fast",
     "litert"),  # asked for XNNPACK: 2.5 < 5 ms
    (None, {"litert": 3.0, "tflite-runtime": 2.0}, "auto", "tflite-runtime"),  # an older card
    (None, None, "auto", "litert"),  # nothing measured: the table's order
])
def test_auto_takes_the_runtime_the_card_measured_faster(kernels, cost, setting, first):
    from scorer.model.runtime import runtime_order

    assert runtime_order(_card(kernels, cost), setting)[0] == first


@pytest.mark.parametrize("ms_fast, ms_exact, faster", [(1.0, 1.5, True), (1.0, 1.49, False),
                                                        (2.49, 9.33, True), (23.2, 23.4, False)])
def test_fast_kernels_must_be_one_and_a_half_times_as_fast(ms_fast, ms_exact, faster):
    from scorer.model.runtime import fast_kernels_faster

    assert fast_kernels_faster(ms_fast, ms_exact) is faster


def test_the_reason_for_the_kernels_is_one_line():
    from scorer.model.runtime import kernels_reason

    assert kernels_reason(FAST_OK).startswith("used by default: at most 2 int8 step(s)")
    far = kernels_reason(FAST_FAR)
    assert far.startswith("not used by default (too far from the built-in kernels)")
    assert "(limit 3), 3.6x as fast (limit 1.5x" in far
    assert far.endswith("--kernels fast uses them anyway")
    assert "(not 1.5x as fast)" in kernels_reason(SLOW)
