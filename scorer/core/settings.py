"""Every scoring setting, its one default, and the one object that carries them.

Commands build a ``Scoring`` once, from flags, ``SPE_*`` variables and the
settings file (flags win), and pass it whole to batch-score, rank, watch, the
cluster's workers and the engine; nothing downstream restates a default. What a
command wants of the engine beyond the settings (score again what the CSV has,
pass over known failures, follow links) is its ``Policy``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

MIB = 2**20
DEFAULT_THREADS = os.cpu_count() or 1  # decoding threads: one per core
# Interpreter threads: None, as many as the decoding threads. The interpreter runs on the
# caller's thread between the decodes; with one thread of its own, a model as heavy as
# the backbone's (I about 0.8 D) left a core idle whenever the decoders were ahead, and
# batch-score reached 84-88% of the pipeline ceiling at 2 threads, with two 94-97%; the
# light starter before it did the same either way (94%, 93%): docs/BENCHMARKS.md.
# Scoring on the decode threads, each with an interpreter of its own, measured 84-88%:
# model and decoder then share each core's caches photo by photo.
DEFAULT_MODEL_THREADS: int | None = None
CLUSTER_THREADS = 1  # decoding threads per cluster worker: the workers fill the cores
BATCH_SIZE = 32  # photos per interpreter call
# A header claiming more pixels is refused before decoding: 100 megapixels is beyond
# any phone or camera photo and within what the memory budget can judge.
DEFAULT_MAX_PIXELS = 100_000_000
# Memory for the decodes in flight (MiB). Fits a Raspberry Pi Zero 2 (512 MB): the daemon
# with the model loaded takes about 80 MiB, the system about 150; this is what is left,
# with a margin.
DEFAULT_MAX_MEMORY_MIB = 256
DEFAULT_RUNTIME = "auto"
DEFAULT_KERNELS = "auto"
# rank's crop suggestions: candidates per photo (all three Instagram shapes at every size,
# some places), and the cells per side of the occlusion map.
DEFAULT_CROPS = 27
OCCLUSION_GRID = 4
# A created-only file unchanged this long (seconds) is complete (scorer/watch/completion.py).
SETTLE_SECONDS = 1.0
# What `spe cluster-score` writes its partitions as (scorer/ledger/partitions.py).
PARTITION_FORMATS = ("csv", "parquet")
# The range of every numeric setting, from flags, SPE_* variables and the settings file
# alike (scorer/cli.py reads it; floats must also be finite): past these a thread count
# exhausted the memory or hung, and a NaN duration scored half-written uploads.
LIMITS: dict[str, tuple[float, float]] = {
    "threads": (1, 256), "model_threads": (1, 256), "batch_size": (1, 1024),
    "max_pixels": (1, 1_000_000_000), "max_memory": (16, 1 << 20),  # MiB
    "crops": (1, 200), "workers": (1, 4096), "partition_size": (1, 10_000_000),
    "rescan_interval": (0.1, 86_400.0), "settle": (0.0, 3_600.0),
}
# The daemon scans the inbox this often (seconds), because inotify events get lost.
RESCAN_INTERVAL = 60.0
# A photo that ends before its format's end (an upload that stalled or closes in two
# parts) gets its row, and is moved, only once unchanged this long (seconds): its
# writer may still be adding to it.
CUT_SHORT_SECONDS = 30.0


@dataclass(frozen=True)
class Scoring:
    """How photos are read, decoded and run: the same for every command."""

    threads: int = DEFAULT_THREADS
    model_threads: int | None = DEFAULT_MODEL_THREADS  # None: as many as ``threads``
    batch_size: int = BATCH_SIZE
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_memory: int | None = DEFAULT_MAX_MEMORY_MIB * MIB  # bytes; None: unbounded
    runtime: str = DEFAULT_RUNTIME
    kernels: str = DEFAULT_KERNELS

    @property
    def interpreter_threads(self) -> int:
        """The interpreter's threads: as set, else one per decoding thread."""
        return self.model_threads if self.model_threads is not None else self.threads

    @classmethod
    def from_options(cls, max_memory_mib: int | None = None, **given: object) -> Scoring:
        """From a command's options (memory in MiB, as the flag takes it); an option
        left as None keeps its default."""
        values = {name: value for name, value in given.items() if value is not None}
        if max_memory_mib is not None:
            values["max_memory"] = max_memory_mib * MIB
        return cls(**values)  # type: ignore[arg-type]


DEFAULTS = Scoring()


@dataclass(frozen=True)
class Policy:
    """What the calling command wants of the engine beyond the settings."""

    force: bool = False  # score again photos the CSV already has for this model
    skip_failed: bool = False  # pass over a file whose error row is written (no re-report)
    follow_symlinks: bool = True  # a command line's links are the person's; an inbox's are not
    missing_ok: bool = False  # a file gone between its event and its read is nothing to report
    # Seconds a cut-short photo must be unchanged before its row; 0: scored as it is.
    wait_cut_short: float = 0.0


BATCH = Policy()
RANK = Policy(force=True)  # ranks what it is given, whatever a CSV says
WATCH = Policy(skip_failed=True, follow_symlinks=False, missing_ok=True,
               wait_cut_short=CUT_SHORT_SECONDS)
