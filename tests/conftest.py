"""Shared fixtures: real data sets, real models, real processes.

Nothing here imports TensorFlow: training runs in a subprocess, because
tflite-runtime cannot be loaded in a process that has imported TensorFlow.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SAMPLES = REPO / "samples"


# The longest tests and groups first, so that on two workers they start side by side
# and the many short tests fill in around them (pyproject.toml: -n 2, loadgroup).
LONGEST_FIRST = ("test_quality.py", "test_crops.py", "test_fit.py", "test_backbone.py",
                 "test_reload.py",
                 "test_cv.py", "test_trend.py", "test_bench.py", "test_cluster.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONGEST_FIRST)))


def spe(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 120,
        **kwargs) -> subprocess.CompletedProcess:
    """Run the installed ``spe`` command."""
    return subprocess.run([str(BIN / "spe"), *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=timeout, **kwargs)


def spe_train(*args: str, cwd: Path | None = None, timeout: float = 600,
              env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "spe-train"), *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env={**os.environ, **(env or {})})


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory) -> Path:
    from trainer.data.synth import make_synthetic

    out = tmp_path_factory.mktemp("synth300")
    make_synthetic(out, n=300, seed=0)
    return out


@pytest.fixture(scope="session")
def burst(tmp_path_factory) -> list[Path]:
    """500 distinct synthetic photos."""
    from trainer.data.synth import make_synthetic

    folder = tmp_path_factory.mktemp("burst")
    make_synthetic(folder, n=500, seed=21)
    return sorted((folder / "Images (jpg)").glob("*.jpg"))


@pytest.fixture(scope="session")
def trained_model(synth_dir, tmp_path_factory) -> Path:
    """A model of networks trained from nothing (the recipe before the backbone), fitted by
    the real CLI, kept short: 300 synthetic photos, 3 folds, 2 averaged networks, at most
    3 epochs."""
    out = tmp_path_factory.mktemp("model") / "small.tflite"
    proc = spe_train("fit", str(synth_dir), "--out", str(out), "--epochs", "3", "--members", "2",
                     "--backbone", "none")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.fixture
def photos(tmp_path) -> Path:
    """A folder with copies of the real sample photos."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("rocket.jpg", "hubble_deep_field.jpg", "grace_hopper.jpg", "coffee.png",
                 "chelsea.png"):
        shutil.copy(SAMPLES / name, folder / name)
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def ray_address():
    """A two-CPU Ray cluster on this machine, as `ray start --head` makes one; stopped after.

    Ray 2.60 starts clusters with token authentication; a driver given an address
    sends the token (~/.ray/auth_token) only with RAY_AUTH_MODE=token, as Ray's docs say.
    A new machine has no token yet: `ray get-auth-token --generate` makes one.
    """
    port = free_port()
    saved = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "token"
    subprocess.run([str(BIN / "ray"), "get-auth-token", "--generate"], capture_output=True,
                   check=True, timeout=120)
    proc = subprocess.run([str(BIN / "ray"), "start", "--head", "--num-cpus", "2",
                           f"--port={port}", "--include-dashboard=false",
                           "--object-store-memory", str(200 * 1024 * 1024),
                           "--disable-usage-stats"],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(BIN / "ray"), "stop", "--force"], capture_output=True, timeout=120)
        if saved is None:
            os.environ.pop("RAY_AUTH_MODE")
        else:
            os.environ["RAY_AUTH_MODE"] = saved
