"""The daemon's log lines: under journald its priority prefix and the message; anywhere
else the time (UTC, ISO 8601), the level and the message."""

from __future__ import annotations

import logging
import os
import sys
import time

LEVELS = ("debug", "info", "warning", "error")


def set_up_logging(log_level: str) -> None:
    """One handler on stderr at ``log_level`` (one of LEVELS)."""
    level = getattr(logging, log_level.upper())
    # journald adds the time and the unit, and reads the level from the line's syslog
    # priority prefix (<3> error, <4> warning, <6> info, <7> debug: `journalctl -p
    # warning` finds the warnings), so there a line is the prefix and the message.
    # Anywhere else (a terminal, a file) a line starts with its time in UTC, ISO 8601.
    handler = logging.StreamHandler(sys.stderr)
    journald = bool(os.environ.get("JOURNAL_STREAM"))
    handler.setFormatter(SyslogPriority("%(message)s") if journald else UtcIsoFormatter(
        "%(asctime)s %(levelname)s %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


class SyslogPriority(logging.Formatter):
    PRIORITIES = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6,
                  logging.DEBUG: 7}

    def format(self, record: logging.LogRecord) -> str:
        priority = self.PRIORITIES.get(record.levelno, 6)
        return f"<{priority}>" + super().format(record)


class UtcIsoFormatter(logging.Formatter):
    """2026-12-02T18:40:01Z: the time in UTC, ISO 8601, to the second."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created))
