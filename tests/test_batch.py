"""``spe batch-score`` through the real command, on real photos and broken files."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import BIN, REPO, SAMPLES, spe
from tests.csvcheck import read_rows
from tests.helpers import DROP_DAC, bomb_png, run_on_a_terminal


def test_samples_score_with_the_shipped_model(photos, tmp_path):
    out = tmp_path / "scores.csv"
    proc = spe("batch-score", str(photos), "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = read_rows(out)
    assert len(rows) == 5 and {r["status"] for r in rows} == {"ok"}
    for row in rows:
        assert float(row["predicted_likes"]) >= 0
        assert 0 <= float(row["percentile"]) <= 100
        assert len(row["sha256"]) == 64 and len(row["model"]) == 12
        assert row["scored_at"].endswith("Z")
    assert "scored 5, skipped 0, failed 0" in proc.stderr


def test_csv_to_stdout(photos):
    proc = spe("batch-score", str(photos / "rocket.jpg"))
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("scored_at,path,sha256") and len(lines) == 2


def modules_after_batch_score(photos: Path, tmp_path: Path) -> tuple[set[str], str]:
    """The top-level modules that `spe batch-score` (run in a fresh interpreter, as the
    command would) imported, and its exit status."""
    code = (
        "import sys\nfrom scorer.cli import app\n"
        "try:\n    app(sys.argv[1:])\nexcept SystemExit as e:\n    code = e.code\n"
        "print('MODULES', code, *sorted({m.split('.')[0] for m in sys.modules}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, "batch-score", str(photos), "--out",
                           str(tmp_path / "s.csv")], capture_output=True, text=True, cwd=tmp_path)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("MODULES ")), "")
    assert line, proc.stdout + proc.stderr
    _, code_seen, *modules = line.split()
    return set(modules), code_seen


def test_scorer_never_imports_tensorflow(photos, tmp_path):
    modules, code = modules_after_batch_score(photos, tmp_path)
    assert code == "0"
    assert not modules & {"tensorflow", "keras", "trainer", "tf_keras"}, modules


def test_scoring_imports_no_pydantic(photos, tmp_path):
    """typer 0.29 imports pydantic to check option values: about 0.15 s of every start
    (issue 15's cold start); the typer spe asks for does not."""
    modules, code = modules_after_batch_score(photos, tmp_path)
    assert code == "0"
    assert "pydantic" not in modules


def test_profile_says_where_the_time_went(photos, tmp_path):
    proc = spe("batch-score", str(photos), "--out", str(tmp_path / "s.csv"),
               env={"SPE_PROFILE": "1"})
    assert proc.returncode == 0, proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("profile: reading and hashing "), line
    for part in ("decoding", "model", "writing rows", "decoders waiting for work",
                 "once every photo was handed out", "wall"):
        assert part in line, line


def test_bad_inputs_get_error_rows_and_the_batch_goes_on(photos, tmp_path):
    grace = (SAMPLES / "grace_hopper.jpg").read_bytes()
    (photos / "empty.jpg").write_bytes(b"")
    (photos / "truncated.jpg").write_bytes(grace[: len(grace) // 3])
    (photos / "text.jpg").write_text("just some text\n")
    (photos / "bomb.png").write_bytes(bomb_png())
    (photos / "loop.jpg").symlink_to(photos / "loop.jpg")
    Image.open(SAMPLES / "rocket.jpg").save(photos / "anim.gif")
    out = tmp_path / "scores.csv"
    proc = spe("batch-score", str(photos), str(photos / "anim.gif"), "--out", str(out))
    assert proc.returncode == 1, proc.stderr
    rows = {Path(r["path"]).name: r for r in read_rows(out)}
    expected = {
        "empty.jpg": "empty file",
        "truncated.jpg": "corrupt or truncated",
        "text.jpg": "not a JPEG, PNG or WebP image",
        "anim.gif": "not a JPEG, PNG or WebP image",
        "bomb.png": "50000x50000 pixels exceeds the limit",
        "loop.jpg": "symlink loop",
    }
    for name, reason in expected.items():
        assert rows[name]["status"] == "error" and reason in rows[name]["error"], rows[name]
        assert rows[name]["predicted_likes"] == "" and rows[name]["percentile"] == ""
        assert f"{name}: " in proc.stderr
    good = [r for r in rows.values() if r["status"] == "ok"]
    assert len(good) == 5
    assert "scored 5, skipped 0, failed 6" in proc.stderr


def test_max_pixels_is_configurable(photos, tmp_path):
    proc = spe("batch-score", str(photos / "rocket.jpg"), "--max-pixels", "1000")
    assert proc.returncode == 1
    assert "640x427 pixels exceeds the limit of 1,000" in proc.stdout


# Root reads everything. As root, the scorer runs without the two capabilities
# that override file permissions, so the permission bits count, as for a user.
def test_unreadable_file_gets_an_error_row(photos, tmp_path):
    os.chmod(photos / "rocket.jpg", 0o000)
    out = tmp_path / "s.csv"
    proc = subprocess.run([*DROP_DAC, str(BIN / "spe"), "batch-score", str(photos), "--out",
                           str(out)], capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    rows = {Path(r["path"]).name: r for r in read_rows(out)}
    assert rows["rocket.jpg"]["error"] == "permission denied"
    assert rows["rocket.jpg"]["sha256"] == ""
    assert sum(r["status"] == "ok" for r in rows.values()) == 4


def test_unusual_images_score(tmp_path):
    source = Image.open(SAMPLES / "grace_hopper.jpg").convert("RGB")
    folder = tmp_path / "odd"
    folder.mkdir()
    source.convert("L").save(folder / "grey.jpg")
    source.convert("CMYK").save(folder / "cmyk.jpg")
    source.convert("RGBA").save(folder / "alpha.png")
    cv2_grey16 = (np.asarray(source.convert("L"), np.uint16) * 257)
    import cv2

    cv2.imwrite(str(folder / "deep.png"), cv2_grey16)
    exif = source.getexif()
    exif[0x0112] = 6
    source.save(folder / "ROTATED.JPG", exif=exif.tobytes())
    source.save(folder / "photo.webp")
    out = tmp_path / "s.csv"
    proc = spe("batch-score", str(folder), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert sorted(Path(r["path"]).name for r in read_rows(out)) == sorted(
        ["grey.jpg", "cmyk.jpg", "alpha.png", "deep.png", "ROTATED.JPG", "photo.webp"])


def test_rerun_skips_and_force_rescores(photos, tmp_path):
    out = tmp_path / "s.csv"
    assert spe("batch-score", str(photos), "--out", str(out)).returncode == 0
    again = spe("batch-score", str(photos), "--out", str(out))
    assert again.returncode == 0
    assert "scored 0, skipped 5" in again.stderr
    assert len(read_rows(out)) == 5
    forced = spe("batch-score", str(photos), "--out", str(out), "--force")
    assert forced.returncode == 0 and "scored 5, skipped 0" in forced.stderr
    rows = read_rows(out)
    assert len(rows) == 10
    first, second = rows[:5], rows[5:]
    assert sorted((r["path"], r["predicted_likes"]) for r in first) == sorted(
        (r["path"], r["predicted_likes"]) for r in second)


def test_folders_globs_recursion_and_junk(photos, tmp_path):
    nested = photos / "trip" / "day1"
    nested.mkdir(parents=True)
    # Different bytes from every other photo: a copy would be skipped as already scored.
    Image.open(SAMPLES / "rocket.jpg").save(nested / "Launch.JPEG", quality=70)
    shutil.copy(SAMPLES / "rocket.jpg", photos / ".hidden.jpg")
    shutil.copy(SAMPLES / "rocket.jpg", photos / "._rocket.jpg")
    (photos / ".DS_Store").write_bytes(b"\x00\x00")
    (photos / "@eaDir").mkdir()
    shutil.copy(SAMPLES / "rocket.jpg", photos / "@eaDir" / "thumb.jpg")
    (photos / "notes.txt").write_text("not a photo")
    flat = spe("batch-score", str(photos))
    assert flat.returncode == 0 and len(flat.stdout.splitlines()) == 1 + 5
    deep = spe("batch-score", str(photos), "--recursive")
    assert deep.returncode == 0 and len(deep.stdout.splitlines()) == 1 + 6
    assert "Launch.JPEG" in deep.stdout and "thumb.jpg" not in deep.stdout
    globbed = spe("batch-score", str(photos / "*.png"))
    assert globbed.returncode == 0 and len(globbed.stdout.splitlines()) == 1 + 2
    # A path or pattern that matches nothing is a usage error, never a CSV row.
    for nothing in (photos / "nothing-*.jpg", photos / "vanished.jpg"):
        proc = spe("batch-score", str(photos / "*.png"), str(nothing))
        assert proc.returncode == 2 and proc.stdout == ""
        assert proc.stderr == f"spe: {nothing}: no such file, folder or matching photo\n"


def test_formula_like_names_are_neutralised(tmp_path):
    rocket = Image.open(SAMPLES / "rocket.jpg")
    for quality, name in enumerate(("=HYPERLINK(1).jpg", "+1.jpg", "-2.jpg", "@SUM.jpg",
                                    "a,b \"c\".jpg"), start=60):
        rocket.save(tmp_path / name, quality=quality)  # distinct bytes: none skipped
    (tmp_path / "=broken.jpg").write_text("=1+1")
    out = tmp_path / "s.csv"
    names = ["=HYPERLINK(1).jpg", "+1.jpg", "-2.jpg", "@SUM.jpg", "a,b \"c\".jpg", "=broken.jpg"]
    proc = spe("batch-score", "--out", str(out), "--", *names, cwd=tmp_path)
    assert proc.returncode == 1
    paths = {r["path"] for r in read_rows(out)}
    assert paths == {"'=HYPERLINK(1).jpg", "'+1.jpg", "'-2.jpg", "'@SUM.jpg", "a,b \"c\".jpg",
                     "'=broken.jpg"}


def _many_photos(folder: Path, n: int) -> None:
    from trainer.data.synth import make_synthetic

    make_synthetic(folder, n=n, seed=5)


def test_kill_9_then_rerun_loses_nothing_and_repeats_nothing(tmp_path):
    data = tmp_path / "many"
    _many_photos(data, 1500)
    images = data / "Images (jpg)"
    out = tmp_path / "s.csv"
    proc = subprocess.Popen([str(BIN / "spe"), "batch-score", str(images), "--out", str(out),
                             "--threads", "1", "--batch-size", "8"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if out.exists() and out.stat().st_size > 20_000:  # about a hundred rows in
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = read_rows(out) if out.read_bytes().endswith(b"\r\n") else None
    assert before is None or len(before) < 1500, "the kill came too late to test anything"
    rerun = spe("batch-score", str(images), "--out", str(out), timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    rows = read_rows(out)
    assert len(rows) == 1500
    assert len({r["path"] for r in rows}) == 1500
    assert {r["status"] for r in rows} == {"ok"}


def test_half_row_from_an_old_crash_is_cut_off(photos, tmp_path):
    out = tmp_path / "s.csv"
    assert spe("batch-score", str(photos / "rocket.jpg"), "--out", str(out)).returncode == 0
    with open(out, "ab") as handle:
        handle.write(b'2026-01-01T00:00:00.000Z,"half a pa')
    proc = spe("batch-score", str(photos), "--out", str(out))
    assert proc.returncode == 0
    assert "cut off a half row" in proc.stderr
    assert len(read_rows(out)) == 5


def test_default_model_from_a_regular_install(tmp_path, photos):
    """A non-editable install (copied into a target folder) finds its model from anywhere."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(REPO)],
                   check=True, capture_output=True, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("SPE_MODEL", None)
    info = subprocess.run([sys.executable, "-m", "scorer", "info"], capture_output=True,
                          text=True, cwd=elsewhere, env=env)
    assert info.returncode == 0, info.stderr
    assert f"{target}/scorer/models/default.tflite" in info.stdout
    scored = subprocess.run([sys.executable, "-m", "scorer", "batch-score", str(photos)],
                            capture_output=True, text=True, cwd=elsewhere, env=env)
    assert scored.returncode == 0 and len(scored.stdout.splitlines()) == 6


def test_environment_variables_and_flags(photos, tmp_path):
    env_out = tmp_path / "env.csv"
    flag_out = tmp_path / "flag.csv"
    proc = spe("batch-score", str(photos / "rocket.jpg"), env={"SPE_OUT": str(env_out)})
    assert proc.returncode == 0 and env_out.exists()
    proc = spe("batch-score", str(photos / "rocket.jpg"), "--out", str(flag_out),
               env={"SPE_OUT": str(env_out)})
    assert proc.returncode == 0 and len(read_rows(env_out)) == 1 and len(read_rows(flag_out)) == 1
    bad = spe("batch-score", str(photos), env={"SPE_RUNTIME": "nonsense"})
    assert bad.returncode == 2 and bad.stderr.strip() == (
        "spe: Invalid value for '--runtime' (env var: 'SPE_RUNTIME'): 'nonsense' is not one "
        "of 'auto', 'litert', 'tflite-runtime'. (see 'spe batch-score --help')")


@pytest.mark.parametrize("runtime", ["tflite-runtime", "litert"])
def test_both_runtimes_give_the_same_scores(photos, runtime):
    """On the built-in kernels, bit for bit (auto may take XNNPACK where the card allows)."""
    proc = spe("batch-score", str(photos), "--runtime", runtime, "--kernels", "exact")
    assert proc.returncode == 0
    reference = spe("batch-score", str(photos), "--runtime", "tflite-runtime", "--kernels",
                    "exact")
    strip = lambda text: [line.split(",", 1)[1] for line in text.splitlines()[1:]]  # noqa: E731
    assert sorted(strip(proc.stdout)) == sorted(strip(reference.stdout))
    info = spe("info", "--runtime", runtime)
    assert f"runtime:       {runtime}" in info.stdout


def test_progress_bar_on_an_interactive_terminal(photos, tmp_path):
    """On a terminal, stderr shows a progress bar; in a pipe (above), only the summary."""
    status, text = run_on_a_terminal([str(BIN / "spe"), "batch-score", str(photos), "--out",
                                      str(tmp_path / "s.csv")])
    assert status == 0
    assert "\rscoring [" in text and "5/5" in text
    assert "scored 5, skipped 0, failed 0" in text


def test_a_run_that_scored_nothing_gives_no_rate(photos, tmp_path):
    out = tmp_path / "s.csv"
    assert spe("batch-score", str(photos), "--out", str(out)).returncode == 0
    again = spe("batch-score", str(photos), "--out", str(out))
    assert again.returncode == 0 and "photos/s" not in again.stderr, again.stderr
    assert again.stderr.startswith("scored 0, skipped 5")
