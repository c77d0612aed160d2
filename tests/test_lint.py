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
    "from trainer.fitting.fit import fit\n",
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


LONG_FUNCTION = "def long():\n" + "".join(f"    x{i} = {i}\n" for i in range(61)) + "    return 0\n"
BRANCHY = "def branchy(x):\n" + "".join(
    f"    if x == {i}:\n        return {i}\n" for i in range(15)) + "    return -1\n"


def test_the_gate_fails_on_a_long_function_or_class(tmp_path):
    """tools/shape.py, as .ci/run runs it: more than 60 lines a function, 200 a class."""
    shape = [sys.executable, str(REPO / "tools" / "shape.py"), str(tmp_path)]
    (tmp_path / "fine.py").write_text("def short():\n    return 1\n")
    assert subprocess.run(shape, capture_output=True).returncode == 0
    (tmp_path / "grown.py").write_text(LONG_FUNCTION)
    proc = subprocess.run(shape, capture_output=True, text=True)
    assert proc.returncode == 1 and "function long has 63 lines (at most 60)" in proc.stdout
    (tmp_path / "grown.py").write_text("class Big:\n" + "".join(
        f"    def m{i}(self):\n        return {i}\n\n" for i in range(70)))
    proc = subprocess.run(shape, capture_output=True, text=True)
    assert proc.returncode == 1 and "class Big has" in proc.stdout


def test_the_gate_fails_on_excessive_branching():
    proc = ruff_on("scorer/extra.py", BRANCHY)
    assert proc.returncode == 1 and "C901" in proc.stdout and "PLR0912" in proc.stdout
