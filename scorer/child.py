"""The command line of a Python child process that runs only the project's code.

``python -m scorer.modeltrial`` puts the working directory first on the import
path: run the daemon from a shared inbox (``cd inbox && spe watch .``), and a
folder ``scorer/`` dropped there would be the code of its next model trial, as
the daemon's user. So every child runs in isolated mode (``-I``: neither the
working directory, nor PYTHON* variables, nor the user's site-packages on its
path) with one path put first on purpose: the folder this ``scorer`` package
was imported from (site-packages when installed, the checkout when run from
one).
"""

from __future__ import annotations

import sys
from pathlib import Path

# The folder holding the scorer (and trainer) packages in use.
PROJECT_ROOT = str(Path(__file__).resolve().parent.parent)

# The root goes first only where it is not on the path already (a checkout): put ahead
# of the standard library, site-packages could shadow it.
_RUN = ("import runpy, sys; {root!r} in sys.path or sys.path.insert(0, {root!r}); "
        "runpy.run_module({module!r}, run_name='__main__', alter_sys=True)")


def module_command(module: str, *args: str) -> list[str]:
    """``python -m MODULE ARGS...``, isolated from the working directory and the
    environment's Python paths; ``module`` is found in PROJECT_ROOT or site-packages."""
    return [sys.executable, "-I", "-c", _RUN.format(root=PROJECT_ROOT, module=module), *args]
