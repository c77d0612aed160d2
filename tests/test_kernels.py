"""Fast kernels where they agree, the exact ones otherwise (issue 15, item 1).

The real runtimes on the real starter model and sample photos. ai-edge-litert's
XNNPACK runs int8 models several times faster than the built-in kernels but
rounds differently; the scorer uses it by default only where the model's card
recorded, at export, a difference of at most one int8 step.

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

from scorer.decode import load_photo
from scorer.runtime import LOADERS, MAX_FAST_STEPS, default_model_path
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
from scorer.runtime import Model
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


def test_the_default_choice_stays_within_one_step_of_the_exact_kernels(pixels):
    for runtime in installed():
        exact = predict(pixels, runtime, "exact")
        chosen = predict(pixels, runtime, "auto")
        steps = np.abs(chosen["raw"] - exact["raw"]) / exact["step"]
        assert np.rint(steps).max() <= MAX_FAST_STEPS, (runtime, chosen["kernels"])


def test_exact_kernels_give_the_same_scores_under_both_runtimes(pixels):
    runtimes = installed()
    if len(runtimes) < 2:
        pytest.skip("needs both tflite-runtime and ai-edge-litert")
    outputs = [predict(pixels, r, "exact")["raw"] for r in runtimes]
    assert np.array_equal(outputs[0], outputs[1])


@pytest.mark.parametrize("steps, faster, expected", [
    (1, True, "fast"), (2, True, "exact"), (0, False, "exact")])
def test_auto_follows_the_cards_measurement(tmp_path, steps, faster, expected):
    if "litert" not in installed():
        pytest.skip("ai-edge-litert (the runtime with int8 XNNPACK) is not installed")
    model = tmp_path / "m.tflite"
    shutil.copy(default_model_path(), model)
    card = json.loads(default_model_path().with_suffix(".json").read_text())
    card["kernels"] = {"litert": {"fast_max_steps": steps, "photos": 500, "faster": faster,
                                  "ms_fast": 1.0, "ms_exact": 5.0}}
    model.with_suffix(".json").write_text(json.dumps(card))
    np.save(tmp_path / "px.npy", np.zeros((1, 64, 64, 3), np.uint8))
    assert predict(tmp_path / "px.npy", "litert", "auto", str(model))["kernels"] == expected


def test_fast_kernels_differ_from_exact_only_as_the_card_says(pixels):
    """The card's figure is measured on the training photos; on other photos the fast
    kernels may differ differently, but never by much."""
    if "litert" not in installed():
        pytest.skip("ai-edge-litert is not installed")
    exact = predict(pixels, "litert", "exact")
    fast = predict(pixels, "litert", "fast")
    steps = np.rint(np.abs(fast["raw"] - exact["raw"]) / exact["step"])
    assert steps.max() <= 4, steps.max()
