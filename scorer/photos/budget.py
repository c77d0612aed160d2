"""Memory for decoding: what a photo will take (from its header), and a budget shared by
the decodes in flight.

Why: a small file can decode to a huge image. Measured peaks for one
10000x10000 photo (issue 13): a 292 KB PNG 660 MB, a 3.9 KB lossless WebP
659 MB, a 587 KB progressive JPEG 371 MB. With four decode threads four such
files took 2.2 GB and the daemon was OOM-killed at every start. So each decode
first takes its estimated bytes from a budget (``--max-memory``) and waits
while the decodes in flight hold too much of it; a photo that needs more than
the whole budget gets an error row at once, before anything is allocated.
Memory is then bounded by the budget, not by the thread count.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from scorer.core.errors import PhotoError
from scorer.core.settings import MIB
from scorer.photos.header import Header

# The decoded BGR image, its RGB copy and the decoders' own rows and buffers:
# 660 MB / 100 MP measured for PNG and WebP, rounded up.
BYTES_PER_DECODED_PIXEL = 7
COEFFICIENT_BYTES = 2  # a progressive JPEG's DCT coefficients are 16-bit


def decode_cost(header: Header, scale: int) -> int:
    """Bytes the decode of this photo takes at most, decoded at 1/``scale`` (JPEG only)."""
    decoded = (header.width // scale + 1) * (header.height // scale + 1)
    cost = decoded * BYTES_PER_DECODED_PIXEL * (2 if header.bit_depth > 8 else 1)
    if header.progressive:  # the whole frame's coefficients, whatever the output scale
        cost += int(header.width * header.height * header.coefficient_planes
                    * COEFFICIENT_BYTES)
    return cost


class MemoryBudget:
    """Bytes the decodes in flight may hold together; a decode waits for its share."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit = limit_bytes
        self._held = 0
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, cost: int) -> Iterator[None]:
        if cost > self.limit:
            raise PhotoError(f"decoding needs about {cost / MIB:,.0f} MiB, more than the "
                             f"--max-memory budget of {self.limit / MIB:,.0f} MiB "
                             "(refused before decoding)")
        with self._changed:
            self._changed.wait_for(lambda: self._held + cost <= self.limit)
            self._held += cost
        try:
            yield
        finally:
            with self._changed:
                self._held -= cost
                self._changed.notify_all()

    @property
    def held(self) -> int:
        with self._changed:
            return self._held


def budget_for(max_memory: int | None) -> MemoryBudget | None:
    """The budget of a setting in bytes (scorer/core/settings.py); None: unbounded."""
    return MemoryBudget(max_memory) if max_memory else None
