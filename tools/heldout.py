"""Held-out checks per rule of the synthetic family (docs/STUDY.md, "Held out").

For each rule: `spe-train synth` makes a training set (seed 61) and a held-out
set (seed 62, 300 photos); `spe-train fit` trains a recipe on the first exactly
as a person would; `spe-train evaluate` scores the int8 model on the second,
which neither training nor the choice of defaults ever saw. Results go to
docs/heldout.json (cached per rule and recipe).

    python tools/heldout.py --recipe default|mirror [--rules classic,texture,harmony]
                            [--photos 1200] [--keep DIR] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HELD_OUT = 300


def run(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(BIN / "spe-train"), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"spe-train {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="default")
    parser.add_argument("--rules", default="classic,texture,harmony")
    parser.add_argument("--photos", type=int, default=1200)
    parser.add_argument("--keep", type=Path, help="copy the classic rule's model here")
    parser.add_argument("--note", default="", help="a note for the card (the starter model's)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/spe-heldout"))
    args = parser.parse_args()
    cache_path = REPO / "docs" / "heldout.json"
    for rule in args.rules.split(","):
        train, test = args.work / f"{rule}-train-{args.photos}", args.work / f"{rule}-test"
        if not train.exists():
            run("synth", str(train), "--n", str(args.photos), "--seed", "61", "--rule", rule)
        if not test.exists():
            run("synth", str(test), "--n", str(HELD_OUT), "--seed", "62", "--rule", rule)
        model = args.work / f"{rule}-{args.recipe}-{args.photos}.tflite"
        started = time.monotonic()
        note = ["--note", args.note] if args.note else []
        run("fit", str(train), "--out", str(model), "--recipe", args.recipe, "--force", *note)
        seconds = time.monotonic() - started
        report = args.work / f"{rule}-{args.recipe}.json"
        run("evaluate", str(model), str(test), "--json-file", str(report))
        card = json.loads(model.with_suffix(".json").read_text())
        cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
        cache[f"{rule}: {args.recipe}, {args.photos} photos"] = {
            "rule": rule, "recipe": args.recipe, "train_photos": args.photos,
            "held_out_photos": HELD_OUT, "fit_seconds": round(seconds),
            "held_out": json.loads(report.read_text()),
            "card_expected_quality": card.get("expected_quality"),
            "card_validation_int8": card["metrics"]["validation"]["int8"],
            "cost": card.get("cost"), "epochs_run": card["training"]["epochs_run"]}
        cache_path.write_text(json.dumps(cache, indent=1) + "\n")
        held = cache[f"{rule}: {args.recipe}, {args.photos} photos"]["held_out"]["int8"]
        print(f"{rule} {args.recipe}: held-out Spearman {held['spearman']:.3f}, MAE log1p "
              f"{held['mae_log1p']:.3f} ({seconds:.0f} s)", flush=True)
        if args.keep and rule == "classic":
            for suffix in (".tflite", ".json", ".loss.png", ".predicted.png"):
                shutil.copy(model.with_suffix(suffix), args.keep.with_suffix(suffix))
    return 0


if __name__ == "__main__":
    sys.exit(main())
