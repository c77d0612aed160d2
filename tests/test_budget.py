"""scorer/photos/budget.py: what a decode costs, and the budget's waiting and refusing."""

from __future__ import annotations

import threading
import time

import pytest

from scorer.core.errors import PhotoError
from scorer.photos.budget import (
    BYTES_PER_DECODED_PIXEL,
    COEFFICIENT_BYTES,
    MemoryBudget,
    decode_cost,
)
from scorer.photos.header import Header


@pytest.mark.parametrize("header, scale, expected", [
    (Header("png", 1000, 500), 1, 1001 * 501 * BYTES_PER_DECODED_PIXEL),
    (Header("png", 1000, 500, bit_depth=16), 1, 1001 * 501 * BYTES_PER_DECODED_PIXEL * 2),
    (Header("jpeg", 4000, 3000), 8, 501 * 376 * BYTES_PER_DECODED_PIXEL),
    # A progressive JPEG keeps every coefficient of the full frame, whatever the scale.
    (Header("jpeg", 4000, 3000, progressive=True, coefficient_planes=1.5), 8,
     501 * 376 * BYTES_PER_DECODED_PIXEL + int(4000 * 3000 * 1.5 * COEFFICIENT_BYTES)),
])
def test_decode_cost(header, scale, expected):
    assert decode_cost(header, scale) == expected


def test_a_decode_larger_than_the_whole_budget_is_refused_at_once():
    budget = MemoryBudget(100 * 2**20)
    with pytest.raises(PhotoError, match=r"about 200 MiB, more than the --max-memory budget "
                                         r"of 100 MiB"):
        with budget.hold(200 * 2**20):
            pass
    assert budget.held == 0


def test_a_decode_waits_for_its_share_and_the_share_is_given_back():
    budget = MemoryBudget(100)
    order: list[str] = []
    with budget.hold(70):
        waiter = threading.Thread(target=lambda: _hold(budget, 50, order))
        waiter.start()
        time.sleep(0.2)
        assert order == [] and budget.held == 70  # 70 + 50 > 100: it waits
        order.append("released")
    waiter.join(5)
    assert order == ["released", "held 50"] and budget.held == 0


def _hold(budget: MemoryBudget, cost: int, order: list[str]) -> None:
    with budget.hold(cost):
        order.append(f"held {cost}")
