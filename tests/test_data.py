"""Training data in the three layouts, and every kind of bad data: one line, exit 2.

The bad-data cases run the real ``spe-train fit`` command in-process through
typer's CliRunner; each stops while loading, before TensorFlow is imported.
"""

from __future__ import annotations

import json
import lzma
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import SAMPLES
from trainer.cli import app
from trainer.data.layouts import load_dataset

runner = CliRunner()


def notebook(tmp_path: Path, lines: list[str], images: int = 3) -> Path:
    folder = tmp_path / "nb"
    (folder / "Images (jpg)").mkdir(parents=True)
    for i in range(1, images + 1):
        shutil.copy(SAMPLES / "grace_hopper.jpg", folder / "Images (jpg)" / f"{i}.jpg")
    (folder / "y_likes_data.txt").write_text("\n".join(lines) + "\n")
    return folder


def fit_fails(folder: Path, tmp_path: Path) -> str:
    result = runner.invoke(app, ["fit", str(folder), "--out", str(tmp_path / "m.tflite")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    # Progress lines may come first; the error is exactly one line.
    lines = [line for line in result.output.splitlines() if line.startswith("spe-train:")]
    assert len(lines) == 1, result.output
    assert not (tmp_path / "m.tflite").exists()
    return lines[0]


def test_notebook_layout(tmp_path):
    folder = notebook(tmp_path, ["# likes per image", "1: 120", "2: 80  # a comment", "", "3:5"])
    dataset = load_dataset(folder)
    assert dataset.layout == "notebook"
    assert [s.likes for s in dataset.samples] == [120, 80, 5]
    assert dataset.samples[1].path == folder / "Images (jpg)" / "2.jpg"


def test_manifest_layout(tmp_path):
    folder = tmp_path / "m"
    (folder / "pics").mkdir(parents=True)
    shutil.copy(SAMPLES / "rocket.jpg", folder / "pics" / "a.jpg")
    shutil.copy(SAMPLES / "coffee.png", folder / "b.png")
    (folder / "likes.csv").write_text(
        "filename,likes,caption\npics/a.jpg,10,launch\nb.png,3.5,\"cup, hot\"\n")
    dataset = load_dataset(folder)
    assert dataset.layout == "manifest"
    assert [(s.path.name, s.likes) for s in dataset.samples] == [("a.jpg", 10), ("b.png", 3.5)]


def _post(folder: Path, stem: str, node: dict, xz: bool = True) -> None:
    document = json.dumps({"node": node, "instaloader": {"node_type": "Post"}}).encode()
    if xz:
        (folder / f"{stem}.json.xz").write_bytes(lzma.compress(document))
    else:
        (folder / f"{stem}.json").write_bytes(document)


def test_instaloader_layout(tmp_path):
    folder = tmp_path / "insta"
    folder.mkdir()
    _post(folder, "2021-01-01_10-00-00_UTC", {"edge_media_preview_like": {"count": 42}})
    shutil.copy(SAMPLES / "rocket.jpg", folder / "2021-01-01_10-00-00_UTC.jpg")
    _post(folder, "2021-02-01_10-00-00_UTC", {"edge_liked_by": {"count": 7}}, xz=False)
    shutil.copy(SAMPLES / "rocket.jpg", folder / "2021-02-01_10-00-00_UTC_1.jpg")
    _post(folder, "2021-03-01_10-00-00_UTC", {"is_video": True, "edge_liked_by": {"count": 9}})
    _post(folder, "2021-04-01_10-00-00_UTC", {"edge_liked_by": {"count": 1}})  # no image
    (folder / "someone_123.json.xz").write_bytes(lzma.compress(json.dumps(
        {"node": {"username": "someone"}, "instaloader": {"node_type": "Profile"}}).encode()))
    dataset = load_dataset(folder)
    assert dataset.layout == "instaloader"
    assert sorted(s.likes for s in dataset.samples) == [7, 42]
    assert dataset.skipped == {"video": 1, "no image": 1, "not a post": 1}


def test_missing_image(tmp_path):
    line = fit_fails(notebook(tmp_path, ["1: 10", "2: 20", "4: 40"]), tmp_path)
    assert "y_likes_data.txt:3" in line and "4.jpg is missing" in line


def test_unparsable_likes(tmp_path):
    line = fit_fails(notebook(tmp_path, ["1: 10", "2: lots"]), tmp_path)
    assert "y_likes_data.txt:2" in line and "'lots' is not a number" in line


def test_negative_likes(tmp_path):
    line = fit_fails(notebook(tmp_path, ["1: 10", "2: -3"]), tmp_path)
    assert "y_likes_data.txt:2" in line and "non-negative" in line


def test_duplicate_entry(tmp_path):
    line = fit_fails(notebook(tmp_path, ["1: 10", "2: 20", "1: 30"]), tmp_path)
    assert "y_likes_data.txt:3" in line and "duplicate entry for image 1 (first at line 1)" in line


def test_duplicate_manifest_entry(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    shutil.copy(SAMPLES / "rocket.jpg", folder / "a.jpg")
    (folder / "likes.csv").write_text("filename,likes\na.jpg,1\na.jpg,2\n")
    line = fit_fails(folder, tmp_path)
    assert "likes.csv:3" in line and "duplicate entry for a.jpg" in line


def test_manifest_missing_column(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "likes.csv").write_text("file,count\na.jpg,1\n")
    assert "missing column(s) filename, likes" in fit_fails(folder, tmp_path)


def test_image_that_does_not_decode(tmp_path):
    folder = notebook(tmp_path, [f"{i}: {i * 10}" for i in range(1, 13)], images=12)
    (folder / "Images (jpg)" / "7.jpg").write_bytes(b"this is not a photo")
    line = fit_fails(folder, tmp_path)
    assert "7.jpg: not a JPEG, PNG or WebP image (listed at" in line
    assert "y_likes_data.txt:7" in line


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    assert "no training data found" in fit_fails(tmp_path / "empty", tmp_path)


def test_likes_file_without_entries(tmp_path):
    assert "no photos with likes" in fit_fails(notebook(tmp_path, ["# nothing yet"]), tmp_path)


def test_too_few_photos(tmp_path):
    line = fit_fails(notebook(tmp_path, ["1: 1", "2: 2", "3: 3"]), tmp_path)
    assert "3 photos; at least 12 needed" in line  # 3 folds of at least 4


@pytest.mark.parametrize("bad", ["nan", "inf"])
def test_non_finite_likes(tmp_path, bad):
    assert "non-negative number" in fit_fails(notebook(tmp_path, ["1: 1", f"2: {bad}"]), tmp_path)


def test_fit_help_lists_exactly_the_tables_entries():
    """Networks and recipes are tables: the CLI's help and validation come from them."""
    import re

    from trainer.core.recipe import RECIPES
    from trainer.networks.model import NETWORKS

    result = runner.invoke(app, ["fit", "--help-all"], terminal_width=400,
                           env={"COLUMNS": "400", "NO_COLOR": "1"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    listed = re.search(r"--architecture <([\w|-]+)> .*?default: \(?([\w-]+)\)?\]", text)
    assert listed, text
    assert listed.group(1).split("|") == list(NETWORKS)
    for option in ("epochs", "batch-size", "img-size", "target", "augment", "folds", "members"):
        assert re.search(rf"--{option} [^\]]*?default: [^\]]+\]", text), option
    assert listed.group(2) == "deep"
    assert f"--recipe <{'|'.join(RECIPES)}>" in text
    bad = runner.invoke(app, ["fit", "x", "--out", "m.tflite", "--architecture", "resnet"])
    assert bad.exit_code == 2
    assert f"'resnet' is not one of {', '.join(repr(n) for n in NETWORKS)}" in bad.output
