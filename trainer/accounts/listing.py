"""An accounts folder: one sub-folder per account, each in a layout the trainer reads,
and the model of each in a models folder (``MODELS/<name>.tflite`` with its card).

A model is up to date when it is newer than every file of its account's folder and
its card still describes it (the sha256 matches): then `fit-accounts` passes over it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from scorer.core.errors import SpeError
from scorer.model.card import card_path_for, read_card
from trainer.core.errors import DataError


@dataclass(frozen=True)
class Account:
    name: str
    folder: Path

    def model(self, models: Path) -> Path:
        return models / f"{self.name}.tflite"


def list_accounts(root: Path) -> list[Account]:
    """Every visible sub-folder of ``root``, by name; one line when there are none."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as exc:
        raise DataError(f"{root}: {exc.strerror or exc}") from None
    accounts = [Account(e.name, Path(e.path)) for e in entries
                if e.is_dir() and not e.name.startswith(".")]
    if not accounts:
        raise DataError(f"{root}: no account folders (one sub-folder per account, each with "
                        "its photos and likes)")
    return accounts


def newest_change_ns(folder: Path) -> int:
    """The latest modification time of the folder, its sub-folders and their files."""
    newest = os.stat(folder).st_mtime_ns
    for parent, dirs, files in os.walk(folder):
        for name in dirs + files:
            try:
                newest = max(newest, os.stat(os.path.join(parent, name)).st_mtime_ns)
            except OSError:
                continue  # gone while listed: the fit will say so if it matters
    return newest


def up_to_date(account: Account, models: Path) -> bool:
    """Its model is newer than its data, and the card beside it is the model's."""
    model = account.model(models)
    try:
        built = os.stat(model).st_mtime_ns
        card = read_card(model)
    except (OSError, SpeError):
        return False
    if hashlib.sha256(model.read_bytes()).hexdigest() != card.sha256:
        return False  # a card and a model of two different fits (a cut between writes)
    return built > newest_change_ns(account.folder)


def previous_card(account: Account, models: Path) -> dict | None:
    """The card of the account's current model, as JSON, or None."""
    try:
        return json.loads(card_path_for(account.model(models)).read_text())
    except (OSError, ValueError):
        return None
