"""What crop suggestions and occlusion maps cost: `spe rank --html` with them against
without them, on the same phone-sized photos, pinned to one core (a Pi-like run)."""

from __future__ import annotations

import shutil
from pathlib import Path

from .measure import BIN, median, timed_child

CROPS = 27  # the default candidates per photo (scorer/core/settings.py DEFAULT_CROPS)
PAGE_PHOTOS = 50


def crops(work: Path, prepared: dict, sizes: dict) -> dict:
    photos = prepared["photos"][:PAGE_PHOTOS]
    folder = work / "crops-photos"
    folder.mkdir(exist_ok=True)
    for photo in photos:
        shutil.copy(photo, folder / photo.name)
    one_core = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    runs: dict[str, list[float]] = {"plain": [], "crops": []}
    for _ in range(sizes["runs"]):  # interleaved, so drift hits both alike
        for name, extra in (("plain", ["--no-crops"]), ("crops", ["--crops", str(CROPS)])):
            seconds, _, _ = timed_child([*one_core, BIN / "spe", "rank", folder, "--html",
                                         work / f"page-{name}.html", "--threads", "1", *extra])
            runs[name].append(seconds)
    plain, with_crops = median(runs["plain"]), median(runs["crops"])
    return {"photos": len(photos), "candidates": CROPS, "occlusion_cells": 16,
            "views_per_photo": 1 + CROPS + 16, "one_core": bool(one_core),
            "page_seconds_plain": plain, "page_seconds_crops": with_crops,
            "ms_per_photo_plain": plain / len(photos) * 1000,
            "ms_per_photo_crops": with_crops / len(photos) * 1000,
            "ratio": with_crops / plain if plain else None}


def report(c: dict) -> list[str]:
    return ["", f"crop suggestions and occlusion maps ({c['photos']} phone-sized JPEGs, "
                f"{c['candidates']} candidate crops + {c['occlusion_cells']} occluded views per "
                f"photo, {'one core' if c['one_core'] else 'all cores'}, median):",
            f"spe rank --html without them {c['page_seconds_plain']:.2f} s "
            f"({c['ms_per_photo_plain']:.1f} ms/photo); with them "
            f"{c['page_seconds_crops']:.2f} s ({c['ms_per_photo_crops']:.1f} ms/photo): "
            f"{c['ratio']:.1f}x"]
