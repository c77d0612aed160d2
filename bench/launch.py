"""Run a command and report its own peak RSS: ``python -m bench.launch OUT CMD...``.

A child's ru_maxrss starts from its parent's resident size at fork, so a
benchmark process holding numpy and photos would inflate every figure. This
launcher is small, and starts the command with posix_spawn (no copy of its
memory); it writes "seconds maxrss_kib exit_code" to OUT.
"""

import os
import sys
import time

out, *command = sys.argv[1:]
started = time.perf_counter()
pid = os.posix_spawnp(command[0], command, os.environ)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
with open(out, "w") as handle:
    handle.write(f"{seconds} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}\n")
sys.exit(os.waitstatus_to_exitcode(status))
