"""Run a short-lived helper program and keep its output, up to a bound.  [edge: process]

minstall asks other programs small questions (``nvidia-smi --query-gpu``, ``conda config
--show``, ``pip install --dry-run --report -``, a framework's device check). A broken or
hostile one can print without end (issue 21: a stand-in printing hundreds of MB held them
all in memory). :func:`run` is ``subprocess.run(..., capture_output=True)`` with a limit on
what is kept: past ``limit`` bytes on stdout and stderr together the child is stopped and
:class:`TooMuchOutput` (an ``OSError``, so every caller's "could not run" path takes it)
says so. Both pipes are read by threads, so a child filling one while we wait on the other
cannot block, on Windows as on POSIX.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import threading
from collections.abc import Mapping, Sequence

from mirrorinstall.core import hostos

#: what a helper may print before it is stopped; the callers' answers are far smaller
#: (a dry run of a thousand conda packages is about 2 MB of JSON)
DEFAULT_LIMIT = 32 * 1024 * 1024
_CHUNK = 64 * 1024


class TooMuchOutput(OSError):
    """A helper printed more than its limit; it was stopped."""


def run(
    argv: Sequence[str],
    *,
    capture_output: bool = True,
    text: bool = False,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    stdin: int | None = subprocess.DEVNULL,
    limit: int = DEFAULT_LIMIT,
) -> subprocess.CompletedProcess:
    """``subprocess.run`` for a helper whose output is read, at most ``limit`` bytes of it.
    Raises ``OSError`` (the program cannot run; :class:`TooMuchOutput`) and
    ``subprocess.TimeoutExpired`` as ``subprocess.run`` does; ``text`` decodes as it does
    (the locale's encoding, universal newlines)."""
    del capture_output  # always captured: the signature is subprocess.run's, for callers
    proc = subprocess.Popen(
        list(argv),
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env) if env is not None else None,
    )
    kept: dict[int, list[bytes]] = {1: [], 2: []}
    size = [0]
    over = threading.Event()
    lock = threading.Lock()

    def drain(which: int, pipe: io.BufferedReader) -> None:
        with contextlib.suppress(OSError, ValueError):
            while chunk := pipe.read1(_CHUNK):
                with lock:
                    if over.is_set():
                        continue  # keep the pipe empty until the child is gone
                    size[0] += len(chunk)
                    if size[0] > limit:
                        over.set()
                        with contextlib.suppress(OSError):
                            proc.kill()
                        continue
                    kept[which].append(chunk)

    assert proc.stdout is not None and proc.stderr is not None
    readers = [
        threading.Thread(target=drain, args=(1, proc.stdout), daemon=True),
        threading.Thread(target=drain, args=(2, proc.stderr), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        proc.wait(timeout)
    except BaseException:  # the deadline, or Ctrl-C: the helper does not outlive us
        proc.kill()
        proc.wait()
        raise
    finally:
        for reader in readers:
            # a grandchild may hold the pipes open after the child has gone
            reader.join(5)
        for pipe in (proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                pipe.close()
    if over.is_set():
        raise TooMuchOutput(
            f"{argv[0]} printed more than {limit // (1024 * 1024)} MiB and was stopped"
        )
    out, err = b"".join(kept[1]), b"".join(kept[2])
    if text:
        return subprocess.CompletedProcess(argv, proc.returncode, _decoded(out), _decoded(err))
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def _decoded(data: bytes) -> str:
    """As ``subprocess.run(text=True)`` reads a pipe (the locale's encoding, universal
    newlines), but a byte the encoding cannot read is replaced, not a UnicodeDecodeError that
    no caller expects (a GBK nvidia-smi message under a UTF-8 locale)."""
    return io.TextIOWrapper(
        io.BytesIO(data), encoding=hostos.locale_encoding(), errors="replace"
    ).read()
