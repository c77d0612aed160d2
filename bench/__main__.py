"""Run the benchmarks: ``python -m bench [--quick] [--out FILE]``.

Sections (issue 7), each a ratio of things measured side by side in this run:
1. cold start: spe batch-score against tf.lite.Interpreter in a TensorFlow
   process and against the notebook's Keras predict, for one photo;
2. throughput on phone-sized JPEGs: the scorer's decode ceiling, spe
   batch-score, and the naive path (full decode, one photo per call), at 1
   thread and at all cores;
3. models: float32, dynamic-range and int8 exports under both runtimes;
4. the watcher: close-to-row delay at a steady rate, and a burst's drain
   against spe batch-score of the same photos;
5. training: spe-train fit at the notebook's scale and at 1,500 photos;
6. the ledger at scale (bench/ledger_scale.py);
7. cluster-score against batch-score, and the driver's own costs (bench/cluster_scale.py);
8. crop suggestions and occlusion maps: spe rank --html with them against without them
   (bench/crops_cost.py);
9. fit-accounts: accounts one at a time against two at a time, and on Ray against here
   (bench/accounts_cost.py; full mode or --only accounts: its fits take minutes).

No test asserts a timing; the quick mode only keeps this code working (CI).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from . import sections
from .measure import REPO

FULL = dict(runs=5, photos=500, photos_12mp=60, prepare_photos=600, prepare_epochs=15,
            steady_seconds=30,
            burst=1000, train_sizes=(185, 1500), train_epochs=30, repeats=50,
            ledger_rows=(10_000, 100_000, 1_000_000), driver_parts=100,
            accounts=4, account_photos=300)
QUICK = dict(runs=1, photos=40, photos_12mp=4, prepare_photos=60, prepare_epochs=1,
             steady_seconds=2,
             burst=40, train_sizes=(40,), train_epochs=1, repeats=3, ledger_rows=(1000,),
             driver_parts=10,
             # Only keeps the code working (CI): the lightest recipe that still runs
             # cross-validation, one network (tests/test_fit.py fits averages), and
             # an average of two in the prepared model.
             train_args=("--folds", "2", "--members", "1"), prepare_members=2,
             accounts=2, account_photos=12, account_args=("--img-size", "96", "--folds", "2"))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute (CI)")
    parser.add_argument("--out", type=Path, help="JSON results [default: bench/results/latest.json"
                                                 " or quick.json]")
    parser.add_argument("--work", type=Path, help="scratch folder [default: a temporary one]")
    parser.add_argument("--only", help="comma list of sections: coldstart,throughput,models,"
                                       "watcher,ledger,training,cluster,crops,accounts")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    wanted = set(args.only.split(",")) if args.only else {
        "coldstart", "throughput", "models", "watcher", "ledger", "training", "cluster",
        "crops", *(() if args.quick else ("accounts",))}
    out = args.out or REPO / "bench" / "results" / ("quick.json" if args.quick else "latest.json")
    with tempfile.TemporaryDirectory(prefix="spe-bench-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results: dict = {"machine": machine(), "quick": args.quick, "sizes": sizes,
                         "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        started = time.monotonic()
        # The accounts section makes its own data; the others share the prepared photos
        # and model.
        prepared = sections.prepare(work, sizes) if wanted - {"accounts"} else {}
        for name in ("coldstart", "throughput", "models", "watcher", "ledger", "training",
                     "cluster", "crops", "accounts"):
            if name in wanted:
                print(f"== {name}", file=sys.stderr, flush=True)
                results[name] = getattr(sections, name)(work, prepared, sizes)
        results["seconds"] = round(time.monotonic() - started, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(sections.report(results))
    print(f"\nwrote {out} ({results['seconds']} s)")
    return 0


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()} {platform.machine()}"}


if __name__ == "__main__":
    sys.exit(main())
