"""Interpreters made on several threads at once (spe rank's crops: one clone of the model
per decode thread) leave standard error where it was. Before, each silenced fd 2 by
saving and restoring it on its own, and two at once could restore /dev/null: spe rank
then finished with every later line on stderr lost (seen in CI as an empty stderr)."""

from __future__ import annotations

import subprocess
import sys

CLONES = r"""
import os, sys, threading
from scorer.model.runtime import Model
model = Model(kernels="fast")
before = os.fstat(2).st_ino
start = threading.Barrier(8)
def clones():
    start.wait()
    for _ in range(25):
        model.clone(1)
threads = [threading.Thread(target=clones) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("same" if os.fstat(2).st_ino == before else "moved", file=sys.stdout)
print("stderr still reaches the caller", file=sys.stderr)
"""


def test_interpreters_made_at_once_on_many_threads_leave_stderr_where_it_was():
    for _ in range(3):
        proc = subprocess.run([sys.executable, "-c", CLONES], capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert proc.stdout.strip() == "same"
        assert proc.stderr.strip().endswith("stderr still reaches the caller"), proc.stderr
