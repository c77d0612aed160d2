"""The export's calibration candidates, made a chunk at a time (the fit's old memory
peak was every variant of every photo at once, in float32), are the very candidates the
whole set of variants gives. In a subprocess: it imports TensorFlow."""

from __future__ import annotations

import subprocess
import sys

from scorer.model.runtime import LOADERS, PACKAGES

SCRIPT = """
import numpy as np
from trainer.export.int8 import VARIANT_CHUNK, VARIANTS, candidate_pool, variant
rng = np.random.default_rng(3)
for n in (7, 61, 300):
    pixels = rng.integers(0, 256, (n, 20, 20, 3), dtype=np.uint8)
    pixels[0] = 0  # a flat photo: its contrast variant is itself
    whole = np.concatenate([variant(pixels, kind) for kind in range(VARIANTS)])
    for chosen in (np.arange(len(whole)),
                   np.sort(rng.choice(len(whole), min(len(whole), 400), replace=False))):
        assert np.array_equal(candidate_pool(pixels, chosen), whole[chosen]), (n, len(chosen))
    assert np.array_equal(variant(pixels, 1), pixels[:, :, ::-1])
    assert (variant(pixels, 2) <= pixels).all() and (variant(pixels, 3) >= pixels).all()
    grey = variant(pixels, 5)
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()
assert VARIANT_CHUNK < 300
print("ok")
"""


def test_the_candidates_made_in_chunks_are_those_of_all_variants_at_once():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_every_runtime_names_its_package():
    """The trainer tells which runtimes will verify an export by their packages."""
    assert set(PACKAGES) == set(LOADERS)
