"""What ``spe rank`` makes of each photo beside its score, from the same decode.

The page needs a thumbnail, and ``--html``/``--json`` each photo's best crops
and occlusion map. Each used to decode the photo again (three decodes a photo).
Now the engine hands each decoded photo, on its decode thread and while the
decode's memory is still held, to a ``PageViews``, which scores the crops and
occluded views with a model of its own per thread (an interpreter is not
shared between threads) and encodes the thumbnail. Thumbnails wait for the page
in an unnamed temporary file, not in memory: a page of 10,000 photos holds one
thumbnail at a time, as it always has.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
from dataclasses import dataclass
from typing import IO

import cv2

from scorer.model.runtime import Model
from scorer.photos.crops import Insight, insight_of
from scorer.photos.decode import Decoded

THUMBNAIL_SIDE = 320  # the longer side, in pixels


@dataclass(frozen=True)
class Kept:
    """One photo's insight (None without crops) and its thumbnail's place in the spool."""

    insight: Insight | None
    thumbnail: tuple[int, int] | None  # (offset, length) of its JPEG; None: no preview


def thumbnail_jpeg(decoded: Decoded) -> bytes | None:
    """A small JPEG of the decoded photo (orientation applied), or None."""
    image = decoded.image
    height, width = image.shape[:2]
    shrink = THUMBNAIL_SIDE / max(height, width)
    if shrink < 1:  # a side of at least one pixel: a 1x20000 photo has a thumbnail too
        size = (max(1, round(width * shrink)), max(1, round(height * shrink)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, 80])
    return encoded.tobytes() if ok else None


class PageViews:
    """The engine's ``keep``: each decoded photo's insight and thumbnail, made on the
    decode thread that holds it."""

    def __init__(self, model: Model, crops: int, grid: int, thumbnails: bool) -> None:
        self._model, self._crops, self._grid = model, crops, grid
        self._thumbnails = thumbnails
        self._local = threading.local()
        self._lock = threading.Lock()
        self._spool: IO[bytes] | None = tempfile.TemporaryFile() if thumbnails else None

    @property
    def insights(self) -> bool:
        return self._crops > 0 or self._grid > 0

    def __call__(self, path: str, decoded: Decoded) -> Kept:
        # What the page adds never costs the photo its score: a shape OpenCV cannot cut
        # or shrink leaves it without crops or preview, ranked all the same.
        insight = thumbnail = None
        with contextlib.suppress(cv2.error):
            if self.insights:
                insight = insight_of(decoded, self._own_model(), self._crops, self._grid)
        with contextlib.suppress(cv2.error):
            if self._thumbnails:
                thumbnail = self._spooled(thumbnail_jpeg(decoded))
        return Kept(insight, thumbnail)

    def _own_model(self) -> Model:
        model = getattr(self._local, "model", None)
        if model is None:  # the same bytes, runtime and kernels as the one that scores
            model = self._model.clone(threads=1)
            self._local.model = model
        return model

    def _spooled(self, jpeg: bytes | None) -> tuple[int, int] | None:
        if jpeg is None or self._spool is None:
            return None
        with self._lock:
            offset = self._spool.seek(0, 2)
            self._spool.write(jpeg)
        return offset, len(jpeg)

    def thumbnail(self, place: tuple[int, int] | None) -> bytes | None:
        """A spooled thumbnail's JPEG bytes."""
        if place is None or self._spool is None:
            return None
        with self._lock:
            self._spool.seek(place[0])
            return self._spool.read(place[1])

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
