"""`--config FILE.toml`: a settings file read into a command's defaults.

The file holds a table per command (`[watch]`, `[batch-score]`, `[rank]`, ...)
with the options' names as keys; settings outside any table apply to every
command that has them. Flags win, then `SPE_*` variables, then the file. A key
the command does not know, or a value its option would refuse, is one line
naming the file and the key.
"""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path
from typing import Any

import typer

from scorer.commands.cliutil import fail

MAX_SETTINGS_BYTES = 1 << 20  # a settings file is a few lines


def _section(data: dict[str, Any], command: str, path: Path) -> dict[str, Any]:
    """The command's own table, over the settings outside every table."""
    shared = {k: v for k, v in data.items() if not isinstance(v, dict)}
    own = data.get(command, {})
    if not isinstance(own, dict):
        fail(f"{path}: [{command}] must be a table of settings")
    return {**shared, **own}


def load_settings_file(ctx: typer.Context, param: typer.CallbackParam,
                       value: Path | None) -> Path | None:
    """Click callback of --config (eager): the file's settings become the defaults."""
    if value is None:
        return value
    import tomllib

    try:
        data = tomllib.loads(_read_bounded(value).decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        fail(f"{value}: unreadable settings file ({getattr(exc, 'strerror', None) or exc})")
    params = {str(p.name): p for p in ctx.command.params
              if p.name != "config" and p.param_type_name != "argument"}
    settings = {}
    for key, setting in _section(data, str(ctx.info_name), value).items():
        name = str(key).replace("-", "_")
        if name not in params:
            fail(f"{value}: unknown setting {key!r} (known: "
                  f"{', '.join(sorted(n.replace('_', '-') for n in params))})")
        wrong = _wrong_kind(params[name].type.name, setting)
        if wrong:
            fail(f"{value}: {key} = {setting!r}: {wrong}")
        try:  # the type the option itself takes, so a bad value names the file and the key
            params[name].process_value(ctx, setting)
        except Exception as exc:  # noqa: BLE001 - click's own conversions raise several kinds
            reason = getattr(exc, "message", None) or str(exc)
            fail(f"{value}: {key} = {setting!r}: {reason}")
        settings[name] = setting
    ctx.default_map = {**(ctx.default_map or {}), **settings}
    return value


ConfigOption = typer.Option(None, "--config", envvar="SPE_CONFIG", is_eager=True,
                            show_default="none", callback=load_settings_file,
                            metavar="FILE.toml",
                            help="Settings file: a [COMMAND] table of option names; "
                                 "flags and SPE_* variables win.")


def _read_bounded(path: Path) -> bytes:
    """The file's bytes, if it is a regular file of at most MAX_SETTINGS_BYTES (``--config
    /dev/zero`` read without end); OSError otherwise."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(0, "not a regular file")
        if info.st_size > MAX_SETTINGS_BYTES:
            raise OSError(0, f"larger than {MAX_SETTINGS_BYTES:,} bytes")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(MAX_SETTINGS_BYTES + 1)
    finally:
        os.close(fd)


def _wrong_kind(kind: str, setting: Any) -> str:
    """Why a TOML value is not of the option's kind ("" when it is): click would take
    ``threads = 2.5`` as 2 and ``threads = true`` as 1."""
    if kind.startswith(("int", "integer")) and (isinstance(setting, bool)
                                               or not isinstance(setting, int)):
        return "must be a whole number"
    if kind.startswith("float"):
        if isinstance(setting, bool) or not isinstance(setting, (int, float)):
            return "must be a number"
        if not math.isfinite(setting):
            return "must be a finite number"
    if kind == "boolean" and not isinstance(setting, bool):
        return "must be true or false"
    return ""
