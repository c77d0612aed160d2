"""Run a typer app so that every failure is one line on stderr with exit status 2.

Click's own usage errors print a usage block (or, with rich, a box); a script
reading stderr wants one line naming the problem, like every other spe error.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeAlias

import typer

from scorer.model.runtime import KERNELS, RUNTIMES

# -h as well as --help, on every command of both programs.
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}

# The choices of --runtime and --kernels, as typer reads them (a Literal lists them in
# --help and refuses others), for both programs; type checkers see plain strings.
if TYPE_CHECKING:
    RuntimeName: TypeAlias = str
    KernelsName: TypeAlias = str
else:
    RuntimeName, KernelsName = Literal[RUNTIMES], Literal[KERNELS]


def fail(message: str, code: int = 2, prog: str = "spe") -> NoReturn:
    """One line on stderr, ``PROG: MESSAGE``, and exit with ``code`` (2: bad input)."""
    typer.echo(f"{prog}: {message}", err=True)
    raise typer.Exit(code)


def add_version(app: typer.Typer, prog: str, version: str) -> None:
    """``PROG --version`` prints ``PROG VERSION`` and exits 0."""
    def show(value: bool) -> None:
        if value:
            typer.echo(f"{prog} {version}")
            raise typer.Exit()

    @app.callback()
    def _main(version: bool = typer.Option(False, "--version", callback=show, is_eager=True,
                                           help="Show the version and exit.")) -> None:
        pass


def _plain_usage(command: Any) -> None:
    """Usage lines as people write them (``spe watch [OPTIONS] INBOX``, ``PATH...``):
    typer writes a required argument as ``{inbox}``."""
    for sub in [command, *getattr(command, "commands", {}).values()]:
        for param in sub.params:
            if param.param_type_name != "argument":
                continue
            shown = param.metavar or (str(param.name).upper()
                                      + ("..." if param.nargs != 1 else ""))
            param.make_metavar = lambda ctx=None, usage=False, m=shown: m


def run_app(app: typer.Typer, prog: str) -> NoReturn:
    command = typer.main.get_command(app)
    _plain_usage(command)
    try:
        result = command.main(prog_name=prog, standalone_mode=False)
    except typer.Abort:
        typer.echo(f"{prog}: aborted", err=True)
        sys.exit(130)
    except typer.TyperException as exc:  # click's UsageError and friends
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()  # type: ignore[attr-defined]  # the help text, as a bare command shows
            sys.exit(2)
        message = " ".join(exc.format_message().split())
        ctx = getattr(exc, "ctx", None)
        where = f"{prog} {ctx.info_name}" if ctx and ctx.info_name != prog else prog
        typer.echo(f"{prog}: {message} (see '{where} --help')", err=True)
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(result if isinstance(result, int) else 0)
