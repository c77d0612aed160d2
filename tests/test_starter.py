"""The shipped starter model means something before anyone has collected a like: trained
on people's ratings of real photos (CLIVE), it ranks each sample photo above its own
blurred copy and its own darkened copy, and says what its number is."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import cv2

from tests.conftest import SAMPLES, spe


def _degraded(folder: Path) -> list[str]:
    names = []
    for photo in sorted(SAMPLES.iterdir()):
        if photo.suffix not in (".jpg", ".png"):
            continue
        image = cv2.imread(str(photo))
        cv2.imwrite(str(folder / photo.name), image)
        blur = max(image.shape[:2]) / 100  # a shaken or out-of-focus shot
        cv2.imwrite(str(folder / f"{photo.stem}-blurred{photo.suffix}"),
                    cv2.GaussianBlur(image, (0, 0), blur))
        cv2.imwrite(str(folder / f"{photo.stem}-dark{photo.suffix}"),
                    (image * 0.35).astype("uint8"))  # under-exposed by about 1.5 stops
        names.append(photo.name)
    return names


def test_the_starter_ranks_each_sample_above_its_blurred_and_darkened_copies(tmp_path):
    names = _degraded(tmp_path)
    proc = spe("batch-score", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    likes = {Path(r["path"]).name: float(r["predicted_likes"])
             for r in csv.DictReader(io.StringIO(proc.stdout))}
    assert len(likes) == 3 * len(names) == 15
    for name in names:
        stem, suffix = name.rsplit(".", 1)
        for worse in ("blurred", "dark"):
            assert likes[name] > likes[f"{stem}-{worse}.{suffix}"], (name, worse, likes)


def test_spe_info_says_what_the_starter_predicts_and_on_what_data():
    proc = spe("info")
    assert proc.returncode == 0, proc.stderr
    note = next(line for line in proc.stdout.splitlines() if line.startswith("note:"))
    assert "CLIVE" in note and "not likes" in note and "quality" in note
    assert "Ghadiyaram and A.C. Bovik" in note and "non-commercial" in note
    assert "spe-train fit" in note
    assert "backbone:      mobilenet_v2" in proc.stdout
    kernels = next(line for line in proc.stdout.splitlines() if line.startswith("kernels:"))
    assert kernels.startswith("kernels:       fast (XNNPACK); fast kernels used by default")


def test_the_datas_notice_ships_beside_the_starter():
    from scorer.model.runtime import default_model_path

    notice = default_model_path().with_name("LIVE_NOTICE.txt").read_text()
    assert "Copyright (c) 2015 The University of Texas at Austin" in notice
