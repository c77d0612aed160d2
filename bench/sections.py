"""The five benchmark sections and the report. Each returns plain JSON data."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import numpy as np

from .accounts_cost import accounts  # noqa: F401  (a section, looked up by name)
from .accounts_cost import report as accounts_report
from .cluster_scale import cluster  # noqa: F401  (a section, looked up by name)
from .cluster_scale import report as cluster_report
from .crops_cost import crops  # noqa: F401  (a section, looked up by name)
from .crops_cost import report as crops_report
from .ledger_scale import ledger  # noqa: F401  (a section, looked up by name)
from .ledger_scale import report as ledger_report
from .measure import BIN, PYTHON, REPO, median, timed_child
from .photos import make_photos

THREADS = (1, os.cpu_count() or 1)
# tflite-runtime 2.14 applies no delegate to these models by default, so its two
# modes match; ai-edge-litert applies XNNPACK unless told not to (spe tells it).
RUNTIME_KERNELS = (("tflite-runtime", "builtin"), ("litert", "default"), ("litert", "builtin"))
RATE = re.compile(r"\(([\d.]+) photos/s\)")


def prepare(work: Path, sizes: dict) -> dict:
    """Phone-sized photos, and a trained model with its three exports."""
    photos = make_photos(work / "photos", max(sizes["photos"], sizes["burst"]))
    models = work / "models"
    if not (models / "int8.tflite").exists():
        timed_child([PYTHON, "-m", "bench.tf_worker", "prepare", models, sizes["prepare_photos"],
                     sizes["prepare_epochs"], sizes.get("prepare_members", 3)], cwd=REPO)
    # spe as pip installs it: with its bytecode compiled. An editable install under
    # PYTHONDONTWRITEBYTECODE compiles every module at every start (about 50 ms of a
    # 0.3 s cold start here), which no user's install does.
    import compileall

    import scorer
    from scorer.model.runtime import default_model_path

    compileall.compile_dir(Path(scorer.__file__).parent, quiet=1)
    # The shipped default model (what a fresh install scores with) for throughput,
    # the watcher and the ledger; the trained exports for the cold start against
    # TensorFlow and Keras and for the export comparison.
    return {"photos": photos, "models": models, "default": default_model_path()}


# 1. Cold start --------------------------------------------------------------

def coldstart(work: Path, prepared: dict, sizes: dict) -> dict:
    """One photo from a cold process: spe against TensorFlow's tf.lite and the notebook's
    Keras predict on the bench's trained model, and spe against tf.lite on the shipped
    default model (the backbone's graph), each pair side by side."""
    photo, models = prepared["photos"][0], prepared["models"]
    out = work / "cold.csv"
    trained, default = models / "int8.tflite", prepared["default"]
    commands = {
        "spe batch-score": [BIN / "spe", "batch-score", photo, "--model", trained,
                            "--out", out, "--force"],
        "tensorflow tf.lite": [PYTHON, "-m", "bench.tf_worker", "lite", trained, photo, out],
        "keras predict (notebook)": [PYTHON, "-m", "bench.tf_worker", "keras",
                                     models / "model.keras", photo, out],
        "spe, shipped model": [BIN / "spe", "batch-score", photo, "--model", default,
                               "--out", out, "--force"],
        "tf.lite, shipped model": [PYTHON, "-m", "bench.tf_worker", "lite", default, photo,
                                   out],
    }
    result = {}
    for name, command in commands.items():
        runs = []
        for _ in range(sizes["runs"]):
            out.unlink(missing_ok=True)
            runs.append(timed_child(command, cwd=REPO)[:2])
        result[name] = {"seconds": median([r[0] for r in runs]),
                        "peak_rss_mib": median([r[1] for r in runs])}
    for spe, others in (("spe batch-score", ("tensorflow tf.lite", "keras predict (notebook)")),
                        ("spe, shipped model", ("tf.lite, shipped model",))):
        for name in others:
            result[name]["spe_speedup"] = result[name]["seconds"] / result[spe]["seconds"]
    return result


# 2. Throughput -----------------------------------------------------------------

def decode_ceiling(photos: list[Path], threads: int, size: int = 64) -> float:
    from scorer.photos.decode import decode_rgb, read_photo

    def one(path: Path) -> None:
        decode_rgb(read_photo(path).data, size)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, photos))
    return len(photos) / (time.perf_counter() - started)


def naive(photos: list[Path], model: Path) -> float:
    """Full-size imread, resize, one photo per interpreter call, one thread."""
    import cv2

    from scorer.model.runtime import Model

    scorer = Model(model, threads=1)
    size = scorer.size
    started = time.perf_counter()
    for path in photos:
        image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        scorer.predict(cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)[None])
    return len(photos) / (time.perf_counter() - started)


def batch_score_rate(photos: list[Path], model: Path, threads: int, out: Path,
                     model_threads: int | None = None,
                     prefix: tuple = ()) -> tuple[float, float]:
    """(photos/s from batch-score's own summary, peak RSS in MiB) of one run; without
    ``model_threads``, the interpreter's threads are batch-score's default."""
    out.unlink(missing_ok=True)
    given = ("--model-threads", model_threads) if model_threads else ()
    _, rss, err = timed_child([*prefix, BIN / "spe", "batch-score", *photos, "--model", model,
                               "--out", out, "--threads", threads, *given])
    return float(RATE.search(err).group(1)), rss


def model_seconds(photos: list[Path], model: Path) -> float:
    """I: seconds per photo of the model alone (batches of 32, one interpreter thread,
    the kernels batch-score chooses), on decoded photos."""
    from scorer.model.runtime import Model
    from scorer.photos.decode import decode_rgb, read_photo

    scorer = Model(model, threads=1)
    pixels = np.stack([decode_rgb(read_photo(p).data, scorer.size) for p in photos[:256]])
    scorer.predict_raw(pixels[:32])  # the first call allocates
    started = time.perf_counter()
    for i in range(0, len(pixels), 32):
        scorer.predict_raw(pixels[i : i + 32])
    return (time.perf_counter() - started) / len(pixels)


def throughput(work: Path, prepared: dict, sizes: dict) -> dict:
    """batch-score against two ceilings, on 1080 px posts and on 12 MP camera photos."""
    from .photos import TWELVE_MP, make_photos

    model = prepared["default"]
    result = _throughput_on(prepared["photos"][: sizes["photos"]], model, work, sizes)
    big = make_photos(work / "photos-12mp", sizes["photos_12mp"], seed=3, sizes=TWELVE_MP)
    result["12 MP"] = _throughput_on(big, model, work, sizes)
    return result


def _throughput_on(photos: list[Path], model: Path, work: Path, sizes: dict) -> dict:
    """batch-score against decoding alone (T/D) and the pipeline, decoding plus the
    model's own work (T/(D+I)), D and I measured alone in the same run, at the model's
    input size and with the kernels batch-score chooses."""
    from scorer.model.runtime import Model

    loaded = Model(model, threads=1)
    size = loaded.size
    result: dict = {"photos": len(photos), "model": model.name, "input": size,
                    "kernels": f"{loaded.runtime} ({loaded.kernels})"}
    del loaded
    result["naive"] = median([naive(photos, model) for _ in range(sizes["runs"])])
    decode = median([1.0 / decode_ceiling(photos, 1, size) for _ in range(sizes["runs"])])
    infer = median([model_seconds(photos, model) for _ in range(sizes["runs"])])
    result.update(decode_ms=decode * 1000, model_ms=infer * 1000)
    for threads in THREADS:
        ceilings, scores, single = [], [], []
        for _ in range(sizes["runs"]):  # interleaved, so drift hits all alike
            ceilings.append(decode_ceiling(photos, threads, size))
            scores.append(batch_score_rate(photos, model, threads, work / "tp.csv")[0])
            single.append(batch_score_rate(photos, model, threads, work / "tp.csv",
                                           model_threads=1)[0])
        ceiling, score = median(ceilings), median(scores)
        pipeline = threads / (decode + infer)
        # What T threads of decoding alone reach of T/D on this machine (cores that share
        # caches, memory and a host): the pipeline ceiling scaled alike is what the
        # machine allows, and the gap to it the pipeline's own loss.
        scaling = ceiling * decode / threads
        result[f"threads_{threads}"] = {
            "decode_ceiling": ceiling, "pipeline_ceiling": pipeline, "batch_score": score,
            "decode_scaling": scaling, "share_of_scaled_pipeline": score / (pipeline * scaling),
            "batch_score_model_threads_1": median(single),
            "share_of_ceiling": score / ceiling, "share_of_pipeline": score / pipeline,
            "share_of_pipeline_model_threads_1": median(single) / pipeline,
            "vs_naive": score / result["naive"]}
    # Where batch-score's time goes (its own coarse profile), at the most threads.
    out = work / "tp.csv"
    out.unlink(missing_ok=True)
    proc = subprocess.run([BIN / "spe", "batch-score", *photos, "--model", model, "--out", out,
                           "--threads", str(THREADS[-1])], capture_output=True, text=True,
                          env={**os.environ, "SPE_PROFILE": "1"})
    result["profile"] = next((line for line in proc.stderr.splitlines()
                              if line.startswith("profile: ")), "")
    # The nearest thing here to a Pi Zero 2: one core, one decoding thread, one
    # interpreter thread.
    if shutil.which("taskset"):
        runs = [batch_score_rate(photos, model, 1, work / "tp.csv", prefix=("taskset", "-c", "0"))
                for _ in range(sizes["runs"])]
        result["one_core"] = {"photos_per_s": median([r[0] for r in runs]),
                              "peak_rss_mib": median([r[1] for r in runs])}
    return result


# 3. Models ------------------------------------------------------------------------

def models(work: Path, prepared: dict, sizes: dict) -> dict:
    from scorer.model.card import Target

    root = prepared["models"]
    target = Target(**json.loads((root / "target.json").read_text()))
    keras_likes = np.load(root / "keras_likes.npy")
    std = float(np.load(root / "val_likes.npy").std())
    result: dict = {}
    float_size = (root / "float32.tflite").stat().st_size
    for name in ("float32", "dynamic", "int8"):
        path = root / f"{name}.tflite"
        entry: dict = {"bytes": path.stat().st_size,
                       "share_of_float32": path.stat().st_size / float_size}
        for runtime, kernels in RUNTIME_KERNELS:
            key = f"{runtime} ({kernels})"
            out = work / f"{name}-{runtime}-{kernels}.npy"
            proc = subprocess.run([PYTHON, "-m", "bench.lite_worker", path, runtime, kernels,
                                   root / "val_pixels.npy", out, str(sizes["repeats"])],
                                  capture_output=True, text=True, cwd=REPO)
            if proc.returncode != 0:
                entry[key] = {"error": proc.stderr.strip().splitlines()[-1][:160]}
                continue
            timing = json.loads(proc.stdout.strip().splitlines()[-1])
            if "error" not in timing:
                diff = np.abs(target.inverse(np.load(out)) - keras_likes)
                timing["mean_abs_diff_vs_keras_rel_std"] = float(diff.mean() / std)
                timing["max_abs_diff_vs_keras_rel_std"] = float(diff.max() / std)
            entry[key] = timing
        result[name] = entry
    result["shipped"] = _shipped(work, prepared, sizes)
    return result


def _shipped(work: Path, prepared: dict, sizes: dict) -> dict:
    """The shipped default model's cost beside the trained exports: its size and time per
    photo under each runtime and kernels, on the same photos (no Keras model to compare)."""
    from scorer.model.card import read_card

    path = prepared["default"]
    card = read_card(path)
    entry: dict = {"bytes": path.stat().st_size, "parameters": card.parameters,
                   "members": (card.cost or {}).get("members", 1),
                   "architecture": card.training.get("architecture")}
    for runtime, kernels in RUNTIME_KERNELS:
        proc = subprocess.run([PYTHON, "-m", "bench.lite_worker", path, runtime, kernels,
                               prepared["models"] / "val_pixels.npy", work / "shipped.npy",
                               str(sizes["repeats"])], capture_output=True, text=True, cwd=REPO)
        key = f"{runtime} ({kernels})"
        entry[key] = (json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0
                      else {"error": proc.stderr.strip().splitlines()[-1][:160]})
    return entry


# 4. The watcher ------------------------------------------------------------------------

def _start_daemon(inbox: Path, out: Path, model: Path, log: Path) -> subprocess.Popen:
    handle = open(log, "wb")
    proc = subprocess.Popen([BIN / "spe", "watch", inbox, "--out", out, "--model", model],
                            stdout=handle, stderr=handle)
    handle.close()
    deadline = time.monotonic() + 30
    while b"watching " not in log.read_bytes():  # the observer is running
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"daemon did not start: {log.read_text()[-500:]}")
        time.sleep(0.02)
    return proc


def _rows(out: Path) -> list[dict[str, str]]:
    """The CSV's rows by column name (scorer/ledger/ledger.py defines the columns)."""
    import csv

    with open(out, newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def _wait_rows(out: Path, n: int, timeout: float) -> list[dict[str, str]]:
    deadline = time.monotonic() + timeout
    while True:
        rows = _rows(out)
        if len(rows) >= n or time.monotonic() > deadline:
            return rows
        time.sleep(0.01)


def watcher(work: Path, prepared: dict, sizes: dict) -> dict:
    model = prepared["default"]
    photos = prepared["photos"]
    result: dict = {}
    # Steady: 20 photos a second, each written and closed by a writer.
    inbox, out = work / "steady-inbox", work / "steady.csv"
    shutil.rmtree(inbox, ignore_errors=True)
    inbox.mkdir()
    out.unlink(missing_ok=True)
    daemon = _start_daemon(inbox, out, model, work / "steady.log")
    closed: dict[str, float] = {}
    count = int(20 * sizes["steady_seconds"])
    start = time.time()
    for i in range(count):
        source = photos[i % len(photos)].read_bytes()
        name = inbox / f"s{i:05d}.jpg"
        with open(name, "wb") as handle:
            handle.write(source + i.to_bytes(4, "big"))  # distinct bytes: no skips
        closed[str(name)] = time.time()
        time.sleep(max(0.0, start + (i + 1) / 20 - time.time()))
    rows = _wait_rows(out, count, 60)
    daemon.send_signal(signal.SIGTERM)
    daemon.wait()
    delays = [datetime.fromisoformat(r["scored_at"].replace("Z", "+00:00")).timestamp()
              - closed[r["path"]] for r in rows if r["path"] in closed]
    result["steady"] = {"rate_per_s": 20, "photos": count, "rows": len(rows),
                        **{f"p{p}_ms": float(np.percentile(delays, p) * 1000)
                           for p in (50, 95, 99)}}
    # Burst: N photos renamed into the inbox at once, against batch-score of the same.
    burst = photos[: sizes["burst"]]
    inbox, out = work / "burst-inbox", work / "burst.csv"
    staging = work / "staging"
    for folder in (inbox, staging):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
    for path in burst:
        shutil.copy(path, staging / path.name)
    out.unlink(missing_ok=True)
    daemon = _start_daemon(inbox, out, model, work / "burst.log")
    # Photos moved in are complete at once when their mtime is older than the
    # daemon's settle time (1 s); a burst of fresh copies would wait that second.
    time.sleep(1.5)
    started = time.perf_counter()
    for path in burst:
        os.rename(staging / path.name, inbox / path.name)
    rows = _wait_rows(out, len(burst), 300)
    drain = time.perf_counter() - started
    daemon.send_signal(signal.SIGTERM)
    daemon.wait()
    batch_out = work / "burst-batch.csv"
    batch_out.unlink(missing_ok=True)
    batch_seconds, _, err = timed_child([BIN / "spe", "batch-score",
                                         *[inbox / p.name for p in burst], "--model", model,
                                         "--out", batch_out])
    # The daemon has its model loaded already: compare with batch-score's scoring
    # time (from its own photos/s), and show its whole run (with start-up) too.
    scoring = len(burst) / float(RATE.search(err).group(1))
    result["burst"] = {"photos": len(burst), "rows": len(rows), "drain_seconds": drain,
                       "batch_score_seconds": batch_seconds,
                       "batch_score_scoring_seconds": scoring, "ratio": drain / scoring}
    return result


# 5. Training ----------------------------------------------------------------------------

def training(work: Path, prepared: dict, sizes: dict) -> dict:
    from trainer.data.synth import make_synthetic

    result = {}
    for n in sizes["train_sizes"]:
        data = work / f"train-{n}"
        if not (data / "y_likes_data.txt").exists():
            make_synthetic(data, n=n, seed=41)
        seconds, rss, err = timed_child([BIN / "spe-train", "fit", data, "--out",
                                         work / f"fit-{n}.tflite", "--epochs",
                                         sizes["train_epochs"], *sizes.get("train_args", ())])
        result[str(n)] = {"photos": n, "epochs": sizes["train_epochs"], "seconds": seconds,
                          "peak_rss_mib": rss, **_memory_said(err, rss)}
    last = work / f"fit-{sizes['train_sizes'][-1]}.tflite"
    result["cost_against_decode"] = cost_against_decode(work, prepared, sizes, last)
    return result


def _memory_said(stderr: str, rss_mib: float) -> dict:
    """What the fit said it would need at the start, and the peak measured from outside
    (bench.launch) against it and against the 2 GB a fit of 1,500 photos must stay below."""
    said = re.search(r"^this fit will need about ([\d.]+) GB", stderr, re.M)
    peak_gb = rss_mib * 1024 * 1024 / 1e9
    return {"peak_gb": peak_gb, "said_it_needs_gb": float(said[1]) if said else None,
            "peak_of_said": peak_gb / float(said[1]) if said else None,
            "peak_of_2gb": peak_gb / 2.0}


def cost_against_decode(work: Path, prepared: dict, sizes: dict, model: Path) -> dict:
    """The default recipe's model: its time per photo under each runtime and kernels, beside
    the time to decode a phone photo at its input size, measured side by side in one run."""
    from scorer.model.card import read_card
    from scorer.photos.decode import decode_rgb, read_photo

    size = read_card(model).height
    photos = prepared["photos"][: sizes["photos"]]
    pixels = work / "default-pixels.npy"
    np.save(pixels, np.stack([decode_rgb(read_photo(p).data, size) for p in photos[:64]]))
    decode_ms = 1000 * median([1.0 / decode_ceiling(photos, 1, size) for _ in range(3)])
    entry: dict = {"model_bytes": model.stat().st_size, "input": size, "decode_ms": decode_ms}
    for runtime, kernels in RUNTIME_KERNELS:
        proc = subprocess.run([PYTHON, "-m", "bench.lite_worker", model, runtime, kernels,
                               pixels, work / "default-out.npy", str(sizes["repeats"])],
                              capture_output=True, text=True, cwd=REPO)
        timing = (json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0
                  else {"error": proc.stderr.strip().splitlines()[-1][:160]})
        if "ms_per_photo_batch32" in timing:
            timing["of_decode"] = timing["ms_per_photo_batch32"] / decode_ms
        entry[f"{runtime} ({kernels})"] = timing
    return entry


# The report -------------------------------------------------------------------------------

def report(results: dict) -> str:
    m = results["machine"]
    lines = [f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['system']}"
             + (" (QUICK mode: small sizes, figures not meaningful)" if results["quick"] else "")]
    if "coldstart" in results:
        c = results["coldstart"]
        lines += ["", "cold start, one photo (median):",
                  f"{'path':<28}{'seconds':>9}{'peak RSS MiB':>14}{'spe faster':>12}"]
        for name, v in c.items():
            lines.append(f"{name:<28}{v['seconds']:>9.2f}{v['peak_rss_mib']:>14.0f}"
                         f"{v.get('spe_speedup', 1.0):>11.1f}x")
    if "throughput" in results:
        t = results["throughput"]
        lines += _throughput_lines(t, "phone-sized JPEGs, 1080 px")
        if "12 MP" in t:
            lines += _throughput_lines(t["12 MP"], "camera JPEGs, 12 MP")
    if "models" in results:
        lines += ["", "models (validation photos; diff = |tflite - keras| / std of likes):",
                  f"{'export':<9}{'KiB':>7}{'of f32':>8}  {'runtime (kernels)':<26}"
                  f"{'ms b1':>7}{'ms b32':>8}"
                  f"{'mean diff':>11}{'max diff':>10}"]
        for name, v in results["models"].items():
            if name == "shipped":
                continue
            for runtime, kernels in RUNTIME_KERNELS:
                key = f"{runtime} ({kernels})"
                r = v[key]
                head = f"{name:<9}{v['bytes'] / 1024:>7.0f}{v['share_of_float32']:>8.0%}  {key:<26}"
                if "error" in r:
                    lines.append(head + f"cannot load: {r['error'][:60]}")
                else:
                    lines.append(head + f"{r['ms_per_photo_batch1']:>7.2f}"
                                 f"{r['ms_per_photo_batch32']:>8.2f}"
                                 f"{r['mean_abs_diff_vs_keras_rel_std']:>11.2%}"
                                 f"{r['max_abs_diff_vs_keras_rel_std']:>10.2%}")
    shipped = results.get("models", {}).get("shipped")
    if shipped:
        lines += ["", f"the shipped default model ({shipped['architecture']}, "
                      f"{shipped['members']} network(s), {shipped['parameters'] or 0:,} "
                      f"parameters, {shipped['bytes'] / 1024:.0f} KiB), same photos:"]
        for runtime, kernels in RUNTIME_KERNELS:
            r = shipped[f"{runtime} ({kernels})"]
            lines.append(f"  {runtime + ' (' + kernels + ')':<26}" + (
                f"cannot load: {r['error'][:60]}" if "error" in r else
                f"ms b1 {r['ms_per_photo_batch1']:.2f}, ms b32 {r['ms_per_photo_batch32']:.2f}"))
    if "watcher" in results:
        s, b = results["watcher"]["steady"], results["watcher"]["burst"]
        lines += ["", f"watcher: {s['photos']} photos at {s['rate_per_s']}/s, close-to-row delay "
                      f"p50 {s['p50_ms']:.0f} ms, p95 {s['p95_ms']:.0f} ms, "
                      f"p99 {s['p99_ms']:.0f} ms",
                  f"burst of {b['photos']}: drained in {b['drain_seconds']:.2f} s; batch-score "
                  f"scored them in {b['batch_score_scoring_seconds']:.2f} s "
                  f"({b['batch_score_seconds']:.2f} s with start-up); ratio {b['ratio']:.2f}"]
    if "ledger" in results:
        lines += ledger_report(results["ledger"])
    if "cluster" in results:
        lines += cluster_report(results["cluster"])
    if "crops" in results:
        lines += crops_report(results["crops"])
    if "accounts" in results:
        lines += accounts_report(results["accounts"])
    if "training" in results:
        lines += ["", "training (spe-train fit, default recipe):"]
        for key, v in results["training"].items():
            if key.isdigit():
                said = (f", {v['peak_of_said']:.2f} of the {v['said_it_needs_gb']:.1f} GB it "
                        "said it would need" if v.get("said_it_needs_gb") else "")
                lines.append(f"{v['photos']} photos: {v['seconds']:.0f} s, "
                             f"peak RSS {v['peak_rss_mib']:.0f} MiB ({v['peak_gb']:.2f} GB, "
                             f"{v['peak_of_2gb']:.2f} of 2 GB{said})")
        cost = results["training"].get("cost_against_decode")
        if cost:
            lines.append(f"its model ({cost['model_bytes'] / 1e6:.2f} MB, {cost['input']} px) "
                         f"against decoding a phone photo at that size ({cost['decode_ms']:.2f} "
                         "ms), one thread, batches of 32:")
            for runtime, kernels in RUNTIME_KERNELS:
                r = cost[f"{runtime} ({kernels})"]
                lines.append(f"  {runtime + ' (' + kernels + ')':<26}" + (
                    f"cannot load: {r['error'][:60]}" if "error" in r else
                    f"{r['ms_per_photo_batch32']:.2f} ms, {r['of_decode']:.1f}x the decode"))
    return "\n".join(lines)


def _throughput_lines(t: dict, what: str) -> list[str]:
    lines = ["", f"throughput, {t['photos']} {what} (photos/s, median), model "
             f"{t['model']} at {t.get('input', 64)} px on {t.get('kernels', '?')}:",
             f"D (decode, one photo, alone) {t['decode_ms']:.2f} ms; I (the model, one "
             f"photo, batches of 32, one thread, alone) {t['model_ms']:.2f} ms",
             f"{'threads':<9}{'decode ceil':>12}{'pipeline ceil':>14}{'batch-score':>12}"
             f"{'of pipeline':>12}{'of decode':>10}{'model thr=1':>12}{'of pipeline':>12}"
             f"{'vs naive':>9}"]
    for key, v in t.items():
        if key.startswith("threads_"):
            lines.append(f"{key[8:]:<9}{v['decode_ceiling']:>12.1f}"
                         f"{v['pipeline_ceiling']:>14.1f}{v['batch_score']:>12.1f}"
                         f"{v['share_of_pipeline']:>12.0%}{v['share_of_ceiling']:>10.0%}"
                         f"{v['batch_score_model_threads_1']:>12.1f}"
                         f"{v['share_of_pipeline_model_threads_1']:>12.0%}"
                         f"{v['vs_naive']:>8.1f}x")
    for key, v in t.items():
        if key.startswith("threads_") and "decode_scaling" in v:
            lines.append(f"{key[8:]} thread(s): decoding alone reaches "
                         f"{v['decode_scaling']:.0%} of T/D here; batch-score is at "
                         f"{v['share_of_scaled_pipeline']:.0%} of the pipeline ceiling "
                         "scaled alike")
    lines.append("how the engine splits the cores: T decoding threads, and the interpreter "
                 "on the caller's thread between batches with T threads of its own (the "
                 "default), so a heavy model's batch takes every core while the decoders "
                 "wait; 'model thr=1' (--model-threads 1) leaves the model one core and "
                 "the other to the decoders, which idles a core when the model is as "
                 "heavy as the decode")
    lines.append(f"naive (full decode, one photo per call, 1 thread): {t['naive']:.1f}")
    if t.get("profile"):
        lines.append(f"batch-score at {THREADS[-1]} threads, {t['profile']}")
    if "one_core" in t:
        lines.append(f"one core (taskset -c 0), 1 decoding thread, 1 interpreter thread: "
                     f"{t['one_core']['photos_per_s']:.1f} photos/s, peak RSS "
                     f"{t['one_core']['peak_rss_mib']:.0f} MiB")
    return lines
