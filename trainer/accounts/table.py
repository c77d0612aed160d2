"""The one table `fit-accounts` ends with: per account, its photos, the cross-validated
Spearman of its model (int8, as it ships) with the folds' spread, the ridge baseline's,
the verdict and the seconds its fit took."""

from __future__ import annotations

from trainer.accounts.task import Outcome

HEADER = ("account", "photos", "Spearman (cv)", "ridge baseline", "verdict", "seconds")


def verdict(outcome: Outcome) -> str:
    """A few words: the fit's own verdict against the ridge baseline, or why there is none."""
    if outcome.status == "failed":
        return f"failed: {outcome.reason}"
    if outcome.status == "not replaced":
        return f"not replaced: {outcome.reason}"
    said = str(((outcome.card or {}).get("expected_quality") or {}).get("verdict", ""))
    words = ("better than the ridge baseline" if " is better than" in said else
             "within the fold spread" if "ahead of the ridge baseline" in said else
             "NOT better than the ridge baseline" if "NOT better" in said else "fitted")
    return f"up to date, {words}" if outcome.status == "up to date" else words


def _spread(quality: dict, key: str) -> str:
    try:
        return f"{float(quality[key]['mean']):.3f} ± {float(quality[key]['std']):.3f}"
    except (KeyError, TypeError, ValueError):
        return "-"


def row(outcome: Outcome) -> tuple[str, ...]:
    card = outcome.card or {}
    quality = card.get("expected_quality") or {}
    photos = (card.get("training") or {}).get("photos")
    return (outcome.name, str(photos) if photos is not None else "-",
            _spread(quality, "spearman"), _spread(quality, "ridge_spearman"), verdict(outcome),
            f"{outcome.seconds:.0f}" if outcome.seconds else "-")


def table(outcomes: list[Outcome]) -> str:
    rows = [HEADER, *(row(o) for o in outcomes)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER) - 2)]
    lines = []
    for r in rows:
        # The verdict can be long (a failure's reason): it goes last but one, unpadded
        # columns after it would not line up, so the seconds come before it.
        cells = [c.ljust(w) for c, w in zip(r[:-2], widths, strict=True)]
        lines.append("  ".join([*cells, r[-1].rjust(7), r[-2]]).rstrip())
    return "\n".join(lines)
