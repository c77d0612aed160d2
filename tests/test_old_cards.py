"""Cards written by an earlier main (6a62a89, before the card's sections were typed)
still load, and every reader says of them what that main said: `spe info`, the rank
page's summary and NAME.md, all three now through scorer/model/cardtext.py."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from scorer.model import cardtext
from scorer.model.card import read_card
from tests.conftest import REPO
from trainer.export.card_md import render

OLD = REPO / "tests" / "cards" / "main-6a62a89"  # written and rendered by that main's code
CARDS = ("default", "scratch", "student")  # a backbone's, one from nothing, a distilled one


@pytest.mark.parametrize("name", CARDS)
def test_an_old_card_loads_with_its_sections_typed(name):
    card = read_card(OLD / f"{name}.tflite")
    raw = json.loads((OLD / f"{name}.json").read_text())
    assert card.to_json()["metrics"] == raw["metrics"]
    assert (card.quality is not None) == ("expected_quality" in raw)
    assert (card.backbone is not None) == (name == "default")
    assert (card.distillation is not None) == (name == "student")
    assert card.running_cost is not None and card.running_cost.size_bytes == raw["size_bytes"]
    assert set(card.kernel_figures) == set(raw["kernels"])
    assert card.validation is not None and "int8" in card.validation.rows


@pytest.mark.parametrize("name", CARDS)
def test_name_md_and_the_page_say_what_that_main_said(name):
    card = read_card(OLD / f"{name}.tflite")
    plots = [f"{name}.predicted.png", f"{name}.loss.png"]
    assert render(card, plots) == (OLD / f"{name}.md").read_text()
    summaries = json.loads((OLD / "page-summaries.json").read_text())
    assert cardtext.summary(card) == summaries[name]


def test_spe_info_says_what_that_main_said():
    proc = subprocess.run([sys.executable, "-m", "scorer", "info", "--model",
                           str(OLD / "student.tflite"), "--runtime", "litert"],
                          capture_output=True, text=True, check=True)
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("model:") and lines[1].startswith("card:")
    assert "\n".join(lines[2:]) + "\n" == (OLD / "student.info.txt").read_text()


@pytest.mark.parametrize("section, key, value", [
    ("cost", "size_bytes", float("inf")),      # json writes and reads Infinity
    ("cost", "members", "three"),
    ("distilled_from", "check_photos", float("nan")),
])
def test_a_section_value_of_the_wrong_kind_is_never_a_traceback(tmp_path, section, key, value):
    raw = json.loads((OLD / "student.json").read_text())
    (raw["training"] if section == "distilled_from" else raw)[section][key] = value
    (tmp_path / "student.json").write_text(json.dumps(raw))
    (tmp_path / "student.tflite").write_bytes((OLD / "student.tflite").read_bytes())
    proc = subprocess.run([sys.executable, "-m", "scorer", "info", "--model",
                           str(tmp_path / "student.tflite"), "--runtime", "litert"],
                          capture_output=True, text=True)
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 0 or (proc.returncode == 2
                                    and len(proc.stderr.strip().splitlines()) == 1), proc.stderr
