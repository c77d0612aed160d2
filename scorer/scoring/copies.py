"""Identical copies in one run: which name a photo was first scored under, and its
prediction, so each later copy gets a row that names the first."""

from __future__ import annotations

from collections import OrderedDict

FIRST_OK_KEPT = 4096  # names of recently scored photos kept to name their duplicates


class FirstNames:
    """sha256 -> the name a photo was first scored under in this run and its prediction,
    so each identical copy gets a row that names the first and repeats its prediction.
    The most recent FIRST_OK_KEPT only: a daemon's memory stays bounded for its life (an
    older copy is skipped by the ledger, as a photo scored in an earlier run is)."""

    def __init__(self) -> None:
        self._first: OrderedDict[str, str] = OrderedDict()
        self._predicted: dict[str, tuple[str, float, float]] = {}  # sha256 -> model, likes, %

    def __len__(self) -> int:
        return len(self._first)

    def earlier(self, sha256: str, display: str, scored: bool) -> str | None:
        """The first copy's name ("" if not known) if this one is a copy or ``scored``
        already; None, and remembered, if it is the first."""
        first = self._first.get(sha256)
        if (first is not None and first != display) or scored:  # (not itself, retried)
            return first or ""
        self._first[sha256] = display
        if len(self._first) > FIRST_OK_KEPT:
            gone, _ = self._first.popitem(last=False)
            self._predicted.pop(gone, None)
        return None

    def predicted(self, sha256: str, model: str, likes: float, percentile: float) -> None:
        if sha256 in self._first:
            self._predicted[sha256] = (model, likes, percentile)

    def prediction(self, sha256: str, model: str) -> tuple[float, float] | None:
        """The first copy's prediction by ``model``, if it was made in this run."""
        made = self._predicted.get(sha256)
        return (made[1], made[2]) if made is not None and made[0] == model else None
