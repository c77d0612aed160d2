"""SIGHUP reloads the model under a running daemon (issue 14, item 3).

A real daemon, the real starter model and a model trained by `spe-train fit`:
swapped at the daemon's --model path, then a broken one.
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest

from scorer.model.runtime import default_model_path
from tests.daemon import Daemon

# trained_model: one group with tests/test_fit.py, so that it is trained once.
pytestmark = [pytest.mark.fault, pytest.mark.slow, pytest.mark.xdist_group("trained")]


def place(source: Path, target: Path) -> None:
    """Put a model and its card at ``target`` the way a person would: card, then model."""
    shutil.copy(source.with_suffix(".json"), target.with_suffix(".json"))
    shutil.copy(source, target)


def model_id(model: Path) -> str:
    import json

    return json.loads(model.with_suffix(".json").read_text())["sha256"][:12]


def test_sighup_swaps_the_model_and_a_broken_one_keeps_the_old(tmp_path, trained_model, burst):
    inbox, out, model = tmp_path / "inbox", tmp_path / "scores.csv", tmp_path / "live.tflite"
    inbox.mkdir()
    place(default_model_path(), model)
    daemon = Daemon(inbox, out, "--model", str(model))
    try:
        shutil.copy(burst[0], inbox / "one.jpg")
        daemon.wait_rows(1)
        place(trained_model, model)
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_for_log(f"model reloaded: now {model_id(trained_model)}")
        shutil.copy(burst[1], inbox / "two.jpg")
        daemon.wait_rows(2)
        model.write_bytes(b"not a model")  # its card's sha256 no longer matches
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_for_log("cannot reload the model")
        shutil.copy(burst[2], inbox / "three.jpg")
        rows = daemon.wait_rows(3)
        assert daemon.proc.poll() is None
    finally:
        assert daemon.stop() == 0
    models = {Path(r["path"]).name: r["model"] for r in rows}
    assert models == {"one.jpg": model_id(default_model_path()),
                      "two.jpg": model_id(trained_model), "three.jpg": model_id(trained_model)}
    assert {r["status"] for r in rows} == {"ok"}
    line = next(x for x in daemon.log_text().splitlines() if "cannot reload" in x)
    assert line.endswith(f"still scoring with {model_id(trained_model)}")
