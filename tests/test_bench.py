"""The benchmark's quick mode runs end to end (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]  # its cluster section stops Ray


def test_quick_benchmark_runs_and_writes_every_section(tmp_path):
    out = tmp_path / "quick.json"
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(out),
                           "--work", str(tmp_path / "work")], capture_output=True, text=True,
                          cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(out.read_text())
    for section in ("coldstart", "throughput", "models", "watcher", "ledger", "training",
                    "cluster", "crops"):
        assert section in results, section
    assert set(results["coldstart"]) == {"spe batch-score", "tensorflow tf.lite",
                                         "keras predict (notebook)", "spe, shipped model",
                                         "tf.lite, shipped model"}
    assert results["coldstart"]["tf.lite, shipped model"]["spe_speedup"] > 0
    throughput = results["throughput"]
    from scorer.model.card import read_card
    from scorer.model.runtime import default_model_path

    # At the shipped model's own input size (the decode depends on it).
    assert throughput["input"] == read_card(default_model_path()).height
    assert throughput["12 MP"]["photos"] > 0
    assert "threads_2" in throughput["12 MP"] or "threads_1" in throughput["12 MP"]
    assert results["watcher"]["steady"]["rows"] == results["watcher"]["steady"]["photos"]
    assert results["watcher"]["burst"]["rows"] == results["watcher"]["burst"]["photos"]
    # Whether tflite-runtime 2.14 can load the converter's default (dynamic-range)
    # export depends on the network's ops (the notebook network's large dense layer
    # cannot be; the deep network's can): it is reported either way. int8 always loads.
    assert "tflite-runtime (builtin)" in results["models"]["dynamic"]
    for runtime in ("tflite-runtime (builtin)", "litert (default)", "litert (builtin)"):
        assert "error" not in results["models"]["int8"][runtime], runtime
    assert "cold start, one photo" in proc.stdout and "QUICK mode" in proc.stdout
    assert results["ledger"]["1000"]["rows"] == 1000 and "ledger at scale" in proc.stdout
    assert "cluster-score vs batch-score" in proc.stdout
    assert results["cluster"]["driver"]["ledger_rows"] == 10_000
    # The default recipe's model beside the decode, under both runtimes.
    # The fit said what it would need, and the peak was measured against it and 2 GB.
    fitted = results["training"]["40"]
    assert fitted["said_it_needs_gb"] > 1.0 and fitted["peak_of_said"] > 0.1, fitted
    assert abs(fitted["peak_of_2gb"] * 2.0 - fitted["peak_gb"]) < 1e-9
    assert "of 2 GB" in proc.stdout and "it said it would need" in proc.stdout
    cost = results["training"]["cost_against_decode"]
    for runtime in ("tflite-runtime (builtin)", "litert (default)", "litert (builtin)"):
        assert cost[runtime]["of_decode"] > 0, runtime
    assert "x the decode" in proc.stdout
    crops = results["crops"]
    assert crops["views_per_photo"] == 44 and crops["page_seconds_crops"] > 0
    assert "crop suggestions and occlusion maps" in proc.stdout
