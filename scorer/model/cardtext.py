"""The card in words: the one renderer of its sections that `spe info`, the rank page
and NAME.md share, so each says the same thing of a model in the same words."""

from __future__ import annotations

from scorer.model.card import ModelCard
from scorer.model.runtime import kernels_reason


def backbone(card: ModelCard) -> str | None:
    """The pretrained network the model stands on, its weights and their licence, in one
    line; None for a model trained from nothing."""
    section = card.backbone
    if section is None:
        return None
    w = section.weights
    return (f"{section.name} ({w.origin}; weights sha256 {w.sha256[:16]}..., from {w.source}; "
            f"licence: {w.licence})")


def quality(card: ModelCard, digits: int = 3) -> str | None:
    """The expected ranking quality, ``Spearman M ± S``; None when not cross-validated."""
    section = card.quality
    if section is None:
        return None
    q = section.spearman
    return f"Spearman {q.mean:.{digits}f} ± {q.std:.{digits}f}"


def distilled(card: ModelCard) -> str | None:
    """Which model a distilled one follows, and how closely; None if not distilled."""
    section = card.distillation
    if section is None:
        return None
    return (f"from {section.teacher_file} ({section.teacher}), which it follows with Spearman "
            f"{section.spearman_with_teacher:.3f} on {section.check_photos} photos it did not "
            "train on")


def validation(card: ModelCard) -> list[tuple[str, str]]:
    """(row, its figures) for the model and the baselines on the validation photos."""
    section = card.validation
    if section is None:
        return []
    teachers = " (the teacher's)" if card.distillation else ""
    return [(name, f"MAE {row.mae:.1f}, RMSE {row.rmse:.1f}, Spearman {row.spearman:.3f} on "
                   f"{section.n} validation photos{teachers}")
            for name, row in section.rows.items() if name != "ridge baseline"]


def kernels(card: ModelCard) -> dict[str, str]:
    """Per runtime, whether ``--kernels auto`` uses the fast kernels and why."""
    return {runtime: kernels_reason(measured) for runtime, measured in
            (card.kernels or {}).items() if isinstance(measured, dict)}


def network(card: ModelCard) -> str:
    """What the network is: a head on a backbone, or networks trained from nothing."""
    stands_on = backbone(card)
    if stands_on:
        return f"a ridge head on {stands_on}"
    members = card.running_cost.members if card.running_cost else 1
    return f"{card.training.get('architecture', '?')}, {members} network(s)"


def summary(card: ModelCard) -> str:
    """The model in two sentences, for the top of the rank page."""
    expected = quality(card, digits=2)
    if expected:
        measured = (f"cross-validated {expected} "
                    + ("(of the model it was distilled from) " if card.distillation else "")
                    + "(1 is a perfect ranking, 0 no better than chance)")
    else:
        spearman = card.measured_spearman
        measured = (f"Spearman {spearman:.2f} on held-out photos" if spearman is not None
                    else "quality not measured")
    stands_on = backbone(card)
    return (f"Model {card.model_id}, trained {card.created_at[:10]} on "
            f"{card.likes.get('n', '?')} photos; {measured}."
            + (f" It stands on {stands_on}." if stands_on else ""))
