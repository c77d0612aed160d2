"""The shipped systemd unit: it verifies cleanly, rates SAFE, and its sandbox fits the scorer."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BIN, REPO, SAMPLES
from tests.helpers import AS_NOBODY

UNIT = REPO / "systemd" / "spe-watch.service"
needs_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                   reason="systemd-analyze is not installed")


def unit_with_real_binary(tmp_path: Path) -> Path:
    """The unit as installed, with ExecStart pointing at this environment's spe."""
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("/opt/spe/venv/bin/spe", str(BIN / "spe")))
    return unit


@needs_analyze
def test_unit_verifies_without_warnings(tmp_path):
    proc = subprocess.run(["systemd-analyze", "verify", str(unit_with_real_binary(tmp_path))],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "" and proc.stderr.strip() == ""


@needs_analyze
def test_unit_exposure_is_2_or_lower(tmp_path):
    proc = subprocess.run(["systemd-analyze", "security", "--offline=true",
                           str(unit_with_real_binary(tmp_path))], capture_output=True, text=True)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", proc.stdout)
    assert match, proc.stdout + proc.stderr
    assert float(match.group(1)) <= 2.0, proc.stdout


def test_unit_has_the_promised_directives():
    text = UNIT.read_text()
    for directive in ("Type=notify", "Restart=on-failure", "WatchdogSec=", "User=spe",
                      "ProtectSystem=strict", "ReadWritePaths=/var/lib/spe", "NoNewPrivileges=yes",
                      "PrivateTmp=yes", "PrivateDevices=yes", "ProtectHome=yes",
                      "RestrictAddressFamilies=AF_UNIX", "IPAddressDeny=any",
                      "SystemCallFilter=@system-service", "CapabilityBoundingSet=\n", "UMask=",
                      "MemoryDenyWriteExecute=yes"):
        assert directive in text, directive


# MemoryDenyWriteExecute= refuses memory that is, or becomes, both writable and
# executable. The kernel's PR_SET_MDWE (Linux 6.3+) enforces the same rule on a
# process and its children, so the scorer is run under it here.
MDWE = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    sys.exit(77)
os.execv(sys.argv[1], sys.argv[1:])
"""


@pytest.mark.parametrize("runtime", ["tflite-runtime", "litert"])
def test_scorer_runs_without_writable_executable_memory(runtime, tmp_path):
    out = tmp_path / "s.csv"
    proc = subprocess.run([sys.executable, "-c", MDWE, str(BIN / "spe"), "batch-score",
                           str(SAMPLES), "--runtime", runtime, "--out", str(out)],
                          capture_output=True, text=True)
    if proc.returncode == 77:
        pytest.skip("this kernel has no PR_SET_MDWE")
    assert proc.returncode == 0, proc.stderr
    assert "scored 5, skipped 0, failed 0" in proc.stderr


def test_pi_install_resolves_as_aarch64_wheels():
    """tools/check_pi_install.py: the base install for Python 3.11 and 3.13 on a Pi."""
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "check_pi_install.py")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for python in ("311", "313"):  # ai-edge-litert on both: the base install's runtime
        assert re.search(rf"ai_edge_litert-[\d.]+-cp{python}-cp{python}-manylinux_2_\d+_aarch64"
                         r"\.whl", proc.stdout), python
    assert "tflite_runtime" not in proc.stdout
    # The heic extra (pillow-heif, with libheif inside) for both Pythons.
    for python in ("311", "313"):
        assert re.search(rf"pillow_heif-[\d.]+-cp{python}-cp{python}-manylinux\S*aarch64\.whl",
                         proc.stdout), python
    assert "tensorflow" not in proc.stdout and "ray" not in proc.stdout.lower()


def exec_start(state: Path) -> list[str]:
    """The unit's ExecStart, with this environment's spe and ``state`` for /var/lib/spe."""
    line = next(x for x in UNIT.read_text().splitlines() if x.startswith("ExecStart="))
    command = line.split("=", 1)[1].replace("/opt/spe/venv/bin/spe", str(BIN / "spe"))
    return command.replace("/var/lib/spe", str(state)).split()


@pytest.mark.xdist_group("nobody")  # tests/test_many_folders.py lowers its inotify limit
def test_the_units_command_scores_a_photo_as_an_unprivileged_user():
    """As installed by the README: a state folder owned by the service's user, with the
    inbox, processed/ and failed/ in it as the unit's StateDirectory= makes them; the
    unit's own ExecStart line, run as that user (uid 65534 here), under journald's
    stream variable: log lines carry syslog priorities."""
    import os
    import signal
    import tempfile
    import time

    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root to run the command as another user")
    directives = dict(x.split("=", 1) for x in UNIT.read_text().splitlines()
                      if x.startswith(("StateDirectory=", "StateDirectoryMode=")))
    top = Path(tempfile.mkdtemp(prefix="spe-state-"))  # not under pytest's 0700 folder
    os.chmod(top, 0o755)
    state = top / "spe"
    try:
        for name in directives["StateDirectory"].split():  # spe, spe/inbox, ...
            folder = top / name
            folder.mkdir()
            os.chown(folder, 65534, 65534)
            os.chmod(folder, int(directives["StateDirectoryMode"], 8))
        log = top / "journal.log"
        with open(log, "wb") as handle:
            proc = subprocess.Popen([*AS_NOBODY, *exec_start(state)],
                                    stdout=handle, stderr=handle,
                                    env={**os.environ, "JOURNAL_STREAM": "8:12345"})
        try:
            deadline = time.monotonic() + 60
            while b"watching" not in log.read_bytes():
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
            photo = state / "inbox" / "first.jpg"
            photo.write_bytes((SAMPLES / "rocket.jpg").read_bytes())
            os.chown(photo, 65534, 65534)
            while not (state / "processed" / "first.jpg").exists():
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0
        rows = (state / "scores.csv").read_text().splitlines()
        assert len(rows) == 2 and rows[1].endswith(",ok,")
        lines = log.read_text().splitlines()
        assert lines and all(re.match(r"<[2-7]>", line) for line in lines), lines
        assert any(line.startswith("<6>scored ") for line in lines)
    finally:
        shutil.rmtree(top)
