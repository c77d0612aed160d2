"""The trainer's narrator: each phase with its time, as timestamped lines in a log and as
a bar on a real terminal (a pty), a heartbeat while a step runs long, nothing with
--quiet. A real fit's phases are checked in test_backbone.py."""

from __future__ import annotations

import io
import re
import sys
import time

import pytest

from tests.helpers import run_on_a_terminal
from trainer.core import narrator as narrator_module
from trainer.core.narrator import Narrator, clock, phase

STAMP = r"\d\d:\d\d:\d\d"


def test_a_log_gets_timestamped_lines_for_each_phase_and_its_steps(monkeypatch):
    monkeypatch.setattr(narrator_module, "STEP_LINE_S", 0.0)
    out = io.StringIO()
    echo = Narrator(out, tty=False)
    echo("10 photos")
    with echo.phase("folds", steps=3) as progress:
        for _ in range(3):
            echo("fold line")
            progress.step()
    lines = out.getvalue().splitlines()
    assert lines[0] == "10 photos"
    assert re.fullmatch(rf"{STAMP} folds: started, 3 steps", lines[1]), lines
    steps = [line for line in lines if re.fullmatch(rf"{STAMP} folds: \d/3, .*", line)]
    assert len(steps) == 3 and "about 0:00 left" in steps[0] and "left" not in steps[-1]
    assert re.fullmatch(rf"{STAMP} folds: done in 0:00", lines[-1]), lines
    assert lines.count("fold line") == 3


def test_many_quick_steps_are_not_a_line_each():
    out = io.StringIO()
    echo = Narrator(out, tty=False)
    with echo.phase("photos", steps=1500) as progress:
        for _ in range(1500):
            progress.step()
    assert len(out.getvalue().splitlines()) == 2  # started, done


def test_a_long_step_gets_a_heartbeat(monkeypatch):
    monkeypatch.setattr(narrator_module, "HEARTBEAT_S", 0.3)
    monkeypatch.setattr(narrator_module, "REDRAW_S", 0.05)
    out = io.StringIO()
    echo = Narrator(out, tty=False)
    with echo.phase("export"):
        time.sleep(1.0)
    beats = re.findall(rf"^{STAMP} export: still working, 0:0\d so far$", out.getvalue(), re.M)
    assert 2 <= len(beats) <= 4, out.getvalue()


def test_quiet_keeps_the_outcome_and_shows_no_phase():
    out = io.StringIO()
    echo = Narrator(out, tty=False, quiet=True, kept_when_quiet=("Verdict:",))
    with echo.phase("features", steps=2) as progress:
        echo("features: 1536 pooled activations")
        progress.step()
        progress.step()
    echo("Verdict: better")
    assert out.getvalue() == "Verdict: better\n"


def test_the_summary_adds_up_each_phase_and_says_the_peak_memory():
    echo = Narrator(io.StringIO(), tty=False)
    for _ in range(2):
        with echo.phase("folds"):
            time.sleep(0.6)
    with echo.phase("export"):
        pass
    summary = echo.summary()
    match = re.fullmatch(r"took (\d:\d\d) \(folds (\d:\d\d), export 0:00\); peak memory "
                         r"([\d.]+) GB", summary)
    assert match, summary
    assert match[2] == "0:01"  # both runs of the phase, 1.2 s
    assert 0.01 < float(match[3]) < 4.0


def test_a_plain_echo_gets_a_silent_phase():
    said = []
    with phase(said.append, "features", 3) as progress:
        progress.step()
    assert said == []


def test_clock():
    assert clock(0) == "0:00" and clock(75.4) == "1:15" and clock(3725) == "1:02:05"


BAR_SCRIPT = """
import sys, time
from trainer.core.narrator import Narrator
echo = Narrator(sys.stderr)
echo("first message")
with echo.phase("features", steps=4) as progress:
    for _ in range(4):
        time.sleep(0.1)
        progress.step()
    echo("a message under the bar")
echo("last message")
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a pty")
def test_a_terminal_gets_a_bar_redrawn_under_the_messages():
    status, text = run_on_a_terminal([sys.executable, "-c", BAR_SCRIPT])
    assert status == 0
    assert "features [#####...............] 1/4" in text, text
    assert "features [####################] 4/4" in text
    # A message clears the bar's line first, then the bar is drawn again below it.
    assert "\r\x1b[Ka message under the bar\r\n" in text.replace("\r\r\n", "\r\n")
    assert "features: done in 0:00" in text
    assert text.rstrip().endswith("last message")
