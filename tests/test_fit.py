"""spe-train synth + fit + evaluate, end to end through the real commands."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import spe_train

pytestmark = pytest.mark.slow


def test_synth_writes_notebook_layout(tmp_path):
    proc = spe_train("synth", str(tmp_path / "s"), "--n", "12", "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    lines = [l for l in (tmp_path / "s" / "y_likes_data.txt").read_text().splitlines()
             if not l.startswith("#")]
    assert len(lines) == 12 and lines[0].startswith("1: ")
    assert len(list((tmp_path / "s" / "Images (jpg)").glob("*.jpg"))) == 12


def test_synth_likes_follow_the_planted_rule(synth_dir):
    """Brighter, more colourful pictures get more likes: the rule is visible in pixels."""
    from trainer.data import load_dataset, load_pixels

    dataset = load_dataset(synth_dir)
    pixels = load_pixels(dataset, 64).astype(np.float64)
    brightness = pixels.mean(axis=(1, 2, 3))
    correlation = np.corrcoef(brightness, np.log1p(dataset.likes))[0, 1]
    assert correlation > 0.2


def test_synth_records_what_it_planted(synth_dir):
    """planted.csv gives back every photo's likes through the documented rule."""
    import csv

    from trainer.data import load_dataset
    from trainer.synth import likes_rule

    with open(synth_dir / "planted.csv", newline="") as handle:
        planted = {row["filename"]: row for row in csv.DictReader(handle)}
    dataset = load_dataset(synth_dir)
    assert len(planted) == len(dataset.samples) == 300
    for sample in dataset.samples:
        row = planted[sample.path.name]
        assert likes_rule(float(row["brightness"]), float(row["colourfulness"]),
                          row["face"] == "1", row["symmetric"] == "1",
                          float(row["noise"])) == sample.likes
    assert 0 < sum(row["symmetric"] == "1" for row in planted.values()) < 300


def test_fit_exports_a_verified_int8_model(trained_model, synth_dir):
    card = json.loads(trained_model.with_suffix(".json").read_text())
    assert card["sha256"] == hashlib.sha256(trained_model.read_bytes()).hexdigest()
    assert card["input"] == {
        "height": 64, "width": 64, "channels": 3, "channel_order": "RGB",
        "resize": "squash to square, cv2.INTER_AREA, EXIF orientation applied",
        "pixel_scaling": {"scale": 1 / 255, "offset": 0.0},
    }
    assert card["target"]["transform"] == "log1p-std"  # the study's default
    assert card["training"]["augment"] == ["flip"] and card["training"]["early_stopping"] is True
    assert len(card["likes_distribution"]["percentiles"]) == 101
    assert card["training"]["photos"] == 300 and card["training"]["validation_photos"] == 60
    assert card["trainer_version"] and card["created_at"]
    agreement = card["metrics"]["int8_vs_keras"]
    assert agreement["runtimes"] == ["litert", "tflite-runtime"]
    assert agreement["relative_to_val_std"] <= 0.02
    for name in ("keras", "int8", "mean baseline"):
        assert set(card["metrics"]["validation"][name]) >= {"mae", "rmse", "spearman"}
    assert trained_model.with_suffix(".loss.png").read_bytes()[:4] == b"\x89PNG"


RUN_BOTH = """
import sys, numpy as np
from scorer.runtime import Model
pixels = np.load(sys.argv[2])
print(*[float(v) for v in Model(sys.argv[1], runtime=sys.argv[3]).predict(pixels)])
"""


def test_exported_model_gives_same_outputs_in_both_runtimes(trained_model, synth_dir, tmp_path):
    from trainer.data import load_dataset, load_pixels

    dataset = load_dataset(synth_dir)
    np.save(tmp_path / "px.npy", load_pixels(dataset, 64)[:64])
    outputs = {}
    for runtime in ("tflite-runtime", "litert"):
        proc = subprocess.run([sys.executable, "-c", RUN_BOTH, str(trained_model),
                               str(tmp_path / "px.npy"), runtime],
                              capture_output=True, text=True, check=True)
        outputs[runtime] = np.array(proc.stdout.split(), dtype=float)
    assert len(outputs["litert"]) == 64
    np.testing.assert_array_equal(outputs["tflite-runtime"], outputs["litert"])
    assert np.ptp(outputs["litert"]) > 0  # the model does not predict a constant


def test_evaluate_prints_the_table(trained_model, synth_dir):
    proc = spe_train("evaluate", str(trained_model), str(synth_dir))
    assert proc.returncode == 0, proc.stderr
    assert "on 300 photos" in proc.stderr
    for row in ("int8", "mean baseline"):
        assert any(line.startswith(row) for line in proc.stderr.splitlines())


def test_notebook_recipe_by_name(synth_dir, tmp_path):
    out = tmp_path / "nb.tflite"
    proc = spe_train("fit", str(synth_dir), "--out", str(out), "--recipe", "notebook",
                     "--epochs", "2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "training notebook (1,625,281 parameters)" in proc.stderr
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["target"]["transform"] == "raw"
    assert card["training"]["augment"] == [] and card["training"]["early_stopping"] is False


def test_fit_refuses_a_non_tflite_name(synth_dir, tmp_path):
    proc = spe_train("fit", str(synth_dir), "--out", str(tmp_path / "model.bin"), "--epochs", "1")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == f"spe-train: {tmp_path / 'model.bin'}: the model file must end in .tflite"
