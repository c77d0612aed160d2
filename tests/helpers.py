"""Test helpers shared by several test modules (so tests never import each other)."""

from __future__ import annotations

import os
import struct
import time
import zlib

# Run a command as root without the capabilities that let root read any file,
# so that a file's permissions apply to it (an unreadable photo stays unreadable).
DROP_DAC = (["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--inh-caps",
             "-dac_override,-dac_read_search"] if os.geteuid() == 0 else [])


# Run a command as the unprivileged uid 65534, able to read and search the installed
# program wherever the checkout is (a CI clone may be in a 0700 folder) and nothing
# more: it writes only where uid 65534 may.
AS_NOBODY = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
             "--inh-caps", "+dac_read_search", "--ambient-caps", "+dac_read_search"]


def png_header(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk claiming ``width`` x ``height`` RGB pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + chunk + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))


def bomb_png() -> bytes:
    """A PNG header claiming 50000x50000 pixels, and nothing to decode."""
    return png_header(50000, 50000) + b"\x00" * 64


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


TINY_MODEL = """
import sys, numpy as np, keras
from pathlib import Path
from trainer.export.int8 import export_int8
size, outputs = int(sys.argv[2]), int(sys.argv[3])
inputs = keras.Input((size, size, 3))
x = keras.layers.GlobalAveragePooling2D()(inputs)
model = keras.Model(inputs, keras.layers.Dense(outputs)(x))
pixels = np.random.default_rng(0).integers(0, 255, (20, size, size, 3), dtype=np.uint8)
Path(sys.argv[1]).write_bytes(export_int8(model, pixels, 1 / 255))
"""


def export_tiny_model(path, size: int = 64, outputs: int = 1) -> None:
    """A real int8 .tflite from the real converter (in a child process: TensorFlow must not
    load in the tests' own), pooling and one dense layer of ``outputs`` values."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", TINY_MODEL, str(path), str(size), str(outputs)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


def run_on_a_terminal(command: list[str], timeout: float = 60) -> tuple[int, str]:
    """Run ``command`` with its stderr on a real pseudo-terminal; (exit status, what the
    terminal was sent)."""
    import pty
    import subprocess

    leader, follower = pty.openpty()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=follower,
                            stdin=subprocess.DEVNULL)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    return proc.wait(timeout=timeout), seen.decode(errors="replace")
