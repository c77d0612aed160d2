"""A bad model or an unwritable output stops spe at start: exit 2, one line, nothing written."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, spe

DEFAULT = REPO / "models" / "default.tflite"


def copy_model(tmp_path: Path) -> Path:
    model = tmp_path / "m.tflite"
    shutil.copy(DEFAULT, model)
    shutil.copy(DEFAULT.with_suffix(".json"), model.with_suffix(".json"))
    return model


def assert_fatal(proc, fragment: str, out: Path | None = None) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("spe: ") and fragment in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    if out is not None:
        assert not out.exists()


def test_missing_model(tmp_path, photos):
    out = tmp_path / "s.csv"
    proc = spe("batch-score", str(photos), "--model", str(tmp_path / "nope.tflite"),
               "--out", str(out))
    # The real cause: no model there (before: "nope.json: model card missing").
    assert_fatal(proc, "nope.tflite: no such model file", out)


def test_a_folder_given_as_the_model(tmp_path, photos):
    assert_fatal(spe("batch-score", str(photos), "--model", str(tmp_path)),
                 "is a folder, not a model")


def test_missing_card(tmp_path, photos):
    model = copy_model(tmp_path)
    model.with_suffix(".json").unlink()
    assert_fatal(spe("info", "--model", str(model)), "model card missing")


def test_truncated_model(tmp_path, photos):
    model = copy_model(tmp_path)
    model.write_bytes(model.read_bytes()[:5000])
    out = tmp_path / "s.csv"
    assert_fatal(spe("batch-score", str(photos), "--model", str(model), "--out", str(out)),
                 "does not match its card", out)


def test_card_from_another_model(tmp_path, photos):
    model = copy_model(tmp_path)
    card = json.loads(model.with_suffix(".json").read_text())
    card["sha256"] = "0" * 64
    model.with_suffix(".json").write_text(json.dumps(card))
    assert_fatal(spe("batch-score", str(photos), "--model", str(model)), "does not match its card")


def test_corrupt_model_with_matching_card(tmp_path, photos):
    import hashlib

    model = copy_model(tmp_path)
    model.write_bytes(b"not a flatbuffer at all" * 10)
    card = json.loads(model.with_suffix(".json").read_text())
    card["sha256"] = hashlib.sha256(model.read_bytes()).hexdigest()
    model.with_suffix(".json").write_text(json.dumps(card))
    # Not a FlatBuffer with TFLite's identifier: said before any runtime is asked.
    assert_fatal(spe("batch-score", str(photos), "--model", str(model)),
                 "m.tflite: not a TFLite model (give NAME.tflite)")


def test_a_text_file_given_as_the_model_is_named_so(tmp_path, photos):
    """``--model README.md``: before, "README.json: model card missing"."""
    readme = tmp_path / "README.md"
    shutil.copy(REPO / "README.md", readme)
    assert_fatal(spe("batch-score", str(photos), "--model", str(readme)),
                 f"{readme}: not a TFLite model (give NAME.tflite)")


@pytest.mark.parametrize("which", ["model", "card"])
def test_a_fifo_at_the_model_or_its_card_is_refused_at_once(tmp_path, photos, which):
    """A FIFO blocks whoever opens it for reading until a writer comes: the daemon's
    loop and its watchdog pings stopped for 60 s, the unit's WatchdogSec."""
    model = copy_model(tmp_path)
    fifo = model if which == "model" else model.with_suffix(".json")
    fifo.unlink()
    os.mkfifo(fifo)
    proc = spe("batch-score", str(photos), "--model", str(model), timeout=20)
    assert_fatal(proc, f"{fifo}: not a regular file, refused as the "
                       f"{'model' if which == 'model' else 'model card'}")


@pytest.mark.parametrize("edit, says", [
    (lambda c: c["input"]["pixel_scaling"].update(scale=float("nan")),
     "input.pixel_scaling.scale is nan, not a finite number in range"),
    (lambda c: c["input"]["pixel_scaling"].update(scale=0),
     "input.pixel_scaling.scale is 0.0, not a finite number in range"),
    (lambda c: c["target"].update(mean=float("inf")), "target.mean is inf"),
    (lambda c: c["target"].update(std=float("nan")), "target.std is nan"),
    (lambda c: c["likes_distribution"].update(
        percentiles=c["likes_distribution"]["percentiles"][::-1]),
     "likes_distribution.percentiles are not in increasing order"),
    (lambda c: c["likes_distribution"]["percentiles"].__setitem__(50, float("nan")),
     "likes_distribution.percentiles must hold 101 finite numbers"),
    (lambda c: c["input"].update(height=100_000, width=100_000),
     "input side 100000 is beyond 4096 pixels"),
])
def test_a_cards_numbers_are_checked_when_it_is_loaded(tmp_path, photos, edit, says):
    """Before: NaN scales gave rows of nan likes marked ok, reversed percentiles wrong
    percentiles."""
    model = copy_model(tmp_path)
    card = json.loads(model.with_suffix(".json").read_text())
    edit(card)
    model.with_suffix(".json").write_text(json.dumps(card))  # NaN and Infinity, as Python
    assert_fatal(spe("batch-score", str(photos), "--model", str(model)),
                 f"malformed model card ({says}")


def test_a_card_nested_too_deeply_is_one_line(tmp_path, photos):
    """Before: a RecursionError traceback."""
    model = copy_model(tmp_path)
    model.with_suffix(".json").write_text("[" * 100_000 + "]" * 100_000)
    assert_fatal(spe("info", "--model", str(model)), "malformed model card (nested too deeply)")


def test_wrong_shape_model(tmp_path, photos):
    model = copy_model(tmp_path)
    card = json.loads(model.with_suffix(".json").read_text())
    size = card["input"]["height"]
    card["input"]["height"] = card["input"]["width"] = size + 32
    model.with_suffix(".json").write_text(json.dumps(card))
    assert_fatal(spe("batch-score", str(photos), "--model", str(model)),
                 f"input shape ({size}, {size}, 3) does not match its card's "
                 f"({size + 32}, {size + 32}, 3)")


def test_malformed_card(tmp_path):
    model = copy_model(tmp_path)
    model.with_suffix(".json").write_text("{ not json")
    assert_fatal(spe("info", "--model", str(model)), "unreadable model card")


def test_card_from_a_newer_trainer(tmp_path, photos):
    model = copy_model(tmp_path)
    card = json.loads(model.with_suffix(".json").read_text())
    card["card_version"] = 99
    model.with_suffix(".json").write_text(json.dumps(card))
    out = tmp_path / "s.csv"
    proc = spe("batch-score", str(photos), "--model", str(model), "--out", str(out))
    assert_fatal(proc, "card version 99 is from a newer trainer (this spe reads up to 2): "
                       "upgrade spe", out)


@pytest.mark.parametrize("make_bad", ["missing_dir", "not_a_csv"])
def test_output_that_cannot_be_written(tmp_path, photos, make_bad):
    if make_bad == "missing_dir":
        out = tmp_path / "no" / "such" / "s.csv"
        fragment = "cannot open for writing"
    else:
        out = tmp_path / "s.csv"
        out.write_text("name,value\nx,1\n")
        fragment = "not a scores CSV"
    proc = spe("batch-score", str(photos), "--out", str(out))
    assert_fatal(proc, fragment)
    if make_bad == "not_a_csv":
        assert out.read_text() == "name,value\nx,1\n"


def test_usage_error_exit_2(photos):
    proc = spe("batch-score")
    assert proc.returncode == 2
    proc = spe("batch-score", str(photos), "--threads", "0")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("spe: Invalid value for '--threads'")
    assert lines[0].endswith("(see 'spe batch-score --help')")
    proc = spe("batch-score", str(photos), "--no-such-flag")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
