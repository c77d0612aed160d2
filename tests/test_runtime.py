"""scorer/model/runtime.py: the fast-kernel rule (a table), the runtime choice, errors."""

from __future__ import annotations

import pytest

from scorer.core.errors import ModelError, UsageError
from scorer.model.card import read_card
from scorer.model.runtime import (
    MAX_FAST_STEPS,
    MIN_FAST_SPEARMAN,
    MIN_FAST_SPEEDUP,
    Model,
    default_model_path,
    fast_kernels_agree,
    fast_kernels_faster,
    interpreter_module,
    kernels_reason,
    runtime_order,
)

CLOSE, FAR = MAX_FAST_STEPS, MAX_FAST_STEPS + 1


@pytest.mark.parametrize("measured, agree, reason", [
    ({"fast_max_steps": CLOSE, "faster": True, "ms_fast": 1.0, "ms_exact": 4.0}, True,
     "used by default"),
    ({"fast_max_steps": FAR, "faster": True, "ms_fast": 1.0, "ms_exact": 4.0}, False,
     "too far from the built-in kernels"),
    ({"fast_max_steps": 0, "faster": False, "ms_fast": 3.0, "ms_exact": 4.0}, False,
     f"not {MIN_FAST_SPEEDUP}x as fast"),
    ({}, False, "too far"),  # nothing measured: never by default
])
def test_the_fast_kernel_rule_of_older_cards(measured, agree, reason):
    assert fast_kernels_agree(measured) is agree
    assert reason in kernels_reason(measured)


# The rule of cards with the figures a user would see: rank agreement, the largest
# difference beside int8's own error from float, and the speed-up.
AGREE = {"fast_spearman": 0.998, "fast_max_diff_likes": 1.2, "int8_max_diff_likes": 4.0,
         "faster": True, "ms_fast": 2.0, "ms_exact": 8.0, "photos": 300,
         "fast_max_steps": 9}  # many steps apart, yet within what int8 already moves


@pytest.mark.parametrize("change, agree, reason", [
    ({}, True, "used by default: rank agreement with the built-in kernels 0.9980 (limit 0.99)"),
    ({"fast_spearman": MIN_FAST_SPEARMAN}, True, "used by default"),  # the limit itself
    ({"fast_spearman": 0.985}, False, "not used by default (they rank differently)"),
    ({"fast_max_diff_likes": 4.0}, True, "largest difference 4 likes against int8's own 4"),
    ({"fast_max_diff_likes": 4.01}, False, "(they differ more than int8 does)"),
    ({"faster": False, "ms_fast": 6.0}, False, "(not 1.5x as fast)"),
    ({"fast_spearman": 0.9, "faster": False}, False,
     "(they rank differently; not 1.5x as fast)"),
])
def test_the_fast_kernel_rule(change, agree, reason):
    measured = {**AGREE, **change}
    assert fast_kernels_agree(measured) is agree
    line = kernels_reason(measured)
    assert reason in line and "\n" not in line
    assert "limit 0.99" in line and "limit 1.5x" in line and "from float (the limit)" in line


@pytest.mark.parametrize("fast, exact, faster", [(1.0, 1.5, True), (1.0, 1.49, False),
                                                 (2.0, 9.0, True)])
def test_faster_means_the_speedup_or_more(fast, exact, faster):
    assert fast_kernels_faster(fast, exact) is faster


def test_auto_tries_the_runtime_the_card_measured_faster_first():
    card = read_card(default_model_path())
    card.kernels = {"litert": {"fast_max_steps": 0, "faster": True, "ms_fast": 9.0,
                               "ms_exact": 20.0},
                    "tflite-runtime": {"fast_max_steps": 0, "faster": False, "ms_fast": 5.0,
                                       "ms_exact": 5.0}}
    card.cost = {"ms_per_photo_one_thread": {"litert": 20.0, "tflite-runtime": 5.0}}
    assert runtime_order(card, "auto")[0] == "tflite-runtime"  # 5 ms against litert's 9


def test_an_unknown_runtime_names_the_choices():
    with pytest.raises(UsageError, match="choose one of auto, litert, tflite-runtime"):
        interpreter_module("tensorflow")


@pytest.mark.parametrize("given, says", [("nosuch.tflite", "no such model file"),
                                         (".", "is a folder, not a model")])
def test_a_wrong_model_path_names_the_real_cause(tmp_path, given, says):
    with pytest.raises(ModelError, match=says):
        Model(tmp_path / given)


def test_the_quantised_input_is_the_arithmetics_to_the_bit():
    """The lookup (and its top-bit shortcut) gives what the arithmetic gives, for every
    pixel value and for an input scaled otherwise."""
    import numpy as np

    model = Model(None, kernels="exact")
    every = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1).repeat(3, axis=3)
    pixels = np.resize(every, (2, model.size, model.size, 3)).astype(np.uint8)
    assert np.array_equal(model._quantize(pixels), model._input_values(pixels))
    assert model._shifted  # the shipped export maps 0..255 to -128..127
    model._lookup, model.card.pixel_offset = None, 0.1  # another mapping: the table itself
    assert np.array_equal(model._quantize(pixels), model._input_values(pixels))
    assert not model._shifted
