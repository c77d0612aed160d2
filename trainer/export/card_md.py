"""NAME.md beside NAME.json: the model card for people, after the model-card convention.

NAME.json is for programs (the scorer reads it); this is the same card in words:
what the model predicts and for whom, its intended and out-of-scope uses, the
training data as counts and dates, the evaluation beside the baselines, its
limitations and the versions. Like the JSON, it names the data folder only,
never a path of the training machine.
"""

from __future__ import annotations

from pathlib import Path

from scorer.core.ownfiles import write_file
from scorer.model import cardtext
from scorer.model.card import ModelCard
from scorer.model.sections import Quality, Spread


def _pct(value: float) -> str:
    return f"{value:.3f}"


# The plots fit writes beside NAME.tflite, and what each shows.
PLOTS = {".predicted.png": "predicted against actual likes (cross-validated, out of fold)",
         ".loss.png": "training and validation loss per epoch"}


def render(card: ModelCard, plots: list[str] | None = None) -> str:
    lines = [f"# Model card: {card.model_file or 'model'} ({card.model_id})", ""]
    if card.note:
        lines += [card.note, ""]
    for section in (_uses, _training_data, _evaluation, _limitations, _versions):
        lines += section(card)
    if plots:
        lines += ["## Plots", "", *(f"- [{name}]({name}): {what}"
                                    for name, what in _described(plots)), ""]
    return "\n".join(lines) + "\n"


def _described(plots: list[str]) -> list[tuple[str, str]]:
    """Each plot with what it shows, by how its name ends (a model may have dots in its
    name: my.v2.predicted.png, NAME.refused.loss.png)."""
    return [(name, next(what for end, what in PLOTS.items() if name.endswith(end)))
            for name in plots if any(name.endswith(end) for end in PLOTS)]


def _uses(card: ModelCard) -> list[str]:
    return [
        "## What it predicts, and for whom",
        "",
        "How many likes a photo will get on the account whose photos and likes it was "
        "trained on, and where that falls among that account's posts (a percentile). It "
        "is one person's model: it knows nothing of other accounts, audiences or captions.",
        "",
        "## Intended use",
        "",
        "- Choosing among one's own photos before posting (`spe rank`), and scoring photos "
        "as they arrive (`spe batch-score`, `spe watch`).",
        "",
        "## Out-of-scope uses",
        "",
        "- Judging people, or photos of other accounts: it learned one account's likes.",
        "- Any decision about a person; promises of reach: likes depend on much the photo "
        "does not show (time, caption, the audience's mood, the platform).",
        "",
    ]


def _training_data(card: ModelCard) -> list[str]:
    t, likes = card.training, card.likes
    lines = [
        "## Training data",
        "",
        f"- {t.get('photos', likes.get('n', '?'))} photos with likes from the folder "
        f"`{t.get('data', '?')}` ({t.get('layout', '?')} layout)"
        + (f"; skipped: {t['skipped']}" if t.get("skipped") else "") + ".",
        f"- Likes from {likes['min']:.0f} to {likes['max']:.0f}, median {likes['median']:.0f}.",
        (f"- Posted from {t['first_post']} to {t['last_post']}." if t.get("first_post")
         else "- Post dates: not in the data."),
    ]
    if card.detrend:
        lines.append(f"- Likes re-expressed at the account's latest level (--detrend: growth "
                     f"{card.detrend.get('growth_log1p', 0):+.2f} in log1p(likes)).")
    return lines


def _evaluation(card: ModelCard) -> list[str]:
    quality = card.quality
    if quality is None:
        return ["", "## Evaluation", "", "Not cross-validated; see the JSON card's `metrics`."]
    q, ridge, mae, mean_mae = (quality.spearman, quality.ridge_spearman, quality.mae_log1p,
                               quality.mean_mae_log1p)
    how = card.validation.how if card.validation else "cross-validation"
    return [
        "", "## Evaluation", "",
        "| measure | this recipe (int8) | ridge baseline | mean predictor |",
        "|---|---|---|---|",
        f"| Spearman (ranking; 1 perfect, 0 chance) | {_pct(q.mean)} ± "
        f"{_pct(q.std)} | {_mean(ridge)} | 0 |",
        f"| MAE of log1p(likes) | {_mean(mae)} | | {_mean(mean_mae)} |",
        "",
        f"How: {how or 'cross-validation'}.",
        "",
        quality.verdict,
    ]


def _mean(spread: Spread | None) -> str:
    return _pct(spread.mean) if spread is not None else "?"


def _what_to_expect(quality: Quality | None, fallback: bool = False) -> list[str]:
    """What the measured numbers allow one to say, and nothing they contradict."""
    if quality is None:
        return ["- Not cross-validated: how well it ranks your photos is not known."]
    rho = quality.spearman.mean
    ridge = quality.ridge_spearman.mean if quality.ridge_spearman else float("nan")
    pairs = quality.pairwise_accuracy.mean if quality.pairwise_accuracy else None
    if rho <= 0.05:
        lines = [f"- Its cross-validated ranking is no better than chance (Spearman "
                 f"{_pct(rho)}): do not rely on it."]
    elif pairs is not None:
        lines = [f"- Of two of your photos, it put the one with more likes first "
                 f"{pairs:.0%} of the time in cross-validation (50% is chance)."]
    else:
        lines = [f"- Its cross-validated Spearman is {_pct(rho)} (1 perfect, 0 chance)."]
    if fallback:
        lines.append("- It is the ridge regression on image statistics (`--fallback ridge`): "
                     "the model trained for it ranked no better.")
    elif rho <= ridge:
        lines.append(f"- It ranks no better than the ridge baseline on six image statistics "
                     f"({_pct(rho)} against {_pct(ridge)}): `spe-train fit --fallback ridge` "
                     "exports that baseline instead.")
    mae, mean_mae = quality.mae_log1p, quality.mean_mae_log1p
    if mae is not None and mean_mae is not None and mae.mean >= mean_mae.mean:
        lines.append("- Its like counts are further off than predicting your average for "
                     f"every photo (MAE of log1p {_pct(mae.mean)} against "
                     f"{_pct(mean_mae.mean)}): read the order and the percentile, not the "
                     "count.")
    return lines


def _limitations(card: ModelCard) -> list[str]:
    lines = [
        "",
        "## Limitations",
        "",
        *_what_to_expect(card.quality,
                         "fallback" in str(card.training.get("head", {}).get("kind", ""))),
        f"- It sees a {card.height}x{card.width} version of the photo: fine detail and small "
        "text are lost.",
    ]
    if card.backbone:
        lines.append("- It stands on ImageNet-trained weights: what ImageNet's photos taught "
                     "it to notice shapes what it can learn from yours; the weights' terms "
                     "allow research and non-commercial use.")
    return [*lines, "- The account changes (followers, style); retrain when predictions drift."]


def _versions(card: ModelCard) -> list[str]:
    return [
        "",
        "## Versions",
        "",
        f"- Model {card.model_id}, made {card.created_at} by spe-train {card.trainer_version}; "
        f"card version {card.card_version}.",
        f"- Network: {cardtext.network(card)}{';' if card.backbone else ','} "
        f"{card.parameters or 0:,} parameters, "
        f"{card.size_bytes / 1e6:.2f} MB as int8.",
        *(f"- Fast kernels on {runtime}: {reason}." for runtime, reason in
          cardtext.kernels(card).items()),
    ]


def write_card_md(model_path: Path, card: ModelCard) -> Path:
    path = model_path.with_suffix(".md")
    plots = [model_path.with_suffix(end).name for end in PLOTS
             if model_path.with_suffix(end).is_file()]
    write_file(path, render(card, plots).encode("utf-8"))
    return path
