"""spe cluster-score against spe batch-score on the same photos, and the driver's limits.

Both commands score the same phone-sized JPEGs with the shipped model on this
machine, side by side, at two sizes (n and 3n photos), so that each one's cost
splits into a fixed part (start-up: Ray's workers and the model) and a
marginal cost per photo (the slope between the two sizes). cluster-score runs
against a warm local cluster (`ray start --head`, as a cluster would already
be), and once more cold (Ray started by the command itself).

The driver's own work, which does not spread over machines, is measured alone
for the scaling estimate: listing (and stat'ing) photos, reading the output's
ok rows at a rerun (the ledger), and writing partitions.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from .measure import BIN, median, timed_child
from .photos import make_photos


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def warm_cluster(cores: int) -> Iterator[int]:
    """A local Ray cluster of ``cores`` CPUs, as `ray start --head` makes one, with this
    process (and its children) set to reach it; its port. Stopped after."""
    port = _free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "token"}
    # Token authentication needs a token (~/.ray/auth_token); a new machine has none.
    subprocess.run([BIN / "ray", "get-auth-token", "--generate"], check=True,
                   capture_output=True, env=env, timeout=120)
    subprocess.run([BIN / "ray", "start", "--head", "--num-cpus", str(cores), f"--port={port}",
                    "--include-dashboard=false", "--disable-usage-stats"],
                   check=True, capture_output=True, env=env, timeout=300)
    saved = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "token"
    try:
        yield port
    finally:
        subprocess.run([BIN / "ray", "stop", "--force"], capture_output=True, timeout=120)
        if saved is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = saved


def _wall(command: list) -> tuple[float, float]:
    seconds, rss, _ = timed_child(command)
    return seconds, rss


def _slope(n1: int, t1: float, n2: int, t2: float) -> tuple[float, float]:
    """(seconds per photo, fixed seconds) of the line through two runs."""
    per = (t2 - t1) / (n2 - n1)
    return per, t1 - per * n1


def driver_costs(work: Path, photos: list[Path], model_id: str, count: int) -> dict:
    """Seconds per photo of listing, per row of reading the ledger, per row of writing."""
    from scorer.cluster.driver import list_tree
    from scorer.ledger.csvformat import Row
    from scorer.ledger.partitions import ok_keys, write_part

    folder = photos[0].parent
    started = time.perf_counter()
    listed = len(list_tree(str(folder), folder.name).photos)
    listing = (time.perf_counter() - started) / listed
    parts = work / "ledger-parts"
    shutil.rmtree(parts, ignore_errors=True)
    parts.mkdir()
    rows_per_part = 1000
    started = time.perf_counter()
    for p in range(count):
        rows = [Row(f"archive/a/{p}/{i}.jpg", f"{p:032x}{i:032x}", model_id, 123.4, 56.0)
                for i in range(rows_per_part)]
        write_part(parts, f"part-{model_id[:12]}-{p:020x}.csv", rows)
    writing = (time.perf_counter() - started) / (rows_per_part * count)
    started = time.perf_counter()
    keys, total = ok_keys(parts, model_id)
    reading = (time.perf_counter() - started) / total
    assert len(keys) == total == rows_per_part * count
    return {"listing_s_per_photo": listing, "ledger_read_s_per_row": reading,
            "partition_write_s_per_row": writing, "listed": listed, "ledger_rows": total}


def cluster(work: Path, prepared: dict, sizes: dict) -> dict:
    model = prepared["default"]
    n1 = sizes["photos"]
    sets = {n: make_photos(work / f"cluster-{n}", n, seed=7) for n in (n1, 3 * n1)}
    cores = os.cpu_count() or 1
    with warm_cluster(cores) as port:
        runs: dict[str, dict[int, list[float]]] = {"batch_score": {}, "cluster_warm": {}}
        rss: dict[str, float] = {}
        for n, photos in sets.items():
            folder = photos[0].parent
            for name in runs:
                runs[name][n] = []
            for r in range(sizes["runs"]):  # interleaved, so drift hits both alike
                out = work / "cluster-batch.csv"
                out.unlink(missing_ok=True)
                seconds, peak = _wall([BIN / "spe", "batch-score", folder, "--model", model,
                                       "--out", out, "--threads", cores])
                runs["batch_score"][n].append(seconds)
                rss["batch_score"] = peak
                parts = work / f"cluster-parts-{n}-{r}"
                seconds, peak = _wall([BIN / "spe", "cluster-score", folder, "--model", model,
                                       "--out", parts, "--address", f"127.0.0.1:{port}"])
                runs["cluster_warm"][n].append(seconds)
                rss["cluster_driver"] = peak
                shutil.rmtree(parts)
        cold, _ = _wall([BIN / "spe", "cluster-score", sets[n1][0].parent, "--model", model,
                         "--out", work / "cluster-cold"])
    result: dict = {"cores": cores, "sizes": [n1, 3 * n1], "driver_peak_rss_mib": rss}
    for name, by_size in runs.items():
        t1, t2 = median(by_size[n1]), median(by_size[3 * n1])
        per, fixed = _slope(n1, t1, 3 * n1, t2)
        result[name] = {"seconds": {str(n1): t1, str(3 * n1): t2}, "s_per_photo": per,
                        "fixed_s": fixed, "photos_per_s_marginal": 1 / per if per > 0 else 0}
    result["cluster_cold_seconds"] = {str(n1): cold}
    b, c = result["batch_score"], result["cluster_warm"]
    result["ratio_marginal"] = b["s_per_photo"] / c["s_per_photo"] if c["s_per_photo"] > 0 else 0
    result["ratio_end_to_end"] = {str(n): b["seconds"][str(n)] / c["seconds"][str(n)]
                                  for n in (n1, 3 * n1)}
    # Core-seconds per photo on the cluster: what each added core buys.
    result["core_s_per_photo"] = c["s_per_photo"] * cores
    result["driver"] = driver_costs(work, sets[3 * n1], "0123456789ab", sizes["driver_parts"])
    return result


def report(r: dict) -> list[str]:
    n1, n2 = r["sizes"]
    b, c, d = r["batch_score"], r["cluster_warm"], r["driver"]
    return [
        "",
        f"cluster-score vs batch-score ({r['cores']} cores; {n1} and {n2} photos; warm local "
        "Ray cluster)",
        f"  batch-score:   {b['seconds'][str(n1)]:.1f} s / {b['seconds'][str(n2)]:.1f} s; "
        f"{b['s_per_photo'] * 1000:.2f} ms per photo + {b['fixed_s']:.1f} s fixed",
        f"  cluster-score: {c['seconds'][str(n1)]:.1f} s / {c['seconds'][str(n2)]:.1f} s; "
        f"{c['s_per_photo'] * 1000:.2f} ms per photo + {c['fixed_s']:.1f} s fixed "
        f"(cold, Ray started by the command: {r['cluster_cold_seconds'][str(n1)]:.1f} s "
        f"for {n1})",
        f"  ratio (cluster throughput / batch-score's): marginal {r['ratio_marginal']:.2f}, "
        f"end to end {r['ratio_end_to_end'][str(n1)]:.2f} at {n1}, "
        f"{r['ratio_end_to_end'][str(n2)]:.2f} at {n2}",
        f"  cluster core-seconds per photo: {r['core_s_per_photo'] * 1000:.2f} ms",
        f"  driver alone: listing {d['listing_s_per_photo'] * 1e6:.1f} us/photo, ledger read "
        f"{d['ledger_read_s_per_row'] * 1e6:.2f} us/row, partition write "
        f"{d['partition_write_s_per_row'] * 1e6:.2f} us/row",
    ]
