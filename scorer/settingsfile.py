"""`--config FILE.toml`: a settings file read into a command's defaults.

The file holds a table per command (`[watch]`, `[batch-score]`, `[rank]`, ...)
with the options' names as keys; settings outside any table apply to every
command that has them. Flags win, then `SPE_*` variables, then the file. A key
the command does not know, or a value its option would refuse, is one line
naming the file and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


def _fail(message: str) -> None:
    typer.echo(f"spe: {message}", err=True)
    raise typer.Exit(2)


def _section(data: dict[str, Any], command: str, path: Path) -> dict[str, Any]:
    """The command's own table, over the settings outside every table."""
    shared = {k: v for k, v in data.items() if not isinstance(v, dict)}
    own = data.get(command, {})
    if not isinstance(own, dict):
        _fail(f"{path}: [{command}] must be a table of settings")
    return {**shared, **own}


def load_settings_file(ctx: typer.Context, param: typer.CallbackParam,
                       value: Path | None) -> Path | None:
    """Click callback of --config (eager): the file's settings become the defaults."""
    if value is None:
        return value
    import tomllib

    try:
        data = tomllib.loads(value.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        _fail(f"{value}: unreadable settings file ({exc})")
    params = {str(p.name): p for p in ctx.command.params
              if p.name != "config" and p.param_type_name != "argument"}
    settings = {}
    for key, setting in _section(data, str(ctx.info_name), value).items():
        name = str(key).replace("-", "_")
        if name not in params:
            _fail(f"{value}: unknown setting {key!r} (known: "
                  f"{', '.join(sorted(n.replace('_', '-') for n in params))})")
        try:  # the type the option itself takes, so a bad value names the file and the key
            params[name].process_value(ctx, setting)
        except Exception as exc:  # noqa: BLE001 - click's own conversions raise several kinds
            reason = getattr(exc, "message", None) or str(exc)
            _fail(f"{value}: {key} = {setting!r}: {reason}")
        settings[name] = setting
    ctx.default_map = {**(ctx.default_map or {}), **settings}
    return value


ConfigOption = typer.Option(None, "--config", envvar="SPE_CONFIG", is_eager=True,
                            show_default="none", callback=load_settings_file,
                            metavar="FILE.toml",
                            help="Settings file: a [COMMAND] table of option names; "
                                 "flags and SPE_* variables win.")
