"""`spe-train fit-accounts ACCOUNTS --out MODELS [FIT_OPTIONS]`: what it says and does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from trainer.accounts.listing import list_accounts
from trainer.accounts.runner import Plan, fit_all
from trainer.accounts.table import table, verdict
from trainer.accounts.task import Outcome
from trainer.core.errors import DataError
from trainer.core.recipe import FitOptions


def run_fit_accounts(root: Path, models: Path, options: FitOptions, settings: dict,
                     echo: Callable[[str], None]) -> bool:
    """Fit every account, print the table on standard output; True if any failed."""
    import typer

    if models.exists() and not models.is_dir():
        raise DataError(f"{models}: not a folder (--out is the folder of the models)")
    accounts = [a for a in list_accounts(root) if a.folder.resolve() != models.resolve()]
    plan = Plan(models, options, **settings)
    cpus = f"{plan.cpus_per_account:g} CPU" + ("" if plan.cpus_per_account == 1 else "s")
    where = (f"as Ray tasks on {plan.address} ({cpus} each)"
             if plan.address else f"{plan.jobs} at a time on this machine")
    echo(f"{len(accounts)} accounts in {root}, their models in {models}; fitting {where}")

    def said(outcome: Outcome) -> None:
        if outcome.status == "up to date":
            echo(f"{outcome.name}: up to date (its model is newer than its data)")
        elif outcome.failed:
            echo(f"{outcome.name}: {verdict(outcome)} (after {outcome.seconds:.0f} s)")
        else:
            echo(f"{outcome.name}: fitted in {outcome.seconds:.0f} s: {verdict(outcome)}")

    outcomes = fit_all(accounts, plan, lambda: _weights(options, echo), said)
    typer.echo(table(outcomes))
    return any(o.failed for o in outcomes)


def _weights(options: FitOptions, echo: Callable[[str], None]) -> bytes | None:
    """The backbone's weights, fetched (or read) once here and shipped to every fit."""
    if options.backbone == "none":
        return None
    from trainer.networks.backbone import BACKBONES
    from trainer.networks.weights import weights_bytes

    given = Path(options.given_weights) if options.given_weights else None
    return weights_bytes(BACKBONES[options.backbone].weights, given, echo)[0]
