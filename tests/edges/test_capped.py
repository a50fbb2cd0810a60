"""core/capped.py with real child processes: a helper that prints without end is stopped at
the limit (issue 21: nvidia-smi or conda printing hundreds of MB was held in memory whole),
a well-behaved one reads as subprocess.run reads it."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from mirrorinstall.core import capped

ENDLESS = "import sys\nwhile True: sys.{}.write('x' * 65536)"


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_a_helper_printing_without_end_is_stopped_at_the_limit(stream: str) -> None:
    began = time.monotonic()
    with pytest.raises(capped.TooMuchOutput, match="printed more than 1 MiB and was stopped"):
        capped.run([sys.executable, "-c", ENDLESS.format(stream)], limit=1024 * 1024, timeout=60)
    assert time.monotonic() - began < 20


def test_an_answer_reads_as_subprocess_run_reads_it() -> None:
    script = (
        "import sys; sys.stdout.write('a\\r\\nb\\n'); sys.stderr.write('e' * 200000); sys.exit(3)"
    )
    argv = [sys.executable, "-c", script]
    ours = capped.run(argv, text=True, timeout=60)
    theirs = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert (ours.returncode, ours.stdout, ours.stderr) == (3, theirs.stdout, theirs.stderr)
    raw = capped.run(argv, timeout=60)
    assert raw.stdout == b"a\r\nb\n" and len(raw.stderr) == 200000


def test_the_deadline_stops_the_helper() -> None:
    began = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        capped.run([sys.executable, "-c", "import time; time.sleep(60)"], timeout=1)
    assert time.monotonic() - began < 15


def test_bytes_the_locale_cannot_read_are_replaced_not_an_exception() -> None:
    """A helper printing GBK (a Chinese Windows' nvidia-smi) under a UTF-8 locale: the caller
    gets text with replacement characters, as it can show, not a UnicodeDecodeError."""
    script = "import sys; sys.stdout.buffer.write('驱动'.encode('gbk') + b' 535.104.05')"
    got = capped.run([sys.executable, "-c", script], text=True, timeout=60)
    assert got.stdout.endswith(" 535.104.05") and "\ufffd" in got.stdout
