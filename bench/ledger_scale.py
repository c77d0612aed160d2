"""The ledger at scale: start-up of batch-score and watch beside CSVs of many rows.

Rows are generated (distinct sha256 values, the shape spe writes). Each size
is measured three ways against an empty ledger, side by side in one run: the
first start (no index yet: the CSV is read whole, in pieces, and the index
written), the starts after it (the index is read, and only rows past it), and
the daemon's start (until it logs that it is watching, with its peak RSS then).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from pathlib import Path

from .measure import BIN, median, timed_child

HEADER = "scored_at,path,sha256,predicted_likes,percentile,model,status,error\r\n"


def write_ledger(path: Path, rows: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER)
        for start in range(0, rows, 10_000):
            handle.write("".join(
                f"2026-12-01T10:00:00.000Z,/var/lib/spe/inbox/photo-{i}.jpg,"
                f"{hashlib.sha256(i.to_bytes(8, 'little')).hexdigest()},123.4,56.0,"
                "0123456789ab,ok,\r\n" for i in range(start, min(rows, start + 10_000))))


def _index(path: Path) -> Path:
    return path.with_name(f".{path.name}.index")


def _daemon_start(inbox: Path, out: Path, model: Path) -> tuple[float, float]:
    """Seconds until the daemon says it is watching, and its peak RSS (MiB) then."""
    log = out.with_suffix(".log")
    with open(log, "wb") as handle:
        started = time.perf_counter()
        proc = subprocess.Popen([BIN / "spe", "watch", inbox, "--out", out, "--model", model],
                                stdout=handle, stderr=handle)
    try:
        while b"watching " not in log.read_bytes():
            if proc.poll() is not None or time.perf_counter() - started > 120:
                raise RuntimeError(f"daemon did not start: {log.read_text()[-500:]}")
            time.sleep(0.005)
        seconds = time.perf_counter() - started
        status = Path(f"/proc/{proc.pid}/status").read_text()
        peak = next(int(line.split()[1]) for line in status.splitlines()
                    if line.startswith("VmHWM:")) / 1024
    finally:
        proc.terminate()
        proc.wait()
    return seconds, peak


def ledger(work: Path, prepared: dict, sizes: dict) -> dict:
    photo, model = prepared["photos"][0], prepared["default"]
    inbox = work / "ledger-inbox"
    shutil.rmtree(inbox, ignore_errors=True)
    inbox.mkdir()
    result: dict = {}
    for rows in (0, *sizes["ledger_rows"]):
        out = work / f"ledger-{rows}.csv"
        write_ledger(out, rows)
        _index(out).unlink(missing_ok=True)
        command = [BIN / "spe", "batch-score", photo, "--model", model, "--out", out, "--force"]
        first = timed_child(command)[:2]
        later = [timed_child(command)[:2] for _ in range(sizes["runs"])]
        daemon = [_daemon_start(inbox, out, model) for _ in range(sizes["runs"])]
        result[str(rows)] = {
            "rows": rows, "csv_mib": out.stat().st_size / 2**20,
            "batch_first_seconds": first[0], "batch_first_peak_mib": first[1],
            "batch_seconds": median([r[0] for r in later]),
            "batch_peak_mib": median([r[1] for r in later]),
            "watch_start_seconds": median([d[0] for d in daemon]),
            "watch_peak_mib": median([d[1] for d in daemon])}
        out.unlink()
        _index(out).unlink(missing_ok=True)
    empty = result["0"]
    for entry in result.values():
        entry["batch_added_mib"] = entry["batch_peak_mib"] - empty["batch_peak_mib"]
        entry["watch_added_mib"] = entry["watch_peak_mib"] - empty["watch_peak_mib"]
    return result


def report(results: dict) -> list[str]:
    lines = ["", "ledger at scale (start-up with one photo; median; first = no index yet):",
             f"{'rows':>9}{'CSV MiB':>9}{'first s':>9}{'first MiB':>10}{'batch s':>9}"
             f"{'added MiB':>10}{'watch s':>9}{'added MiB':>10}"]
    for v in results.values():
        lines.append(f"{v['rows']:>9,}{v['csv_mib']:>9.1f}{v['batch_first_seconds']:>9.2f}"
                     f"{v['batch_first_peak_mib']:>10.0f}{v['batch_seconds']:>9.2f}"
                     f"{v['batch_added_mib']:>10.1f}{v['watch_start_seconds']:>9.2f}"
                     f"{v['watch_added_mib']:>10.1f}")
    return lines
