"""Fast kernels where they agree, the exact ones otherwise (issue 15, item 1).

The real runtimes on the real starter model and sample photos. ai-edge-litert's
XNNPACK runs int8 models several times faster than the built-in kernels but
rounds differently; the scorer uses it by default only where the model's card
recorded, at export, a difference of at most one int8 step.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from scorer.decode import load_photo
from scorer.runtime import LOADERS, MAX_FAST_STEPS, Model, default_model_path
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
def pixels() -> np.ndarray:
    photos = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".jpg", ".png"))
    size = Model().size
    base = np.stack([load_photo(p, size)[1] for p in photos])
    # More views of the same photos: flips and shifts, 60 inputs in all.
    views = [base, base[:, :, ::-1], np.roll(base, 5, axis=1), np.roll(base, -7, axis=2)]
    views += [np.clip(base.astype(int) + d, 0, 255).astype(np.uint8) for d in (-40, 40)]
    return np.concatenate(views)[:60]


def test_the_default_choice_stays_within_one_step_of_the_exact_kernels(pixels):
    for runtime in installed():
        exact = Model(runtime=runtime, kernels="exact")
        chosen = Model(runtime=runtime)  # --kernels auto
        steps = np.abs(chosen.predict_raw(pixels) - exact.predict_raw(pixels)) / exact.output_step
        assert np.rint(steps).max() <= MAX_FAST_STEPS, (runtime, chosen.kernels)


def test_exact_kernels_give_the_same_scores_under_both_runtimes(pixels):
    runtimes = installed()
    if len(runtimes) < 2:
        pytest.skip("needs both tflite-runtime and ai-edge-litert")
    outputs = [Model(runtime=r, kernels="exact").predict_raw(pixels) for r in runtimes]
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
    loaded = Model(model, runtime="litert")
    assert loaded.kernels == expected


def test_fast_kernels_differ_from_exact_only_as_the_card_says(pixels):
    """The card's figure is measured on the training photos; on other photos the fast
    kernels may differ differently, but never by much."""
    if "litert" not in installed():
        pytest.skip("ai-edge-litert is not installed")
    exact = Model(runtime="litert", kernels="exact")
    fast = Model(runtime="litert", kernels="fast")
    steps = np.rint(np.abs(fast.predict_raw(pixels) - exact.predict_raw(pixels))
                    / exact.output_step)
    assert steps.max() <= 4, steps.max()
