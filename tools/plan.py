"""The house's plan, checked: packages in layers, nothing importing upward, no import
circle, no module taking another module's private (``_``) names, no package of more
than MAX_MODULES modules. Run by .ci/run beside ruff, mypy and tools/shape.py; the
layers below are the ones docs/ARCHITECTURE.md describes.

    python tools/plan.py [ROOT]      exit 1 naming each fault (ROOT: the repository)
    python tools/plan.py --layers    the package graph, layer by layer
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOPS = ("scorer", "trainer")
MAX_MODULES = 10
# Each package may import its own layer and those before it, never one after it.
# The scorer's first, then the trainer's, which stands on the scorer's.
LAYERS = [
    "scorer.core", "scorer.model", "scorer.photos", "scorer.ledger", "scorer.scoring",
    "scorer.watch", "scorer.cluster", "scorer.commands", "scorer",
    "trainer.core", "trainer.data", "trainer.networks", "trainer.export", "trainer.fitting",
    "trainer.accounts", "trainer",
]


@dataclass
class Module:
    name: str          # dotted: scorer.ledger.known
    path: Path
    package: str       # dotted package it sits in: scorer.ledger
    imports: dict[str, int] = field(default_factory=dict)     # module -> line
    private: list[tuple[int, str]] = field(default_factory=list)  # (line, what)


def modules(root: Path) -> dict[str, Module]:
    """Every module under the top packages, by dotted name."""
    found = {}
    for top in TOPS:
        for path in sorted((root / top).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_init = parts[-1] == "__init__"
            if is_init:
                parts = parts[:-1]
            name = ".".join(parts)
            package = name if is_init else ".".join(parts[:-1])
            found[name] = Module(name, path, package)
    return found


def _resolve(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.package.split(".")
    base = base[:len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def read_imports(module: Module, known: dict[str, Module]) -> None:
    """What ``module`` imports from the project (lazy imports too), and private names."""
    tree = ast.parse(module.path.read_text(encoding="utf-8"), str(module.path))
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    module.imports.setdefault(alias.name, node.lineno)
                    if alias.asname:
                        aliases[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, node)
            for alias in node.names:
                whole = f"{source}.{alias.name}"
                if whole in known:  # from package import module
                    module.imports.setdefault(whole, node.lineno)
                    aliases[alias.asname or alias.name] = whole
                elif source in known:
                    module.imports.setdefault(source, node.lineno)
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        module.private.append((node.lineno, f"{alias.name} from {source}"))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases and node.attr.startswith("_")
                and not node.attr.startswith("__")):
            module.private.append((node.lineno, f"{node.attr} of {aliases[node.value.id]}"))


def circles(known: dict[str, Module]) -> list[list[str]]:
    """The import circles among modules (each once, as the path that closes it)."""
    found, state = [], {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for target in sorted(known[name].imports):
            if target == name or known[target].package == name:
                continue  # a package's __init__ and its own modules
            if state.get(target) == "open":
                found.append(trail[trail.index(target):] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[name] = "done"

    for name in sorted(known):
        if name not in state:
            visit(name, [name])
    return found


def faults(root: Path) -> list[str]:
    """One line per fault of the plan in the tree at ``root``."""
    known = modules(root)
    for module in known.values():
        read_imports(module, known)
    lines = []
    for module in known.values():
        where = module.path.relative_to(root)
        for line, what in module.private:
            lines.append(f"{where}:{line}: takes a private name, {what}: make it public "
                         f"or move the code to the module that owns it")
        for target, line in module.imports.items():
            lines += _upward(module, known[target], where, line)
    for circle in circles(known):
        lines.append("import circle: " + " -> ".join(circle))
    lines += _crowded(known)
    return lines


def _upward(module: Module, target: Module, where: Path, line: int) -> list[str]:
    if target.name in TOPS:
        return []  # a top package's __init__ (its version), which every import runs anyway
    mine, theirs = _layer(module.package), _layer(target.package)
    if mine is None:
        return [f"{where}: package {module.package} is in no layer of tools/plan.py LAYERS"]
    if theirs is not None and theirs > mine:
        return [f"{where}:{line}: {module.package} imports {target.name}, a layer above it"]
    return []


def _layer(package: str) -> int | None:
    return LAYERS.index(package) if package in LAYERS else None


def _crowded(known: dict[str, Module]) -> list[str]:
    count: dict[str, int] = {}
    for module in known.values():
        if module.package != module.name and module.path.name != "__main__.py":
            count[module.package] = count.get(module.package, 0) + 1
    return [f"{package.replace('.', '/')}/ holds {n} modules (at most {MAX_MODULES}): "
            f"split it into packages" for package, n in sorted(count.items())
            if n > MAX_MODULES]


def show_layers(root: Path) -> str:
    known = modules(root)
    for module in known.values():
        read_imports(module, known)
    rows = []
    for package in LAYERS:
        below = sorted({known[t].package for m in known.values() if m.package == package
                        for t in m.imports} - {package})
        rows.append(f"{package:18} -> {', '.join(below) or '(nothing of the project)'}")
    return "\n".join(rows)


def main(args: list[str]) -> int:
    if args[:1] == ["--layers"]:
        print(show_layers(REPO))
        return 0
    root = Path(args[0]) if args else REPO
    found = faults(root)
    print("\n".join(found) or f"plan: {len(LAYERS)} packages in layers, nothing imports "
                               f"upward, no import circle, no private name taken")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
