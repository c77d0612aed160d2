"""The README's three journeys, run as written in a fresh shell and a fresh venv.

The code blocks marked ``<!-- journey: NAME -->`` are the steps a newcomer
types: set up and score photos, train on their own photos and score with that
model, install on a Raspberry Pi as a service. Each journey runs in a copy of
this project (its files as git sees them, no venv), so a step that does not
work as written, or that relies on something of this checkout, fails here.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import REPO

pytestmark = pytest.mark.slow

MARKED_BLOCK = re.compile(r"<!-- journey: (\w+) -->\n```sh\n(.*?)```", re.S)
# The Pi steps that need a real Raspberry Pi OS as root; everything else runs, in a
# scratch root standing for "/".
NOT_HERE = ("apt-get ", "useradd ", "systemctl ")


def journeys(text: str) -> dict[str, list[str]]:
    """Journey name -> its command lines, in README order (continued lines joined)."""
    steps: dict[str, list[str]] = {}
    for name, block in MARKED_BLOCK.findall(text):
        steps.setdefault(name, []).extend(block.replace("\\\n", " ").strip().splitlines())
    return steps


def project_copy(dest: Path) -> Path:
    """The project's files as a fresh clone has them (tracked or not ignored), no venv."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def run_steps(lines: list[str], cwd: Path, env: dict[str, str] | None = None,
              timeout: float = 1500) -> None:
    """Each line as the README writes it, in one fresh bash, stopping at the first failure."""
    script = "set -euo pipefail\n" + "\n".join(lines) + "\n"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SPE_", "VIRTUAL_ENV"))}
    clean["PATH"] = ":".join(p for p in clean["PATH"].split(":") if ".venv" not in p)
    proc = subprocess.run(["bash", "-c", script], cwd=cwd, env={**clean, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (f"a README step failed (exit {proc.returncode}):\n"
                                  f"{script}\n--- stderr ---\n{proc.stderr[-3000:]}")


def ok_rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return [row for row in csv.DictReader(handle) if row["status"] == "ok"]


def test_readme_marks_the_three_journeys():
    steps = journeys((REPO / "README.md").read_text())
    assert set(steps) == {"score", "train", "pi"}
    assert steps["score"][0].startswith("python3.11 -m venv .venv && .venv/bin/pip install . ")
    assert any("pip install '.[train]'" in line for line in steps["train"])


def test_scoring_then_training_work_as_written(tmp_path):
    """Set up and score, then train on a small synthetic set and score with the new model."""
    steps = journeys((REPO / "README.md").read_text())
    clone = project_copy(tmp_path / "clone")
    run_steps(steps["score"], clone)
    samples = len([p for p in (clone / "samples").iterdir() if p.suffix != ".md"])
    assert len(ok_rows(clone / "scores.csv")) == samples
    assert "<html" in (clone / "rank.html").read_text()[:200].lower()

    run_steps(steps["train"], clone)
    for made in ("my.tflite", "my.json", "my.md", "my.predicted.png"):
        assert (clone / made).is_file(), made


def test_the_pi_steps_work_as_written_in_a_scratch_root(tmp_path):
    """The Pi install, with "/" standing for a scratch root and without sudo; the steps
    that need a real Pi OS as root (apt-get, useradd, systemctl) are left out. Then:
    the files are where the unit says they are, and ``spe`` is on PATH."""
    steps = journeys((REPO / "README.md").read_text())
    clone = project_copy(tmp_path / "clone")
    root = tmp_path / "root"
    for folder in ("usr/local/bin", "etc/systemd/system", "etc/logrotate.d"):
        (root / folder).mkdir(parents=True)
    lines = []
    for line in steps["pi"]:
        line = line.replace("sudo ", "")
        if line.startswith(NOT_HERE):
            continue
        lines.append(re.sub(r"(?<![\w.])/(opt|etc|usr)/", rf"{root}/\1/", line))
    assert any(" info" in line for line in lines)
    run_steps(lines, clone, env={"PATH": f"{root}/usr/local/bin:/usr/bin:/bin"})

    unit = (root / "etc/systemd/system/spe-watch.service").read_text()
    directives = dict(x.split("=", 1) for x in unit.splitlines() if "=" in x)
    assert (root / directives["Documentation"].removeprefix("file:///")).is_file()
    assert (root / directives["ExecStart"].split()[0].lstrip("/")).is_file()
    assert (root / directives["EnvironmentFile"].lstrip("-/")).is_file()
    rotated = (root / "etc/logrotate.d/spe").read_text()
    out = directives["ExecStart"].split("--out ")[1].split()[0]
    assert rotated.count(out + " {") == 1
    assert (root / "usr/local/bin/spe").resolve() == (root / "opt/spe/venv/bin/spe")
