"""Find a person's photos and their likes in a folder, in any of three layouts.

1. notebook:    ``Images (jpg)/N.jpg`` beside ``y_likes_data.txt`` (``N: likes`` lines)
2. manifest:    ``likes.csv`` with at least the columns ``filename`` and ``likes``
                (optional ``posted_at``: ISO 8601 or seconds, for ``--detrend``)
3. instaloader: ``<stem>.jpg`` (or ``<stem>_1.jpg``) beside ``<stem>.json[.xz]``

Anything wrong stops training with one DataError line naming the file (and
line): guessing around bad training data would silently teach the model wrong.
"""

from __future__ import annotations

import csv
import json
import lzma
import math
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from scorer.core.errors import PhotoError
from scorer.photos.decode import load_photo

NOTEBOOK_IMAGES = "Images (jpg)"
NOTEBOOK_LIKES = "y_likes_data.txt"
MANIFEST = "likes.csv"


from trainer.core.errors import DataError  # noqa: E402  (re-exported: `from trainer.data.layouts import DataError`)


@dataclass(frozen=True)
class Sample:
    path: Path
    likes: float
    origin: str  # where the likes came from, e.g. "y_likes_data.txt:12"
    posted_at: float | None = None  # seconds since 1970 (UTC), where the layout has it


@dataclass
class Dataset:
    folder: Path
    layout: str
    samples: list[Sample]
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def likes(self) -> np.ndarray:
        return np.array([s.likes for s in self.samples], dtype=np.float64)

    def post_times(self) -> np.ndarray:
        """Every sample's post time; DataError naming the first without one."""
        missing = next((s for s in self.samples if s.posted_at is None), None)
        if missing is not None:
            raise DataError(f"{missing.origin}: no post time for {missing.path.name} (--detrend "
                            "needs a posted_at column in likes.csv, or an instaloader download)")
        return np.array([s.posted_at for s in self.samples], dtype=np.float64)


def load_dataset(folder: str | os.PathLike[str]) -> Dataset:
    """Detect the layout of ``folder`` and list its samples, checking every entry."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    if (folder / NOTEBOOK_LIKES).exists():
        dataset = _load_notebook(folder)
    elif (folder / MANIFEST).exists():
        dataset = _load_manifest(folder)
    elif any(folder.glob("*.json.xz")) or any(folder.glob("*.json")):
        dataset = _load_instaloader(folder)
    else:
        raise DataError(
            f"{folder}: no training data found (expected {NOTEBOOK_LIKES}, {MANIFEST}"
            " or an instaloader download)"
        )
    if not dataset.samples:
        raise DataError(f"{folder}: no photos with likes found ({dataset.layout} layout)")
    for sample in dataset.samples:
        if not sample.path.is_file():
            raise DataError(f"{sample.origin}: image {sample.path} is missing")
    return dataset


def load_pixels(dataset: Dataset, size: int, threads: int | None = None,
                on_photo: Callable[[], None] | None = None) -> np.ndarray:
    """Decode every sample with the scorer's preprocessing: ``(n, size, size, 3)`` uint8.
    ``on_photo`` is called after each photo (progress)."""
    # Filled in place: a list of photos and np.stack of it held every photo twice.
    pixels = np.empty((len(dataset.samples), size, size, 3), np.uint8)

    def one(i: int) -> None:
        sample = dataset.samples[i]
        try:
            pixels[i] = load_photo(sample.path, size)[1]
        except PhotoError as exc:
            raise DataError(f"{sample.path}: {exc.reason} (listed at {sample.origin})") from None

    with ThreadPoolExecutor(max_workers=threads or os.cpu_count() or 1) as pool:
        for _ in pool.map(one, range(len(dataset.samples))):
            if on_photo is not None:
                on_photo()
    return pixels


def parse_likes(text: str, origin: str) -> float:
    try:
        likes = float(text.strip().replace("_", ""))
    except ValueError:
        raise DataError(f"{origin}: likes {text.strip()!r} is not a number") from None
    if math.isnan(likes) or math.isinf(likes) or likes < 0:
        raise DataError(f"{origin}: likes {text.strip()!r} must be a non-negative number")
    return likes


def parse_time(text: str, origin: str) -> float | None:
    """ISO 8601 (a time without a zone is UTC) or seconds since 1970; empty is None."""
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise DataError(f"{origin}: posted_at {text!r} is neither ISO 8601 nor seconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _load_notebook(folder: Path) -> Dataset:
    likes_file = folder / NOTEBOOK_LIKES
    try:
        lines = likes_file.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{likes_file}: cannot read ({exc})") from None
    samples: list[Sample] = []
    seen: dict[int, int] = {}
    for number, line in enumerate(lines, start=1):
        origin = f"{likes_file}:{number}"
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        index_text, sep, likes_text = content.partition(":")
        if not sep or not index_text.strip().isdigit():
            raise DataError(f"{origin}: expected 'N: likes', got {content!r}")
        index = int(index_text)
        if index in seen:
            raise DataError(f"{origin}: duplicate entry for image {index} "
                            f"(first at line {seen[index]})")
        seen[index] = number
        likes = parse_likes(likes_text, origin)
        samples.append(Sample(folder / NOTEBOOK_IMAGES / f"{index}.jpg", likes, origin))
    return Dataset(folder, "notebook", samples)


def _load_manifest(folder: Path) -> Dataset:
    manifest = folder / MANIFEST
    samples: list[Sample] = []
    seen: dict[str, int] = {}
    try:
        with manifest.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = {"filename", "likes"} - set(reader.fieldnames or [])
            if missing:
                raise DataError(f"{manifest}:1: missing column(s) {', '.join(sorted(missing))}")
            for row in reader:
                origin = f"{manifest}:{reader.line_num}"
                name = (row.get("filename") or "").strip()
                if not name:
                    raise DataError(f"{origin}: empty filename")
                if name in seen:
                    raise DataError(f"{origin}: duplicate entry for {name} "
                                    f"(first at line {seen[name]})")
                seen[name] = reader.line_num
                samples.append(Sample(folder / name, parse_likes(row.get("likes") or "", origin),
                                      origin, parse_time(row.get("posted_at") or "", origin)))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{manifest}: cannot read ({exc})") from None
    return Dataset(folder, "manifest", samples)


def _load_instaloader(folder: Path) -> Dataset:
    metadata = sorted(folder.glob("*.json.xz")) + sorted(folder.glob("*.json"))
    samples: list[Sample] = []
    skipped: Counter[str] = Counter()
    seen: dict[str, Path] = {}
    for meta in metadata:
        stem = meta.name.removesuffix(".xz").removesuffix(".json")
        if stem.endswith("_comments"):
            continue
        if stem in seen:
            raise DataError(f"{meta}: duplicate entry for post {stem} (also {seen[stem].name})")
        seen[stem] = meta
        node = _read_post_node(meta)
        if node is None:
            skipped["not a post"] += 1
            continue
        if node.get("is_video"):
            skipped["video"] += 1
            continue
        candidates = (folder / f"{stem}.jpg", folder / f"{stem}_1.jpg")
        image = next((p for p in candidates if p.is_file()), None)
        if image is None:
            skipped["no image"] += 1
            continue
        count = _like_count(node)
        if count is None:
            raise DataError(f"{meta}: no like count (node.edge_media_preview_like.count)")
        taken = node.get("taken_at_timestamp")
        samples.append(Sample(image, parse_likes(str(count), str(meta)), str(meta),
                              float(taken) if isinstance(taken, (int, float)) else None))
    return Dataset(folder, "instaloader", samples, skipped)


def _read_post_node(meta: Path) -> dict | None:
    try:
        raw = lzma.decompress(meta.read_bytes()) if meta.suffix == ".xz" else meta.read_bytes()
        document = json.loads(raw.decode("utf-8"))
    except (OSError, lzma.LZMAError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{meta}: unreadable metadata ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("node"), dict):
        return None
    node_type = (document.get("instaloader") or {}).get("node_type")
    if node_type not in (None, "Post"):
        return None
    return document["node"]


def _like_count(node: dict) -> object | None:
    for key in ("edge_media_preview_like", "edge_liked_by"):
        edge = node.get(key)
        if isinstance(edge, dict) and edge.get("count") is not None:
            return edge["count"]
    return None
