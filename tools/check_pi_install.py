"""Check that the scorer's base install (and its heic extra) resolves as wheels on a
Raspberry Pi (aarch64).

For each Python a Pi runs (3.11 on Raspberry Pi OS 12, 3.13 on Raspberry Pi OS
13), evaluate pyproject's dependency markers for that Python and download the
dependencies as aarch64 wheels only. Exit 1, naming the package, when any has
no wheel: on a Pi that would mean a source build that fails or takes hours.

pip's --platform matches tags exactly, so every manylinux tag a Pi with glibc
2.36 accepts is listed. pip evaluates the markers of dependencies' own
dependencies with the Python running this script; the project's own markers,
which choose tflite-runtime or ai-edge-litert, are evaluated here per target.

    python tools/check_pi_install.py [--python 3.11 --python 3.13] [--dest DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import tomllib
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parent.parent
# glibc 2.36 (Debian 12 and 13 based Raspberry Pi OS) accepts all of these.
PLATFORMS = ["manylinux_2_36_aarch64", "manylinux_2_35_aarch64", "manylinux_2_34_aarch64",
             "manylinux_2_31_aarch64", "manylinux_2_28_aarch64", "manylinux_2_27_aarch64",
             "manylinux_2_17_aarch64", "manylinux2014_aarch64"]


def requirements_for(python: str, extras: tuple[str, ...] = ("heic",)) -> list[str]:
    """The base install's requirements for ``python`` on a Pi, and those of ``extras``
    (the heic extra is for Pis too; train, dev and cluster are not)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    deps = list(project["dependencies"])
    for extra in extras:
        deps += project["optional-dependencies"][extra]
    environment = {"python_version": python, "python_full_version": f"{python}.0",
                   "platform_machine": "aarch64", "sys_platform": "linux",
                   "platform_system": "Linux", "os_name": "posix",
                   "implementation_name": "cpython", "platform_python_implementation": "CPython"}
    chosen = []
    for text in deps:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            requirement.marker = None
            chosen.append(str(requirement))
    return chosen


def check(python: str, dest: Path) -> bool:
    requirements = requirements_for(python)
    abi = "cp" + python.replace(".", "")
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
               "--python-version", python, "--implementation", "cp", "--abi", abi,
               "--dest", str(dest)]
    for platform in PLATFORMS:
        command += ["--platform", platform]
    proc = subprocess.run(command + requirements, capture_output=True, text=True)
    wheels = sorted(p.name for p in dest.glob("*.whl"))
    if proc.returncode != 0:
        errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
        print(f"Python {python} aarch64: FAILED: {' | '.join(errors) or proc.stderr[-500:]}")
        return False
    print(f"Python {python} aarch64: {len(wheels)} wheels for {', '.join(requirements)}")
    for wheel in wheels:
        print(f"  {wheel}")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", action="append", help="target Python, e.g. 3.11 (repeatable)")
    parser.add_argument("--dest", type=Path,
                        help="keep the wheels here (default: a temporary folder)")
    args = parser.parse_args()
    ok = True
    for python in args.python or ["3.11", "3.13"]:
        if args.dest:
            target = args.dest / python
            target.mkdir(parents=True, exist_ok=True)
            ok &= check(python, target)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                ok &= check(python, Path(tmp))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
