"""scorer/core/settings.py: one owner per scoring setting, and every default defined once."""

from __future__ import annotations

import re

import pytest

from scorer.core import settings
from scorer.core.settings import BATCH, DEFAULTS, MIB, RANK, WATCH, Scoring
from tests.conftest import REPO

SETTINGS = ("threads", "model_threads", "batch_size", "max_pixels", "max_memory", "runtime",
            "kernels", "rescan_interval")
# A setting given a literal default (a parameter's or a field's, annotated as every one
# here is) anywhere but scorer/core/settings.py: ``threads: int = 2``, ``runtime: str = "auto"``.
# Calls that pass a value on purpose (``Model(path, threads=1)``) are not defaults.
RESTATED = re.compile(rf"\b({'|'.join(SETTINGS)})\s*:[^=\n]+=\s*(\d|\"auto\")")


def test_from_options_converts_the_memory_once_and_keeps_defaults():
    made = Scoring.from_options(64, threads=3, runtime=None)
    assert made.max_memory == 64 * MIB and made.threads == 3
    assert made.runtime == DEFAULTS.runtime and made.batch_size == settings.BATCH_SIZE
    assert Scoring.from_options(None).max_memory == settings.DEFAULT_MAX_MEMORY_MIB * MIB


@pytest.mark.parametrize("policy, force, skip_failed, follow_symlinks, missing_ok", [
    (BATCH, False, False, True, False),
    (RANK, True, False, True, False),
    (WATCH, False, True, False, True),
])
def test_the_policies(policy, force, skip_failed, follow_symlinks, missing_ok):
    assert (policy.force, policy.skip_failed, policy.follow_symlinks, policy.missing_ok) == (
        force, skip_failed, follow_symlinks, missing_ok)


def test_no_scorer_module_restates_a_default():
    restated = []
    for path in sorted((REPO / "scorer").glob("*.py")):
        if path.name == "settings.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if RESTATED.search(line.split("#")[0]):
                restated.append(f"{path.name}:{number}: {line.strip()}")
    assert restated == [], "defaults belong in scorer/core/settings.py"


def test_the_gate_would_see_a_restated_default():
    assert RESTATED.search("def rank(paths, threads: int = 2) -> None:")
    assert RESTATED.search('    kernels: str = "auto"')
    assert not RESTATED.search("    threads: int = DEFAULT_THREADS")
    assert not RESTATED.search("    model = Model(path, threads=1)")
