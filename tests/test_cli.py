"""What people expect of a command line (issue 14, item 4), on the installed programs."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from tests.conftest import BIN, SAMPLES, spe, spe_train

COMMANDS = {"spe": ["batch-score", "watch", "info"],
            "spe-train": ["synth", "fit", "cv", "distil", "evaluate"]}
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*3[0-9]m|\x1b\[[0-9;]*38;")


def run(program: str, *args: str, env: dict | None = None, **kwargs):
    import os

    return subprocess.run([str(BIN / program), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120, **kwargs)


@pytest.mark.parametrize("program", ["spe", "spe-train"])
def test_version_and_short_help(program):
    proc = run(program, "--version")
    assert proc.returncode == 0 and re.fullmatch(rf"{program} \d+\.\d+\.\d+\n", proc.stdout)
    short, long = run(program, "-h"), run(program, "--help")
    assert short.returncode == 0 and short.stdout == long.stdout
    assert "--install-completion" in long.stdout  # shell completion is available


@pytest.mark.parametrize("program, command",
                         [(p, c) for p, commands in COMMANDS.items() for c in commands])
def test_every_help_shows_every_default(program, command):
    """Each option that has a default says it in the help ([... default: ...])."""
    proc = run(program, command, "--help", env={"COLUMNS": "250"})
    assert proc.returncode == 0, proc.stderr
    options = re.split(r"\n(?=  -)", proc.stdout.split("\nOptions:\n", 1)[1])
    assert options
    for block in options:
        name = re.search(r"(--[\w-]+)", block).group(1)
        if name.startswith("--help") or "required]" in block:
            continue  # nothing to default
        assert re.search(r"default:\s", block), f"{program} {command} {name} shows no default"


@pytest.mark.parametrize("program, command",
                         [(p, c) for p, commands in COMMANDS.items() for c in commands])
def test_every_help_reads_at_80_columns(program, command):
    """No line over 80 columns, no box, no option name cut short; a choice shows its
    values ([auto|exact|fast]); the usage line names its arguments as people write them."""
    proc = run(program, command, "--help", env={"COLUMNS": "80"})
    lines = proc.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert "│" not in proc.stdout and "…" not in proc.stdout
    assert re.match(rf"Usage: {program} {command} \[OPTIONS\]( [A-Z_]+(\.\.\.)?)*$", lines[0])
    if "--kernels" in proc.stdout:
        assert "--kernels <auto|exact|fast>" in proc.stdout


def test_help_has_no_colour_codes_even_when_colour_is_forced():
    """Plain help: nothing for NO_COLOR to turn off, nothing a pipe must strip."""
    for env in ({"FORCE_COLOR": "1", "TERM": "xterm-256color"}, {"NO_COLOR": "1"}):
        assert not ANSI_COLOUR.search(run("spe", "--help", env=env).stdout)


def test_paths_from_standard_input(tmp_path):
    photos = sorted(str(p) for p in SAMPLES.glob("*.jpg"))
    lines = spe("batch-score", "-", input="\n".join(photos) + "\n")
    assert lines.returncode == 0, lines.stderr
    nul = spe("batch-score", "-", "-0", input="\0".join(photos) + "\0")
    assert nul.returncode == 0, nul.stderr
    for proc in (lines, nul):
        assert sorted(row.split(",")[1] for row in proc.stdout.splitlines()[1:]) == photos


def test_info_json_prints_only_json():
    proc = spe("info", "--json")
    assert proc.returncode == 0
    data = json.loads(proc.stdout)
    assert data["id"] == data["card"]["sha256"][:12] and data["kernels"] in ("exact", "fast")


@pytest.mark.parametrize("toml, error", [
    ("[watch]\nthreds = 4\n", "unknown setting 'threds' (known: batch-size,"),
    ("[watch]\nthreads = \"four\"\n", "threads = 'four': "),
    ("[watch]\nthreads = 0\n", "threads = 0: "),
])
def test_config_errors_name_the_file_and_the_key(tmp_path, toml, error):
    (tmp_path / "in").mkdir()
    config = tmp_path / "spe.toml"
    config.write_text(toml)
    proc = spe("watch", str(tmp_path / "in"), "--config", str(config), timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"spe: {config}: {error}") and proc.stderr.count("\n") == 1


def test_trainer_usage_error_is_one_line(tmp_path):
    proc = spe_train("fit", str(tmp_path), "--out", str(tmp_path / "m.tflite"), "--folds", "1")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1


def test_spe_train_without_the_train_extra_is_one_line(tmp_path):
    """`pip install .` (the scorer's install) has no TensorFlow nor SciPy: before, `spe-train`
    was a ModuleNotFoundError traceback (exit 1)."""
    import sys

    shim = tmp_path / "shim"
    for name in ("scipy", "tensorflow"):
        (shim / name).mkdir(parents=True)
        (shim / name / "__init__.py").write_text(
            f"raise ModuleNotFoundError(\"No module named '{name}'\", name='{name}')\n")
    proc = subprocess.run([sys.executable, "-m", "trainer", "fit", str(tmp_path), "--out",
                           str(tmp_path / "m.tflite")], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(shim)}, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "spe-train: needs the train extra (scipy is not installed): pip install '.[train]' "
        "from the project's folder"], proc.stderr


def test_spe_train_reads_its_own_variables_not_spe_s(tmp_path):
    """SPE_N (or SPE_OUT, SPE_FORCE) set for `spe` must not reach `spe-train`: it reads
    SPE_TRAIN_<OPTION> (the contract)."""
    from tests.conftest import BIN

    def synth(env: dict) -> str:
        out = tmp_path / str(len(env))
        proc = subprocess.run([str(BIN / "spe-train"), "synth", str(out)], capture_output=True,
                              text=True, env={**os.environ, **env}, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return proc.stderr

    assert synth({"SPE_N": "7"}).startswith("wrote 300 pictures")
    assert synth({"SPE_N": "7", "SPE_TRAIN_N": "9", "SPE_FORCE": "1"}).startswith(
        "wrote 9 pictures")


def test_config_file_on_batch_score_and_rank(tmp_path):
    """--config works for every command that takes settings: a [COMMAND] table, and
    settings outside any table for every command that has them; a flag wins."""
    config = tmp_path / "spe.toml"
    config.write_text(f'kernels = "exact"\n[batch-score]\nout = "{tmp_path / "from-file.csv"}"\n')
    proc = spe("batch-score", str(SAMPLES / "grace_hopper.jpg"), "--config", str(config))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "from-file.csv").read_text().count("\n") == 2  # header and one row
    ranked = spe("rank", str(SAMPLES / "grace_hopper.jpg"), "--config", str(config),
                 "--kernels", "fast")
    assert ranked.returncode == 0, ranked.stderr
    config.write_text('[rank]\nthreds = 2\n')
    bad = spe("rank", str(SAMPLES), "--config", str(config))
    assert bad.returncode == 2 and bad.stderr.startswith(f"spe: {config}: unknown setting 'threds'")
