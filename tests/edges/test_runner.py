"""The child-process edge, with real processes: a child flooding its output to a slow reader
(issue 11: minstall grew to 1.5 GB RSS)."""

from __future__ import annotations

import subprocess
import sys

FLOOD = r"""
import re, sys, time
from mirrorinstall.run.runner import run_child

class Slow:
    def write(self, data):
        time.sleep(0.0005)  # a terminal slower than the child
    def flush(self):
        pass

CODE = "import sys\nfor _ in range(3200): sys.stdout.buffer.write(bytes(65536))"
child = [sys.executable, "-c", CODE]
result = run_child(child, use_pty=False, out=Slow(), err_out=Slow(), err=lambda line: None)
# VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across exec, so a child forked
# from a big parent (the test process holds the farm's content) starts at the parent's size
status = open("/proc/self/status").read()
peak_kb = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))
print(result.exit_code, peak_kb, len(result.tail))
"""


def test_a_flood_of_child_output_keeps_minstalls_memory_bounded() -> None:
    """200 MiB written as fast as a child can to a reader that takes half a millisecond per
    64 KiB: before, the reader threads queued all of it (peak RSS about the flood's size)."""
    proc = subprocess.run(
        [sys.executable, "-c", FLOOD], capture_output=True, text=True, timeout=110, check=True
    )
    code, peak_kb, tail = (int(x) for x in proc.stdout.split())
    assert code == 0 and tail > 0
    assert peak_kb < 80 * 1024, f"peak RSS {peak_kb / 1024:.0f} MB"


def test_a_child_killed_by_a_signal_exits_as_a_shell_reports_it() -> None:
    """-9 from Popen reached the shell as 247; a shell says 137."""
    from mirrorinstall.run.runner import run_child

    code = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    result = run_child([sys.executable, "-c", code], use_pty=False, err=lambda line: None)
    assert result.exit_code == 137
