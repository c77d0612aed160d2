"""The command line of a Python child process that runs only the project's code.

``python -m scorer.model.modeltrial`` puts the working directory first on the import
path: run the daemon from a shared inbox (``cd inbox && spe watch .``), and a
folder ``scorer/`` dropped there would be the code of its next model trial, as
the daemon's user. So every child is started with ``-c`` and code that first
takes the working directory (``-c`` puts it first, as the empty entry) off its
path, then puts the folder this ``scorer`` package was imported from first where
it is not on the path already (a checkout), and runs the module. The Python paths
its parent was given (PYTHONPATH, site-packages) stay as they were: they are the
operator's, not the working directory's.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The folder holding the scorer (and trainer) packages in use.
PROJECT_ROOT = str(Path(__file__).resolve().parents[2])

# Put ahead of the standard library, site-packages could shadow it: the root goes first
# only when it is not on the path at all.
_RUN = ("import sys; sys.path[:1] = [p for p in sys.path[:1] if p]; "
        "{root!r} in sys.path or sys.path.insert(0, {root!r}); import runpy; "
        "runpy.run_module({module!r}, run_name='__main__', alter_sys=True)")


def module_command(module: str, *args: str) -> list[str]:
    """``python -m MODULE ARGS...`` without the working directory on its import path;
    ``module`` is found in PROJECT_ROOT or on the parent's own paths."""
    return [sys.executable, "-c", _RUN.format(root=PROJECT_ROOT, module=module), *args]
