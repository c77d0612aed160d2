"""`spe-train fit-accounts`: a model per account, here and on a real local Ray cluster.

Three synthetic accounts, one too small: one table with three outcomes, the models of
the two that fit written whole beside their cards, a rerun that passes over what is up
to date and refits what changed; on Ray, fit workers killed with SIGKILL mid-fit cost
that account's fit only, a rerun fits only what is missing, and the cards carry the
same cross-validated figures as the fits made here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import BIN, spe, spe_train

# `ray stop` at the end of a Ray module ends every cluster on the machine: with the
# cluster tests, one at a time.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]

FIT = ("--img-size", "96", "--folds", "2")  # the default recipe, kept short
ACCOUNTS = {"alpha": (24, 1), "beta": (24, 2), "tiny": (5, 3)}  # photos, seed


def table_rows(stdout: str) -> dict[str, str]:
    lines = stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["account", "photos"], stdout
    return {line.split()[0]: line for line in lines[1:]}


def card(models: Path, name: str) -> dict:
    return json.loads((models / f"{name}.json").read_text())


def figures(models: Path, name: str) -> tuple[float, ...]:
    quality = card(models, name)["expected_quality"]
    return (quality["spearman"]["mean"], quality["spearman"]["std"],
            quality["ridge_spearman"]["mean"], quality["ridge_spearman"]["std"])


@pytest.fixture(scope="module")
def accounts(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("accounts") / "accounts"
    for name, (n, seed) in ACCOUNTS.items():
        assert spe_train("synth", str(root / name), "--n", str(n), "--seed",
                         str(seed)).returncode == 0
    return root


@pytest.fixture(scope="module")
def fitted_here(accounts, tmp_path_factory):
    """The accounts fitted on this machine, two at a time."""
    models = tmp_path_factory.mktemp("models-here") / "models"
    proc = spe_train("fit-accounts", str(accounts), "--out", str(models), "--jobs", "2", *FIT,
                     timeout=1200)
    return models, proc


def test_three_accounts_give_three_outcomes_in_one_table(fitted_here, accounts):
    models, proc = fitted_here
    assert proc.returncode == 1, proc.stderr[-3000:]  # one account failed
    assert "Traceback" not in proc.stderr
    rows = table_rows(proc.stdout)
    assert list(rows) == ["alpha", "beta", "tiny"]
    for name in ("alpha", "beta"):
        assert re.match(rf"{name}\s+24\s+0\.\d{{3}} ± 0\.\d{{3}}\s+0\.\d{{3}} ± 0\.\d{{3}}\s+\d+"
                        r"\s+(better than|within the fold spread|NOT better than)", rows[name]), \
            rows[name]
        model = models / f"{name}.tflite"
        assert hashlib.sha256(model.read_bytes()).hexdigest() == card(models, name)["sha256"]
        assert card(models, name)["training"]["photos"] == 24
        assert (models / f"{name}.md").exists()
    assert "failed: " in rows["tiny"] and "5 photos; at least 10 needed" in rows["tiny"]
    assert not list(models.glob("tiny.*")) and not list(models.glob(".*"))
    # Each account's model scores as any model does.
    scored = spe("batch-score", str(accounts / "alpha" / "Images (jpg)"), "--model",
                 str(models / "alpha.tflite"), "--out", str(models.parent / "alpha.csv"))
    assert scored.returncode == 0 and scored.stderr.startswith("scored 24,"), scored.stderr


def test_a_rerun_passes_over_up_to_date_models_and_refits_what_changed(fitted_here,
                                                                      accounts):
    models, _ = fitted_here
    before = {name: (models / f"{name}.tflite").stat().st_mtime_ns for name in ("alpha", "beta")}
    again = spe_train("fit-accounts", str(accounts), "--out", str(models), *FIT, timeout=600)
    assert again.returncode == 1, again.stderr[-2000:]
    rows = table_rows(again.stdout)
    assert "up to date" in rows["alpha"] and "up to date" in rows["beta"]
    assert re.search(r"0\.\d{3} ± 0\.\d{3}", rows["alpha"])  # its card's figures
    assert "failed: " in rows["tiny"]
    for name, mtime in before.items():
        assert (models / f"{name}.tflite").stat().st_mtime_ns == mtime, name
    # beta posts again (its likes file changes): only beta is fitted again.
    likes = accounts / "beta" / "y_likes_data.txt"
    likes.write_text(likes.read_text() + "# a comment added later\n")
    third = spe_train("fit-accounts", str(accounts), "--out", str(models), *FIT, timeout=900)
    rows = table_rows(third.stdout)
    assert "up to date" in rows["alpha"] and "up to date" not in rows["beta"], third.stdout
    assert (models / "alpha.tflite").stat().st_mtime_ns == before["alpha"]
    assert (models / "beta.tflite").stat().st_mtime_ns > before["beta"]


def test_a_wrong_fit_option_is_one_line_before_any_fit(accounts, tmp_path):
    proc = spe_train("fit-accounts", str(accounts), "--out", str(tmp_path / "m"),
                     "--img-size", "lots")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("spe-train: fit-accounts: ")
    assert "--img-size" in proc.stderr and not (tmp_path / "m").exists()


def fit_workers() -> list[int]:
    """Ray workers running an account's fit (Ray titles them ray::fit_shipped)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(b"ray::fit_shipped"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def kill_fits_until_one_fails(run: subprocess.Popen, said: Path) -> int:
    """SIGKILL each fit worker 10 s into its fit, until the driver reports an account
    whose task died more often than Ray retries it; the number of kills."""
    seen: dict[int, float] = {}
    kills = 0
    while run.poll() is None and "its Ray task failed" not in said.read_text():
        now = time.monotonic()
        for pid in fit_workers():
            seen.setdefault(pid, now)
            if now - seen[pid] >= 10 and kills < 6:
                os.kill(pid, signal.SIGKILL)
                kills += 1
        time.sleep(0.5)
    return kills


@pytest.mark.cluster
def test_on_ray_a_killed_fit_costs_its_account_and_a_rerun_fits_only_what_is_missing(
        accounts, fitted_here, ray_address, tmp_path):
    models = tmp_path / "models"
    command = [str(BIN / "spe-train"), "fit-accounts", str(accounts), "--out", str(models),
               "--address", ray_address, "--cpus-per-account", "2", *FIT]
    said = tmp_path / "stderr.txt"
    with said.open("w") as err:
        run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True)
        kills = kill_fits_until_one_fails(run, said)
        out, _ = run.communicate(timeout=1200)
    assert kills >= 2 and run.returncode == 1, said.read_text()[-3000:]
    rows = table_rows(out)
    lost = [name for name, row in rows.items() if "its Ray task failed" in row]
    assert len(lost) == 1, out
    assert not list(models.glob(f"{lost[0]}.*")) and not list(models.glob(".*"))
    assert "5 photos; at least 10 needed" in rows["tiny"]

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=1200)
    assert rerun.returncode == 1 and "Traceback" not in rerun.stderr, rerun.stderr[-3000:]
    rows = table_rows(rerun.stdout)
    for name in ("alpha", "beta"):
        assert ("up to date" in rows[name]) == (name not in lost), rerun.stdout
        # Fitted on Ray or here, the same cross-validated figures.
        here, there = figures(fitted_here[0], name), figures(models, name)
        assert there == pytest.approx(here, abs=2e-3), name
