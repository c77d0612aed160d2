"""Run ``spe watch`` as a real subprocess and wait on what it writes."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from tests.conftest import BIN
from tests.csvcheck import read_rows


class Daemon:
    def __init__(self, inbox: Path, out: Path, *args: str, env: dict | None = None,
                 log: Path | None = None, prefix: list[str] | None = None,
                 preexec_fn=None, cwd: Path | None = None) -> None:
        self.inbox, self.out = inbox, out
        self.log = log or out.with_suffix(".log")
        self._log_handle = open(self.log, "ab")
        # The log reaches its file through a pipe and this process, as the service's
        # reaches journald: limits set on the daemon (RLIMIT_FSIZE) are not the log's.
        self.proc = subprocess.Popen(
            [*(prefix or []), str(BIN / "spe"), "watch", str(inbox), "--out", str(out),
             "--settle", "0.3", "--threads", "2", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
            preexec_fn=preexec_fn, cwd=cwd,
        )
        self._copier = threading.Thread(target=self._copy_log, daemon=True)
        self._copier.start()
        self.wait_for_log("watching ")

    def _copy_log(self) -> None:
        assert self.proc.stdout is not None
        for chunk in iter(lambda: self.proc.stdout.read1(65536), b""):
            self._log_handle.write(chunk)
            self._log_handle.flush()

    def _close_log(self) -> None:
        self._copier.join(timeout=10)
        self._log_handle.close()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 30, count: int = 1) -> None:
        deadline = time.monotonic() + timeout
        while self.log_text().count(text) < count:
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited {self.proc.returncode}:\n{self.log_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} in the log after {timeout} s:\n"
                                     f"{self.log_text()}")
            time.sleep(0.05)

    def rows(self) -> list[dict[str, str]]:
        return read_rows(self.out) if self.out.exists() else []

    def wait_rows(self, n: int, timeout: float = 60) -> list[dict[str, str]]:
        deadline = time.monotonic() + timeout
        while True:
            whole = self.out.exists() and self.out.read_bytes().endswith(b"\r\n")
            rows = self.rows() if whole else []
            if len(rows) >= n:
                return rows
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited {self.proc.returncode}:\n{self.log_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(rows)} rows, not {n}, after {timeout} s:\n"
                                     f"{self.log_text()[-3000:]}")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._close_log()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self._close_log()
