"""Round three of "nothing lost", item 15: one row per photo's bytes in `spe rank --out`,
bounded memory for the daemon's life, names kept byte for byte, and a CSV whose folder
cannot be written to costs no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import spe
from tests.csvcheck import read_rows
from tests.daemon import Daemon
from tests.helpers import DROP_DAC

pytestmark = [pytest.mark.fault]


def test_rank_out_writes_one_row_for_identical_copies(tmp_path, burst):
    """Before, `spe rank --out` wrote an ok row for each copy; now as batch-score: one ok
    row per photo's bytes, and a duplicate row for each copy."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.jpg", "copy-of-a.jpg", "another-copy.jpg"):
        shutil.copy(burst[0], folder / name)
    shutil.copy(burst[1], folder / "b.jpg")
    out = tmp_path / "s.csv"
    proc = spe("rank", str(folder), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = read_rows(out)
    assert sorted(r["status"] for r in rows) == ["duplicate", "duplicate", "ok", "ok"], rows


BOUNDED = """
import sys
from pathlib import Path
import scorer.scoring.copies as copies
from scorer.scoring.engine import Engine
from scorer.core.settings import Scoring
from scorer.ledger.ledger import Ledger
from scorer.model.runtime import Model
copies.FIRST_OK_KEPT = 3
ledger = Ledger(Path(sys.argv[1]))
engine = Engine(Model(), ledger, Scoring(threads=1))
for outcomes in engine.score_all(sys.argv[2:]):
    pass
print(len(engine._firsts))
engine.close()
ledger.close()
"""


def test_the_names_of_scored_photos_are_kept_boundedly(tmp_path, burst):
    """Before, every scored photo's sha256 and name stayed in memory for the daemon's life
    (about 330 MB per million photos, on a 512 MB Pi)."""
    photos = [str(p) for p in burst[:12]]
    proc = subprocess.run([sys.executable, "-c", BOUNDED, str(tmp_path / "s.csv"), *photos],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert int(proc.stdout.strip()) == 3


@pytest.mark.slow
def test_a_name_that_is_not_utf8_is_kept_byte_for_byte_in_processed(tmp_path, burst):
    """Before, the bytes that are not UTF-8 were dropped from the name in processed/."""
    inbox, processed = tmp_path / "inbox", tmp_path / "processed"
    inbox.mkdir()
    name = b"caf\xe9 \xff.jpg"
    daemon = Daemon(inbox, tmp_path / "s.csv", "--processed", str(processed), "--log-level",
                    "debug")
    try:
        shutil.copy(burst[0], os.path.join(os.fsencode(inbox), name))
        daemon.wait_for_log("moved ")
    finally:
        assert daemon.stop() == 0
    assert os.listdir(os.fsencode(processed)) == [name]


@pytest.mark.slow
def test_a_csv_in_a_folder_spe_cannot_write_to(tmp_path, burst):
    """The CSV writable, its folder not (no index, no journal there): before, a
    PermissionError traceback at start."""
    inbox, state = tmp_path / "inbox", tmp_path / "state"
    inbox.mkdir()
    state.mkdir()
    out = state / "s.csv"
    out.write_text("scored_at,path,sha256,predicted_likes,percentile,model,status,error\r\n")
    state.chmod(0o555)
    try:
        daemon = Daemon(inbox, out, prefix=DROP_DAC)
        try:
            shutil.copy(burst[0], inbox / "a.jpg")
            assert daemon.wait_rows(1)[0]["status"] == "ok"
        finally:
            assert daemon.stop() == 0
    finally:
        state.chmod(0o755)
    assert "Traceback" not in daemon.log_text()
