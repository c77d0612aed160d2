"""The house's shape, checked: no function in scorer/ or trainer/ over 60 lines, no
class over 200 (the watcher's loop, `Watcher`, under 150). Run by .ci/run beside ruff,
whose C901 and PLR09 rules (pyproject.toml) bound the branching.

    python tools/shape.py [FOLDER...]      exit 1 naming each one too long
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MAX_FUNCTION_LINES = 60
MAX_CLASS_LINES = 200
# Classes held to less, where a split came undone before: the watcher's loop under 150.
CLASS_LIMITS = {"Watcher": 149}


def too_long(path: Path) -> list[str]:
    """One line per function or class in ``path`` past its limit."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        lines = (node.end_lineno or node.lineno) - node.lineno + 1 if hasattr(
            node, "lineno") else 0
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if lines > MAX_FUNCTION_LINES:
                found.append(f"{path}:{node.lineno}: function {node.name} has {lines} lines "
                             f"(at most {MAX_FUNCTION_LINES}): split it along its seams")
        elif isinstance(node, ast.ClassDef):
            limit = CLASS_LIMITS.get(node.name, MAX_CLASS_LINES)
            if lines > limit:
                found.append(f"{path}:{node.lineno}: class {node.name} has {lines} lines "
                             f"(at most {limit}): split it along its seams")
    return found


def main(folders: list[str]) -> int:
    roots = [Path(f) for f in folders] or [REPO / "scorer", REPO / "trainer"]
    found = [line for root in roots for path in sorted(root.rglob("*.py"))
             for line in too_long(path)]
    print("\n".join(found) or f"shape: every function <= {MAX_FUNCTION_LINES} lines, every "
                               f"class <= {MAX_CLASS_LINES} in {', '.join(map(str, roots))}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
