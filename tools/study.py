"""The training-options study behind `spe-train fit`'s defaults (docs/STUDY.md).

Round 3 (issue 11): every option is cross-validated on each rule of the
synthetic family (`spe-train synth --rule`), because defaults tuned on one
readable rule did not carry over to real photos. An option is kept only if it
helps on every rule. Results are cached per run in docs/study.json, so the
study can be resumed; the tables are printed at the end.

    python tools/study.py [--rules classic,texture,harmony] [--only RUN] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from trainer.core.recipe import RECIPES, FitOptions  # noqa: E402
from trainer.data.synth import RULES, make_synthetic  # noqa: E402
from trainer.fitting.cv import cross_validate  # noqa: E402

# Round 3 uses 300 photos per rule (seed 301), 3 folds: what two cores allow for
# eight recipes on three rules in one working session.
PHOTOS, FOLDS, SEED = 300, 3, 301
NEW = FitOptions()  # the defaults of trainer/core/recipe.py, one network per fold unless said
RUNS = {
    "mirror recipe (the defaults before issue 11)": FitOptions(**{**RECIPES["mirror"],
                                                                  "members": 1}),
    "deep + 4 augmentations + LR halving (1 network)": replace(NEW, members=1),
    "deep-stats, same recipe (1 network)": replace(NEW, architecture="deep-stats", members=1),
    "deep, 3 networks averaged": replace(NEW, members=3),
    "deep-small, same recipe (1 network)": replace(NEW, architecture="deep-small", members=1),
    "notebook network, same recipe (1 network)": replace(NEW, architecture="notebook", members=1),
    "deep, flip only (1 network)": replace(NEW, augment=("flip",), members=1),
    "deep, no LR halving (1 network)": replace(NEW, lr_plateau=False, members=1),
}
METRICS = ("mae_log1p", "spearman", "pairwise_accuracy")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", default=",".join(RULES))
    parser.add_argument("--only", help="a substring of the runs to do")
    parser.add_argument("--work", type=Path, default=Path("/tmp/spe-study"))
    args = parser.parse_args()
    cache_path = REPO / "docs" / "study.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    # Run by run across the rules, so that whatever is done when time runs out is
    # comparable across the family.
    for name, options in RUNS.items():
        for rule in args.rules.split(","):
            data = args.work / f"{rule}-{PHOTOS}"
            if not (data / "y_likes_data.txt").exists():
                make_synthetic(data, n=PHOTOS, seed=SEED, rule=rule)
            key = f"round 3, {rule}: {name}"
            if key in cache or (args.only and args.only not in name):
                continue
            started = time.monotonic()
            report = cross_validate(data, options, folds=FOLDS, out_dir=None,
                                    echo=lambda m: print(m, file=sys.stderr, flush=True))
            cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
            cache[key] = {"round": 3, "rule": rule, "run": name, "photos": PHOTOS,
                          "folds": FOLDS, "seconds": round(time.monotonic() - started, 1),
                          "stopping_epochs": report["stopping_epochs"],
                          "summary": report["summary"]}
            cache_path.write_text(json.dumps(cache, indent=1) + "\n")
            print(f"done {key} in {cache[key]['seconds']} s", file=sys.stderr, flush=True)
    print(table(cache))
    return 0


def table(cache: dict) -> str:
    """One table per rule: ridge and mean baselines, then each run (fold mean ± std)."""
    lines = []
    for rule in RULES:
        runs = [v for v in cache.values() if v.get("round") == 3 and v["rule"] == rule]
        if not runs:
            continue
        lines += [f"### rule `{rule}`: {PHOTOS} photos, {FOLDS}-fold cross-validation", "",
                  "| run | MAE log1p | Spearman | pairs | Spearman, flip-averaged | s/fold |",
                  "|---|---|---|---|---|---|"]
        for label in ("mean", "ridge"):
            m = runs[0]["summary"][label]
            lines.append(f"| {label} baseline | " + " | ".join(_cell(m, k) for k in METRICS)
                         + " | | |")
        for run in runs:
            m = run["summary"]["cnn"]
            flipped = run["summary"].get("cnn flip-averaged", {}).get("spearman")
            lines.append(f"| {run['run']} | " + " | ".join(_cell(m, k) for k in METRICS)
                         + f" | {_cell({'s': flipped}, 's') if flipped else ''}"
                         + f" | {run['seconds'] / run['folds']:.0f} |")
        lines.append("")
    return "\n".join(lines)


def _cell(metrics: dict, key: str) -> str:
    value = metrics[key]
    return f"{value['mean']:.3f} ± {value['std']:.3f}"


if __name__ == "__main__":
    sys.exit(main())
