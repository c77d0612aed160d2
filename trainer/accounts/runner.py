"""`spe-train fit-accounts`: every account's fit, here (one or several at a time, each
in a fresh process) or on a Ray cluster (one task per account), and each model written
by this process, whole, as soon as its fit is done.

Only the driver writes the models folder: each file of an account through a temporary
name, synced and renamed, the ``.tflite`` last. A fit that is killed (its process, its
Ray worker, or this driver) costs that account's fit and nothing else: the models
already written are up to date, and a rerun fits only the rest.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path

from scorer.core.ownfiles import write_file
from trainer.accounts.listing import Account, previous_card, up_to_date
from trainer.accounts.task import AccountJob, Outcome, fit_account, fit_shipped, reason_of
from trainer.core.fds import redirected
from trainer.core.recipe import FitOptions

# Ray runs a task again when its worker dies (a fit has no effect outside its own
# temporary folder, so running it twice is safe); a second death is the account's failure.
RAY_RETRIES = 1


@dataclass(frozen=True)
class Plan:
    # The command's options, whose defaults are the CLI's (one place).
    models: Path
    options: FitOptions
    force: bool
    jobs: int                  # fits at once on this machine
    address: str | None        # a Ray cluster: one task per account
    cpus_per_account: float    # what Ray reserves for each fit


def fit_all(accounts: list[Account], plan: Plan, weights: Callable[[], bytes | None],
            on_done: Callable[[Outcome], None]) -> list[Outcome]:
    """Every account's outcome, in the accounts' order; each written as it comes.
    ``weights`` gives the backbone's weights file, asked only when there is a fit."""
    outcomes: dict[str, Outcome] = {}
    todo = []
    for account in accounts:
        if not plan.force and up_to_date(account, plan.models):
            outcomes[account.name] = Outcome(account.name, "up to date",
                                             card=previous_card(account, plan.models))
            on_done(outcomes[account.name])
        else:
            todo.append(AccountJob(account.name, str(account.folder), plan.options, plan.force,
                                   previous=_current_files(account, plan.models)))

    def done(outcome: Outcome) -> None:
        write_outcome(outcome, plan.models)
        outcomes[outcome.name] = outcome
        on_done(outcome)

    if todo and plan.address is not None:
        _on_ray(todo, plan, weights(), done)
    elif todo:
        _here(todo, plan.jobs, weights(), done)
    return [outcomes[a.name] for a in accounts]


def write_outcome(outcome: Outcome, models: Path) -> None:
    """The account's files into ``models``, each whole; the model itself last, so that a
    model is never there without its card."""
    models.mkdir(parents=True, exist_ok=True)
    for name in sorted(outcome.files, key=lambda n: n.endswith(".tflite")):
        write_file(models / name, outcome.files[name])


def _current_files(account: Account, models: Path) -> dict[str, bytes]:
    """The account's current model and card, for the fit's gate."""
    files = {}
    for suffix in (".tflite", ".json"):
        path = models / f"{account.name}{suffix}"
        try:
            files[path.name] = path.read_bytes()
        except OSError:
            return {}
    return files


def _here(todo: list[AccountJob], jobs: int, weights: bytes | None,
          done: Callable[[Outcome], None]) -> None:
    """``jobs`` fits at once, each in a fresh spawned process of its own (TensorFlow's
    state does not carry from one account to the next, and a process that dies costs
    only its own account)."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(_in_own_process, replace(job, weights=weights))
                   for job in todo]
        for future in as_completed(futures):
            done(future.result())


def _in_own_process(job: AccountJob) -> Outcome:
    context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            return pool.submit(fit_account, job).result()
    except BrokenProcessPool:
        return Outcome(job.name, "failed", reason="its fit's process died (killed, or out of "
                                                  "memory?); a rerun fits it again")
    except Exception as exc:  # noqa: BLE001 - one account's fault, said in its row
        return Outcome(job.name, "failed", reason=f"its fit stopped on {type(exc).__name__}: "
                                                  f"{reason_of(exc, 200)}")


def _on_ray(todo: list[AccountJob], plan: Plan, weights: bytes | None,
            done: Callable[[Outcome], None]) -> None:
    """One Ray task per account, each on a fresh worker (``max_calls=1``) with the CPUs
    one fit needs; the weights are put in the object store once and shipped to each."""
    from scorer.cluster.driver import connect, import_ray

    ray = import_ray("fit-accounts")
    connect(ray, plan.address)
    task = ray.remote(num_cpus=plan.cpus_per_account, max_calls=1,
                      max_retries=RAY_RETRIES)(fit_shipped)
    # The C++ core of Ray's driver writes its notices of dead workers to standard output,
    # where the table goes: to standard error with them.
    with redirected(1, 2):
        shipped = ray.put(weights)
        pending = {task.remote(job, shipped): job for job in todo}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                job = pending.pop(ref)
                try:
                    outcome = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - a worker's death, said in the row
                    outcome = Outcome(job.name, "failed", reason=_ray_reason(exc))
                done(outcome)


def _ray_reason(exc: BaseException) -> str:
    if type(exc).__name__ in ("WorkerCrashedError", "NodeDiedError"):
        return (f"its Ray task failed: its worker died on each of its {RAY_RETRIES + 1} tries "
                "(killed, or out of memory?); a rerun fits it again")
    return f"its Ray task failed: {reason_of(exc, 200)}"
