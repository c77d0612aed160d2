"""scorer/scoring/engine.py: one engine, the real starter model, real photos, each policy.

The engine runs in a child process (a TFLite runtime cannot load in a process
that has imported TensorFlow, as other tests' modules do); the script prints
what the engine did, and the assertions are here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from tests.conftest import SAMPLES

SCRIPT = r"""
import json, sys
from scorer.scoring.engine import Engine
from scorer.ledger.ledger import Ledger
from scorer.model.runtime import Model
from scorer.core.settings import BATCH, RANK, WATCH, Policy, Scoring

photos, gone = sys.argv[1:-1], sys.argv[-1]
model, ledger = Model(), Ledger(None, stdout=False)
report = {}
for name, policy in (("first", BATCH), ("again", BATCH), ("forced", RANK), ("watch", WATCH)):
    engine = Engine(model, ledger, Scoring(threads=2, batch_size=2), policy)
    outcomes = [o for batch in engine.score_all([*photos, gone]) for o in batch]
    engine.close()
    report[name] = {"counts": dict(engine.counts),
                    "rows": sorted((o.display, o.row.error if o.row else None)
                                   for o in outcomes if o.row is not None),
                    "same_as": sorted(o.display for o in outcomes if o.same_as),
                    "copies": sorted((o.display, o.row.duplicate_of, o.row.predicted_likes)
                                     for o in outcomes if o.row and o.row.duplicate_of),
                    "likes": {o.display: o.row.predicted_likes
                              for o in outcomes if o.row and o.row.ok},
                    "gone": sorted(o.display for o in outcomes if o.skipped_as == "gone")}
print(json.dumps(report))
"""


def test_the_engine_under_each_policy(tmp_path):
    photos = [str(p) for p in sorted(SAMPLES.glob("*.jpg"))]
    twin = tmp_path / "twin.jpg"
    shutil.copy(photos[0], twin)
    gone = str(tmp_path / "gone.jpg")
    proc = subprocess.run([sys.executable, "-c", SCRIPT, *photos, str(twin), gone],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    n = len(photos)
    # First run: every photo scored once, the twin a row of its own that names the first
    # and repeats its prediction, the vanished one an error row.
    assert report["first"]["counts"] == {"scored": n, "failed": 1, "duplicates": 1}
    assert report["first"]["same_as"] == []
    assert report["first"]["copies"] == [[str(twin), photos[0],
                                          report["first"]["likes"][photos[0]]]]
    assert [e for _, e in report["first"]["rows"] if e] != []
    # Again, same ledger: nothing scored again.
    assert report["again"]["counts"].get("scored", 0) == 0
    # RANK's policy scores again what the ledger has, and every file it is given (a page
    # ranks each photo, the twin too).
    assert report["forced"]["counts"]["scored"] == n + 1
    # The daemon's: a file gone between its event and its read is nothing to report.
    assert report["watch"]["gone"] == [gone]
    assert all(display != gone for display, _ in report["watch"]["rows"])
