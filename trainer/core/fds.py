"""A file descriptor sent elsewhere for a while: what native code (TensorFlow's C++
logging, Ray's core) writes there, which Python's own streams cannot catch."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def redirected(fd: int, target: int | None = None) -> Iterator[None]:
    """``fd`` goes to descriptor ``target`` (None: /dev/null) for the duration; Python's
    buffered streams are flushed first and last, so their lines land where they belong."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        if target is None:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), fd)
        else:
            os.dup2(target, fd)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved, fd)
        os.close(saved)
