"""scorer/model/card.py: the target transforms (a table), percentiles, the card's checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scorer.core.errors import ModelError
from scorer.model.card import TRANSFORMS, Target, percentile_of, read_card
from scorer.model.runtime import default_model_path

LIKES = np.array([0.0, 3, 10, 10, 40, 120, 900])


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_every_transform_goes_there_and_back(name):
    target = Target.fit(name, LIKES)
    np.testing.assert_allclose(target.inverse(target.forward(LIKES)), LIKES, atol=1e-9)
    if TRANSFORMS[name].fitted:  # standardised on the training likes
        assert abs(target.forward(LIKES).mean()) < 1e-9
    assert target.inverse(np.array([-1e6]))[0] == 0.0  # never negative likes


def test_an_unknown_transform_names_the_choices():
    with pytest.raises(ValueError, match="choose raw, log1p, standardize, log1p-std"):
        Target.fit("sqrt", LIKES)


def test_percentiles_are_interpolated_and_ties_read_their_middle():
    grid = [float(v) for v in range(1, 102)]  # the 101 percentiles of likes 1..101
    # At a training like: the middle of its one-point run (+0.5); between two: linear.
    values = percentile_of(np.array([0.0, 1.0, 51.0, 51.5, 52.0, 200.0]), grid)
    np.testing.assert_allclose(values, [0.0, 0.5, 50.5, 51.0, 51.5, 100.0])
    ties = percentile_of(np.array([5.0]), [5.0] * 101)
    assert ties[0] == 50.5  # the middle of the 101 equal percentiles


@pytest.mark.parametrize("change, problem", [
    (lambda c: c.update(card_version=99), "newer"),
    (lambda c: c.update(kernels=[1]), "kernels is not an object"),
    (lambda c: c["kernels"].setdefault("litert", {}).update(fast_max_steps="9"),
     "kernels.litert.fast_max_steps is not a number"),
    (lambda c: c.update(expected_quality={"spearman": 0.5}),
     "expected_quality.spearman is not {mean, std}"),
])
def test_a_malformed_card_is_one_line_naming_the_problem(tmp_path, change, problem):
    source = default_model_path()
    card = json.loads(source.with_suffix(".json").read_text())
    card.setdefault("kernels", {})
    change(card)
    model = tmp_path / "m.tflite"
    model.write_bytes(source.read_bytes())
    model.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ModelError) as caught:
        read_card(model)
    assert problem in caught.value.reason and "\n" not in caught.value.reason


def test_a_missing_card_is_named(tmp_path):
    with pytest.raises(ModelError, match=r"m\.json: model card missing"):
        read_card(tmp_path / "m.tflite")
