"""spe-train synth + fit + evaluate, end to end through the real commands."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scorer.model.runtime import kernels_reason
from tests.conftest import spe, spe_train

# One group with the other users of the trained_model fixture, so that it is trained once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("trained")]


def test_synth_writes_notebook_layout(tmp_path):
    proc = spe_train("synth", str(tmp_path / "s"), "--n", "12", "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in (tmp_path / "s" / "y_likes_data.txt").read_text().splitlines()
             if not line.startswith("#")]
    assert len(lines) == 12 and lines[0].startswith("1: ")
    assert len(list((tmp_path / "s" / "Images (jpg)").glob("*.jpg"))) == 12


def test_synth_likes_follow_the_planted_rule(synth_dir):
    """Brighter, more colourful pictures get more likes: the rule is visible in pixels."""
    from trainer.data.layouts import load_dataset, load_pixels

    dataset = load_dataset(synth_dir)
    pixels = load_pixels(dataset, 64).astype(np.float64)
    brightness = pixels.mean(axis=(1, 2, 3))
    correlation = np.corrcoef(brightness, np.log1p(dataset.likes))[0, 1]
    assert correlation > 0.2


def test_synth_records_what_it_planted(synth_dir):
    """planted.csv gives back every photo's likes through the documented rule."""
    import csv

    from trainer.data.layouts import load_dataset
    from trainer.data.synth import likes_rule

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


@pytest.mark.parametrize("rule", ["classic", "texture", "harmony"])
def test_every_rule_of_the_family_records_what_it_planted(rule, tmp_path):
    """Each rule's planted.csv gives back every photo's likes through the rule's own formula,
    and every weighted property actually varies."""
    import csv

    from trainer.data.layouts import load_dataset
    from trainer.data.synth import RULES, make_synthetic

    make_synthetic(tmp_path, n=40, seed=5, rule=rule)
    with open(tmp_path / "planted.csv", newline="") as handle:
        planted = {row["filename"]: row for row in csv.DictReader(handle)}
    spec = RULES[rule]
    for sample in load_dataset(tmp_path).samples:
        row = planted[sample.path.name]
        properties = {k: float(v) for k, v in row.items() if k not in ("filename", "noise")}
        assert np.round(np.expm1(spec.log_likes(properties, float(row["noise"])))) == sample.likes
    for name in spec.weights:
        assert np.ptp([float(row[name]) for row in planted.values()]) > 0.3, name


def test_synth_rules_differ(tmp_path):
    """The same seed under two rules gives different pictures and different likes."""
    from trainer.data.synth import make_synthetic

    classic = make_synthetic(tmp_path / "c", n=20, seed=1, rule="classic")
    texture = make_synthetic(tmp_path / "t", n=20, seed=1, rule="texture")
    assert not np.array_equal(classic, texture)
    assert spe_train("synth", str(tmp_path / "x"), "--rule", "nope").returncode == 2


def test_fit_exports_a_verified_int8_model(trained_model, synth_dir):
    text = trained_model.with_suffix(".json").read_text()
    card = json.loads(text)
    assert card["sha256"] == hashlib.sha256(trained_model.read_bytes()).hexdigest()
    assert card["input"] == {
        "height": 64, "width": 64, "channels": 3, "channel_order": "RGB",
        "resize": "squash to square, cv2.INTER_AREA, EXIF orientation applied",
        "pixel_scaling": {"scale": 1 / 255, "offset": 0.0},
    }
    assert card["target"]["transform"] == "log1p-std"  # the networks' default
    training = card["training"]
    assert training["architecture"] == "deep"
    assert training["augment"] == ["flip", "shift", "zoom", "color"]
    assert training["photos"] == training["train_photos"] == 300  # the final model saw all
    assert training["members"] == 2 and training["folds"] == 3
    assert 1 <= training["epochs_run"] <= 3
    assert len(card["likes_distribution"]["percentiles"]) == 101
    assert card["trainer_version"] and card["created_at"]
    # No absolute path of the machine that trained it; the folder's name at most.
    assert str(synth_dir) not in text and training["data"] == synth_dir.name
    agreement = card["metrics"]["int8_vs_keras"]
    assert agreement["runtimes"] == ["litert", "tflite-runtime"]
    assert agreement["relative_to_likes_std"] <= 0.02
    validation = card["metrics"]["validation"]
    assert validation["n"] == 300 and "cross-validation" in validation["how"]
    for name in ("keras", "int8", "mean baseline", "ridge baseline"):
        assert set(validation[name]) >= {"mae", "rmse", "spearman"}
    cv = card["metrics"]["cross_validation"]
    assert cv["folds"] == 3 and len(cv["stopping_epochs"]) == 3
    assert cv["summary"]["int8"]["spearman"]["mean"] == validation["int8"]["spearman"]
    quality = card["expected_quality"]
    assert quality["spearman"]["mean"] == validation["int8"]["spearman"]
    assert quality["verdict"].startswith("Verdict: ")
    cost = card["cost"]
    assert cost["members"] == 2 and cost["size_bytes"] == trained_model.stat().st_size
    assert set(cost["ms_per_photo_one_thread"]) == {"litert", "tflite-runtime"}
    # The fast kernels measured against the built-in ones, per runtime (issue 15).
    kernels = card["kernels"]
    assert set(kernels) == {"litert", "tflite-runtime"}
    assert kernels["tflite-runtime"]["fast_max_steps"] == 0  # no int8 XNNPACK in 2.14
    for measured in kernels.values():
        assert measured["photos"] == 300 and measured["ms_fast"] > 0
        # The choice and its reason, in the card, in the words spe info prints.
        assert measured["decision"] == kernels_reason(measured)
    for plot in (".loss.png", ".predicted.png"):
        assert trained_model.with_suffix(plot).read_bytes()[:4] == b"\x89PNG"
    # The card for people beside it, and short hashes of the training photos.
    text_md = trained_model.with_suffix(".md").read_text()
    for section in ("## Intended use", "## Out-of-scope uses", "## Training data",
                    "## Evaluation", "## Limitations", "## Versions"):
        assert section in text_md
    assert f"- Fast kernels on litert: {kernels['litert']['decision']}." in text_md
    assert str(synth_dir) not in text_md and "300 photos" in text_md
    assert len(training["photo_hashes"]) == 300


def _better_model_at(out: Path, trained_model: Path, data: Path | None) -> dict:
    """A copy of the trained model whose card says it measured 0.95, above the synthetic
    rule's own ceiling (0.93): no new model can measure better. With ``data``, its card
    lists that folder's photos as its own (trained on the same photos)."""
    import shutil

    from trainer.data.layouts import load_dataset
    from trainer.export.card import photo_hashes

    shutil.copy(trained_model, out)
    card = json.loads(trained_model.with_suffix(".json").read_text())
    card["expected_quality"]["spearman"]["mean"] = 0.95
    if data is not None:
        card["training"]["photo_hashes"] = photo_hashes(load_dataset(data))
    out.with_suffix(".json").write_text(json.dumps(card))
    return card


QUICK = ("--folds", "2", "--members", "1", "--epochs", "2", "--architecture", "deep-small",
         "--backbone", "none")


def test_fit_keeps_a_better_model_on_the_same_photos_and_the_new_one_beside(trained_model,
                                                                          tmp_path):
    """An existing model that measured better on the same photos stays, byte for byte; the
    new one is not thrown away but kept as NAME.refused.tflite (named in the error);
    --force replaces it."""
    from trainer.data.synth import make_synthetic

    data = tmp_path / "data"
    make_synthetic(data, n=60, seed=7)
    out = tmp_path / "better.tflite"
    card = _better_model_at(out, trained_model, data)
    before = out.read_bytes(), out.with_suffix(".json").read_bytes()
    refused = spe_train("fit", str(data), "--out", str(out), *QUICK)
    assert refused.returncode == 1, refused.stderr[-2000:]
    last = refused.stderr.strip().splitlines()[-1]
    kept = tmp_path / "better.refused.tflite"
    assert last.startswith(f"spe-train: {out}: not replaced: its Spearman ")
    assert "below the existing model's 0.950" in last
    assert f"the new model is kept as {kept} with its card" in last
    assert last.endswith("--force replaces it anyway")
    assert (out.read_bytes(), out.with_suffix(".json").read_bytes()) == before
    refused_card = json.loads(kept.with_suffix(".json").read_text())
    assert refused_card["sha256"] == hashlib.sha256(kept.read_bytes()).hexdigest()
    assert refused_card["model_file"] == kept.name
    scored = spe("batch-score", str(data / "Images (jpg)"), "--model", str(kept))
    assert scored.returncode == 0, scored.stderr
    forced = spe_train("fit", str(data), "--out", str(out), *QUICK, "--force")
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert "(--force)" in forced.stderr
    new_card = json.loads(out.with_suffix(".json").read_text())
    assert new_card["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest() != card["sha256"]
    assert new_card["training"]["photos"] == 60


def test_fit_over_a_model_of_other_photos_is_refused_before_any_training(trained_model,
                                                                          tmp_path):
    """Figures measured on other photos do not compare: refused at the start, with the
    reason and the way out, nothing written; --force replaces it without comparing."""
    from trainer.data.synth import make_synthetic

    data = tmp_path / "data"
    make_synthetic(data, n=60, seed=7)
    out = tmp_path / "other.tflite"
    _better_model_at(out, trained_model, None)
    before = out.read_bytes(), out.with_suffix(".json").read_bytes()
    refused = spe_train("fit", str(data), "--out", str(out), *QUICK)
    assert refused.returncode == 1, refused.stderr[-2000:]
    last = refused.stderr.strip().splitlines()[-1]
    assert re.match(rf"spe-train: {re.escape(str(out))} was trained on other photos \(\d+ of "
                    r"its 300 are among the 60 here\)", last), last
    assert last.endswith("not replaced; --force replaces it, or choose another --out")
    assert "epoch" not in refused.stderr and "fold" not in refused.stderr
    assert (out.read_bytes(), out.with_suffix(".json").read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "other.json", "other.tflite"]
    forced = spe_train("fit", str(data), "--out", str(out), *QUICK, "--force")
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert "whatever this fit measures" in forced.stderr
    assert json.loads(out.with_suffix(".json").read_text())["training"]["photos"] == 60


RUN_BOTH = """
import sys, numpy as np
from scorer.model.runtime import Model
pixels = np.load(sys.argv[2])
print(*[float(v) for v in Model(sys.argv[1], runtime=sys.argv[3], kernels="exact")
        .predict(pixels)])
"""


def test_exported_model_gives_same_outputs_in_both_runtimes(trained_model, synth_dir, tmp_path):
    from trainer.data.layouts import load_dataset, load_pixels

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
    # These are the photos it trained on, and evaluate says so.
    assert ("warning: 300 of 300 photos were among the model's training photos"
            in proc.stderr)
    as_json = spe_train("evaluate", str(trained_model), str(synth_dir), "--json")
    assert json.loads(as_json.stdout)["overlap_with_training"] == {"photos": 300}
    for row in ("int8", "mean baseline", "ridge baseline (cv)"):  # data: standard output
        assert any(line.startswith(row) for line in proc.stdout.splitlines())
        assert not any(line.startswith(row) for line in as_json.stdout.splitlines())
    ridge = json.loads(as_json.stdout)["ridge baseline (cv)"]
    assert -1 <= ridge["spearman"] <= 1 and ridge["mae_log1p"] > 0


def test_notebook_recipe_by_name(synth_dir, tmp_path):
    out = tmp_path / "nb.tflite"
    proc = spe_train("fit", str(synth_dir), "--out", str(out), "--recipe", "notebook",
                     "--epochs", "2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "training notebook for up to 2 epochs on 240 photos, 60 held out" in proc.stderr
    assert "\n1,625,281 parameters\n" in proc.stderr
    # Nothing but data on standard output (fit has none), and none of TensorFlow's own
    # C++ log lines among the trainer's on standard error.
    assert proc.stdout == ""
    noise = [line for line in proc.stderr.splitlines()
             if re.match(r"[IWEF]\d{4} |WARNING: All log messages|.*oneDNN", line)]
    assert noise == [], noise[:3]
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["target"]["transform"] == "raw"
    assert card["training"]["augment"] == [] and card["training"]["early_stopping"] is False
    assert card["metrics"]["validation"]["n"] == card["training"]["validation_photos"] == 60


def test_fit_refuses_a_non_tflite_name(synth_dir, tmp_path):
    proc = spe_train("fit", str(synth_dir), "--out", str(tmp_path / "model.bin"), "--epochs", "1")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        f"spe-train: {tmp_path / 'model.bin'}: the model file must end in .tflite")


def test_fit_with_only_tflite_runtime_installed(tmp_path):
    """`pip install '.[train]'` on Python 3.11 brings tflite-runtime but not ai-edge-litert.

    ai-edge-litert is installed here (the dev extra), so its absence is made by
    a package of that name on PYTHONPATH that fails to import, exactly as a
    missing one does; the trainer's verifying subprocesses inherit it.
    """
    from trainer.data.synth import make_synthetic

    shim = tmp_path / "shim" / "ai_edge_litert"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'ai_edge_litert'\", name='ai_edge_litert')\n")
    data = tmp_path / "data"
    make_synthetic(data, n=30, seed=9)
    out = tmp_path / "m.tflite"
    proc = spe_train("fit", str(data), "--out", str(out), "--folds", "2", "--members", "1",
                     "--epochs", "1", "--architecture", "deep-small", "--backbone", "none",
                     env={"PYTHONPATH": str(shim.parent)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "verified under tflite-runtime" in proc.stderr and "litert" not in proc.stderr
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["metrics"]["int8_vs_keras"]["runtimes"] == ["tflite-runtime"]
    assert list(card["cost"]["ms_per_photo_one_thread"]) == ["tflite-runtime"]


def test_distil_makes_one_network_that_follows_the_teacher(trained_model, synth_dir, tmp_path):
    out = tmp_path / "student.tflite"
    proc = spe_train("distil", str(trained_model), str(synth_dir), "--out", str(out),
                     "--architecture", "deep-small", "--copies", "2", "--epochs", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    card = json.loads(out.with_suffix(".json").read_text())
    teacher = json.loads(trained_model.with_suffix(".json").read_text())
    assert card["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert card["training"]["architecture"] == "deep-small"
    distilled = card["training"]["distilled_from"]
    assert distilled["teacher"] == teacher["sha256"][:12] and distilled["check_photos"] == 30
    assert -1 <= distilled["spearman_with_teacher"] <= 1
    assert card["cost"]["members"] == 1 and card["parameters"] < teacher["parameters"] / 5
    # The teacher's cross-validated quality, said to be the teacher's.
    assert card["expected_quality"]["spearman"] == teacher["expected_quality"]["spearman"]
    assert card["expected_quality"]["verdict"].startswith(f"Distilled from {trained_model.name}")
    assert card["metrics"]["int8_vs_keras"]["runtimes"] == ["litert", "tflite-runtime"]
    # Never over its own teacher.
    proc = spe_train("distil", str(trained_model), str(synth_dir), "--out", str(trained_model))
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith("write the student beside the teacher, not over it")


@pytest.mark.slow
def test_a_model_no_better_than_the_baseline_says_so_or_falls_back(tmp_path):
    """One epoch of the notebook network ranks below the image-statistics ridge on the
    classic rule: kept, fit says so on standard output and the card's words agree with
    its numbers; with --fallback ridge the baseline itself is exported instead."""
    data = tmp_path / "data"
    assert spe_train("synth", str(data), "--n", "90", "--seed", "3").returncode == 0
    weak = ("--backbone", "none", "--architecture", "notebook", "--epochs", "1", "--members", "1")
    kept = spe_train("fit", str(data), "--out", str(tmp_path / "kept.tflite"), *weak)
    assert kept.returncode == 0, kept.stderr[-2000:]
    card = json.loads((tmp_path / "kept.json").read_text())
    quality = card["expected_quality"]
    assert quality["spearman"]["mean"] <= quality["ridge_spearman"]["mean"]
    # One fit, one verdict and one figure (the int8 folds', as the card's): on stdout,
    # on stderr, in the card and in NAME.md alike.
    verdict = quality["verdict"]
    figure = f"Spearman {quality['spearman']['mean']:.3f} ± {quality['spearman']['std']:.3f}"
    assert verdict.startswith("Verdict: ") and figure in verdict and "int8 export" in verdict
    assert "NOT better than the ridge baseline" in verdict
    assert verdict in kept.stdout and "--fallback ridge exports" in kept.stdout
    assert {line for line in kept.stderr.splitlines() if "Verdict" in line} == {verdict}
    words = (tmp_path / "kept.md").read_text()
    assert verdict in words
    assert "It ranks no better than the ridge baseline" in words
    assert "more often than not" not in words
    assert "[kept.predicted.png](kept.predicted.png)" in words  # the card links its plots
    assert "[kept.loss.png](kept.loss.png)" in words
    # Every fold's network reports its epochs, with the time left.
    assert len(re.findall(r"^  epoch 1/1: loss [\d.]+, held-out loss [\d.]+, [\d.]+ s/epoch, "
                          r"at most 0:00 left$", kept.stderr, re.M)) >= 3

    fell = spe_train("fit", str(data), "--out", str(tmp_path / "fell.tflite"), *weak,
                     "--fallback", "ridge", "--quiet")
    assert fell.returncode == 0, fell.stderr[-2000:]
    assert "--fallback ridge: exporting the ridge regression on image statistics" in fell.stderr
    assert "epoch" not in fell.stderr and "fold 1/3" not in fell.stderr  # --quiet
    assert "started" not in fell.stderr and "fit took" not in fell.stderr  # nor phases
    assert "Verdict:" in fell.stderr and "wrote " in fell.stderr
    assert fell.stdout == ""
    card = json.loads((tmp_path / "fell.json").read_text())
    assert "image statistics" in card["training"]["head"]["kind"]
    ranked = spe("batch-score", str(data / "Images (jpg)"), "--model",
                 str(tmp_path / "fell.tflite"))
    assert ranked.returncode == 0, ranked.stderr
