"""Timing and memory helpers: a child's wall time and peak RSS, medians of runs."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(sys.executable).parent


def timed_child(command: list[str], **kwargs) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MiB, stderr) of one run of a command.

    Wall time and memory come from bench.launch, which measures the command
    alone (see there); stderr is returned for the command's own summary line.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".launch") as report:
        proc = subprocess.run([PYTHON, "-m", "bench.launch", report.name, *map(str, command)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              env={**os.environ, "PYTHONPATH": str(REPO)}, **kwargs)
        err = proc.stderr.decode(errors="replace")
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, command))[:200]} failed: {err[-800:]}")
        seconds, max_rss_kib, _ = report.read().split()
    return float(seconds), int(max_rss_kib) / 1024.0, err


def median(values: list[float]) -> float:
    return float(statistics.median(values))
