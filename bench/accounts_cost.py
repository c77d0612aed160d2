"""spe-train fit-accounts: the accounts one at a time against two at a time on this
machine, and the same accounts as Ray tasks on a warm local cluster against the local
run, side by side in one run (ratios; no test asserts them).

Each fit uses every core, so two at a time pays only where one fit leaves cores idle
(its single-threaded parts: decoding, the export's conversion, the runtimes' checks).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .cluster_scale import warm_cluster
from .measure import BIN, timed_child


def accounts(work: Path, prepared: dict, sizes: dict) -> dict:
    from trainer.data.synth import make_synthetic

    count, n = sizes["accounts"], sizes["account_photos"]
    root = work / "accounts"
    for i in range(count):
        if not (root / f"account{i}" / "y_likes_data.txt").exists():
            make_synthetic(root / f"account{i}", n=n, seed=50 + i)
    cores = os.cpu_count() or 1
    base = [BIN / "spe-train", "fit-accounts", root, *sizes.get("account_args", ())]
    result: dict = {"accounts": count, "photos_each": n, "cores": cores}
    for name, extra in (("one_at_a_time", ["--jobs", "1"]), ("two_at_a_time", ["--jobs", "2"])):
        models = work / f"accounts-{name}"
        shutil.rmtree(models, ignore_errors=True)
        seconds, rss, _ = timed_child([*base, "--out", models, *extra])
        result[name] = {"seconds": seconds, "peak_rss_mib": rss}
    result["ray_two_at_a_time"] = _on_ray(work, base, cores)
    one, two = result["one_at_a_time"]["seconds"], result["two_at_a_time"]["seconds"]
    result["two_against_one"] = one / two
    result["ray_against_local"] = result["ray_two_at_a_time"]["seconds"] / two
    return result


def _on_ray(work: Path, base: list, cores: int) -> dict:
    """The same accounts on a warm local Ray cluster, two tasks at a time."""
    with warm_cluster(cores) as port:
        models = work / "accounts-ray"
        shutil.rmtree(models, ignore_errors=True)
        seconds, rss, _ = timed_child([*base, "--out", models, "--address",
                                       f"127.0.0.1:{port}", "--cpus-per-account",
                                       str(max(1, cores // 2))])
    return {"seconds": seconds, "driver_peak_rss_mib": rss}


def report(r: dict) -> list[str]:
    return [
        "",
        f"fit-accounts: {r['accounts']} accounts of {r['photos_each']} photos, {r['cores']} cores",
        f"  one at a time: {r['one_at_a_time']['seconds']:.0f} s; two at a time: "
        f"{r['two_at_a_time']['seconds']:.0f} s ({r['two_against_one']:.2f}x as fast)",
        f"  as Ray tasks, two at a time on a warm local cluster: "
        f"{r['ray_two_at_a_time']['seconds']:.0f} s ({r['ray_against_local']:.2f}x the local "
        "run's time)",
    ]
