"""The lint gate keeps the scorer light: TensorFlow, Keras or the trainer under scorer/ fail it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

RUFF = Path(sys.executable).parent / "ruff"


def ruff_on(filename: str, source: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(RUFF), "check", "--no-cache", "--stdin-filename", filename, "-"],
                          input=source, capture_output=True, text=True, cwd=REPO)


@pytest.mark.parametrize("source", [
    "import tensorflow\n",
    "def f():\n    import keras\n    return keras\n",        # not even lazily
    "from trainer.fit import fit\n",
    "import tensorflow.lite as lite\n",
])
def test_heavy_imports_under_scorer_fail_the_lint(source):
    proc = ruff_on("scorer/extra.py", source)
    assert proc.returncode == 1, proc.stdout
    assert "TID251" in proc.stdout and "scorer/ must not import" in proc.stdout


def test_the_same_imports_are_fine_in_the_trainer():
    assert ruff_on("trainer/extra.py", "import tensorflow\n\nprint(tensorflow)\n").returncode == 0


def test_the_tree_passes_the_gate():
    proc = subprocess.run([str(RUFF), "check", "--no-cache", "."], capture_output=True,
                          text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-3000:]
