"""Likes at today's audience: take an account's growth out of its likes (`fit --detrend`).

An account that grew from 200 to 2,000 followers gets more likes on its later
posts whatever they show; trained on raw likes, a model learns "looks like a
recent post" instead of "a good photo". The account's level at each post is
the running median of log1p(likes) over the posts around it in time; each
post's likes are re-expressed at the latest level (the median of the last
window), so predictions read as likes at today's audience. A median, not a
mean or a fitted curve, because one viral post must not move the level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_WINDOW, MAX_WINDOW = 5, 31


@dataclass(frozen=True)
class Trend:
    window: int
    levels: np.ndarray  # log1p level at each post, in the caller's order
    latest: float  # log1p level of the last window of posts

    def adjust(self, likes: np.ndarray) -> np.ndarray:
        """Likes re-expressed at the latest level (never negative)."""
        return np.maximum(np.expm1(np.log1p(likes) - self.levels + self.latest), 0.0)

    def to_json(self, times: np.ndarray) -> dict:
        return {"method": "running median of log1p(likes) over time", "window_posts": self.window,
                "latest_log1p_level": self.latest,
                "growth_log1p": float(self.latest - self.levels[np.argmin(times)]),
                "first_post": _iso(times.min()), "last_post": _iso(times.max())}


def fit_trend(times: np.ndarray, likes: np.ndarray) -> Trend:
    """The running-median level of each post; the window grows with the account (5 to 31)."""
    n = len(likes)
    window = int(np.clip(n // 10 * 2 + 1, MIN_WINDOW, MAX_WINDOW))
    order = np.argsort(times, kind="stable")
    logs = np.log1p(np.asarray(likes, np.float64))[order]
    half = window // 2
    levels_sorted = np.array([np.median(logs[max(0, i - half): i + half + 1]) for i in range(n)])
    levels = np.empty(n)
    levels[order] = levels_sorted
    return Trend(window, levels, float(np.median(logs[-window:])))


def _iso(seconds: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(float(seconds), timezone.utc).date().isoformat()
