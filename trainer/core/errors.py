"""The trainer's exceptions, each carrying the one line a person reads; the CLI maps them
to exit statuses in one place (trainer/cli.py)."""

from __future__ import annotations


class TrainerError(Exception):
    """Base class: training cannot go on (exit 2)."""


class DataError(TrainerError):
    """Training data is unusable; the message is one line naming the file (and line)."""


class ExportError(TrainerError):
    """The exported model cannot be verified (a runtime fails on it, or none is installed)."""


class WorseModelError(TrainerError):
    """The new model measures worse than the one it would replace (exit 1 unless --force)."""


class WeightsError(TrainerError):
    """Pretrained weights cannot be had or trusted (missing offline, sha256 differs, a file
    that is not plain weights); the message says how to get them."""
