"""The plan of the house: docs/ARCHITECTURE.md against the tree, and tools/plan.py's
gate (layers, circles, private names, crowded folders) on the tree and on planted faults."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
import plan  # noqa: E402

PAGE = REPO / "docs" / "ARCHITECTURE.md"


def packages() -> set[str]:
    """Every package of the two halves, as a folder path: scorer/ledger/."""
    return {f"{p.parent.relative_to(REPO)}/" for top in plan.TOPS
            for p in (REPO / top).rglob("__init__.py")}


def test_every_package_is_on_the_page_and_every_named_one_exists():
    text = PAGE.read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:scorer|trainer)/(?:[a-z_]+/)*)`", text))
    assert packages() - named == set(), "packages the page does not describe"
    assert named - packages() == set(), "packages the page names that do not exist"


def test_every_module_the_page_names_exists():
    text = PAGE.read_text(encoding="utf-8")
    for folder, row in re.findall(r"\| `((?:scorer|trainer)/(?:[a-z_]+/)*)` \| (.*) \|", text):
        for module in re.findall(r"`([a-z_]+\.py)`", row):
            assert (REPO / folder / module).is_file(), f"{folder}{module}"
    for path in re.findall(r"`((?:scorer|trainer)/[a-z_/]+\.py)`", text):
        assert (REPO / path).is_file(), path


def test_every_package_has_a_layer_and_a_one_line_docstring():
    for folder in packages():
        dotted = folder.rstrip("/").replace("/", ".")
        assert dotted in plan.LAYERS, f"{dotted} is in no layer of tools/plan.py"
        first = (REPO / folder / "__init__.py").read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith('"""') and first.endswith('"""') and len(first) > 20, folder


def test_the_tree_passes_the_plan():
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "plan.py")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def small_house(root: Path, files: dict[str, str]) -> Path:
    """A tree of the two top packages with the given modules (paths under root)."""
    for top in ("scorer", "trainer"):
        for package in ("", "/core", "/model"):
            (root / f"{top}{package}").mkdir(parents=True, exist_ok=True)
            (root / f"{top}{package}" / "__init__.py").write_text('"""A package."""\n')
    for path, source in files.items():
        (root / path).write_text(source)
    return root


@pytest.mark.parametrize("files, fault", [
    ({"scorer/core/a.py": "from scorer.model.b import _hidden\n",
      "scorer/model/b.py": "_hidden = 1\n"}, "takes a private name, _hidden"),
    ({"scorer/model/b.py": "import scorer.core.a as a\n\nprint(a._hidden)\n",
      "scorer/core/a.py": "_hidden = 1\n"}, "takes a private name, _hidden of scorer.core.a"),
    ({"scorer/core/a.py": "from scorer.model.b import shown\n",
      "scorer/model/b.py": "shown = 1\n"}, "scorer.core imports scorer.model.b, a layer above"),
    ({"scorer/model/a.py": "from scorer.model.b import x\ny = 1\n",
      "scorer/model/b.py": "def f():\n    from scorer.model.a import y\n    return y\nx = 1\n"},
     "import circle: scorer.model.a -> scorer.model.b -> scorer.model.a"),
    ({**{f"scorer/core/m{i}.py": "x = 1\n" for i in range(11)}},
     "scorer/core/ holds 11 modules (at most 10)"),
])
def test_the_plan_fails_on_a_planted_fault(tmp_path, files, fault):
    found = plan.faults(small_house(tmp_path, files))
    assert any(fault in line for line in found), found


def test_the_plan_passes_a_small_house_without_faults(tmp_path):
    files = {"scorer/core/a.py": "shown = 1\n_mine = 2\nprint(_mine)\n",
             "scorer/model/b.py": "from scorer.core.a import shown\n\nprint(shown)\n",
             "trainer/core/c.py": "from scorer.model import b\n\nprint(b.__name__)\n"}
    assert plan.faults(small_house(tmp_path, files)) == []
