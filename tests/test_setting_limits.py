"""Every numeric setting is checked for type and range at one place (scorer/core/settings.py
LIMITS), from a flag, an SPE_* variable or the settings file alike: one line naming it,
exit 2, before any work. Before: settle = nan scored half-written uploads, settle = inf
never scored, rescan-interval = nan never rescanned, threads = 2**63-1 was a
MemoryError traceback, --model-threads 100000 a traceback then a segfault,
SPE_THREADS=100000 a hang, --config /dev/zero read without end, threads = 2.5 and
threads = true were taken as 2 and 1."""

from __future__ import annotations

import pytest

from tests.conftest import spe


def _refused(proc, *fragments: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert all(f in lines[0] for f in fragments), lines[0]


@pytest.mark.parametrize("flag, value, says", [
    ("--threads", "100000", "100000 is not in the range 1<=x<=256"),
    ("--model-threads", "100000", "100000 is not in the range 1<=x<=256"),
    ("--threads", str(2**63 - 1), "is not in the range"),
    ("--settle", "nan", "nan is not a finite number"),
    ("--settle", "inf", "inf is not in the range"),
    ("--rescan-interval", "nan", "nan is not a finite number"),
    ("--rescan-interval", "-inf", "is not in the range"),
    ("--max-memory", str(2**40), "is not in the range"),
])
def test_a_flag_out_of_range_is_one_line(tmp_path, flag, value, says):
    _refused(spe("watch", str(tmp_path), flag, value, timeout=20), flag, says)


@pytest.mark.parametrize("variable, value, says", [
    ("SPE_THREADS", "100000", "100000 is not in the range 1<=x<=256"),
    ("SPE_SETTLE", "nan", "nan is not a finite number"),
    ("SPE_RESCAN_INTERVAL", "nan", "nan is not a finite number"),
])
def test_a_variable_out_of_range_is_one_line(tmp_path, variable, value, says):
    _refused(spe("watch", str(tmp_path), env={variable: value}, timeout=20), variable, says)


@pytest.mark.parametrize("line, says", [
    ("threads = 2.5", "threads = 2.5: must be a whole number"),
    ("threads = true", "threads = True: must be a whole number"),
    ("threads = 9223372036854775807", "is not in the range 1<=x<=256"),
    ("settle = nan", "settle = nan: must be a finite number"),
    ("settle = inf", "settle = inf: must be a finite number"),
    ("rescan-interval = nan", "rescan-interval = nan: must be a finite number"),
    ("settle = \"1\"", "settle = '1': must be a number"),
    ("polling = 1", "polling = 1: must be true or false"),
])
def test_a_settings_file_value_of_the_wrong_kind_is_one_line(tmp_path, line, says):
    config = tmp_path / "spe.toml"
    config.write_text(line + "\n")
    _refused(spe("watch", str(tmp_path), "--config", str(config), timeout=20), str(config),
             says)


def test_a_settings_file_that_is_no_file_is_refused_at_once(tmp_path):
    _refused(spe("batch-score", str(tmp_path), "--config", "/dev/zero", timeout=20),
             "/dev/zero: unreadable settings file (not a regular file)")
