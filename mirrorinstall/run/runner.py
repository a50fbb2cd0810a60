"""Run conda/pip/uv as a child, never through a shell, showing its progress live.  [edge: process]

- On a terminal (POSIX) the child gets a pseudo-terminal, so it draws its own progress bars
  and prompts work; otherwise its output passes through as it comes.
- Not a terminal (CI): after every ``heartbeat_s`` of silence a heartbeat line (elapsed time,
  output so far) goes to stderr, so CI does not kill a quiet job; with ``GITHUB_ACTIONS=true``
  the child's output is folded in a ``::group::``.
- A bounded tail of the output is kept to classify a failure.
- Ctrl-C (SIGINT), SIGTERM and SIGHUP are passed to the child; minstall waits for it and
  reports ``interrupted`` with the signal (its exit code is then 128 + the signal's number).
- A child killed by a signal gives 128 + the signal's number, as a shell reports it (Python's
  negative return code would reach the shell as 256 - N).

Under Windows' rules (core/hostos.py):
- no pseudo-terminal: the child's output always comes through pipes;
- Ctrl-C and Ctrl-Break are not passed on: the console sends them to every process attached
  to it, the child included (``Popen.send_signal(SIGINT)`` is "Unsupported signal" there);
  minstall waits for the child and exits 130. A child ended by Ctrl-C returns
  STATUS_CONTROL_C_EXIT, which is reported as 130 too;
- Python children are asked for UTF-8 (``PYTHONIOENCODING``), their output is decoded (UTF-8,
  else the console's code page: cmd's own messages) and written as text through minstall's
  guarded streams, which a Windows console shows right whatever its code page.
"""

from __future__ import annotations

import collections
import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from mirrorinstall.core import hostos
from mirrorinstall.core.childtext import OutputDecoder
from mirrorinstall.core.errors import EngineNotFound, UsageError
from mirrorinstall.core.shellquote import batch_command_line

TAIL_BYTES = 256 * 1024
QUEUED_CHUNKS = 16  # of at most 64 KiB each
# NTSTATUS 0xC000013A: the exit code of a Windows program ended by Ctrl-C or Ctrl-Break
STATUS_CONTROL_C_EXIT = 0xC000013A


@dataclass
class RunResult:
    exit_code: int
    tail: str
    duration_s: float
    interrupted: bool = False
    signal: int | None = None  # the signal that interrupted minstall (and was passed on)


class _Tail:
    """The end of a child's output, decoded stream by stream as it comes (stdout may be UTF-8
    while stderr carries cmd's code page-936 words: one decoder each), at most ``limit``
    characters kept."""

    def __init__(self, limit: int) -> None:
        self.chunks: collections.deque[str] = collections.deque()
        self.size = 0
        self.limit = limit
        self.total = 0
        self.fallback = hostos.console_encoding()
        self.decoders: dict[int, OutputDecoder] = {}

    def add(self, data: bytes, stream: object = None) -> None:
        decoder = self.decoders.setdefault(id(stream), OutputDecoder(self.fallback))
        text = decoder.feed(data)
        self.chunks.append(text)
        self.size += len(text)
        self.total += len(data)
        while self.size > self.limit and len(self.chunks) > 1:
            self.size -= len(self.chunks.popleft())

    def text(self) -> str:
        return "".join(self.chunks)[-self.limit :]


def _fmt(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def run_child(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    use_pty: bool | None = None,
    heartbeat_s: float = 30.0,
    out: BinaryIO | None = None,
    err_out: BinaryIO | None = None,
    err: Callable[[str], None] | None = None,
    github: bool = False,
    title: str = "",
    tail_bytes: int = TAIL_BYTES,
    shown: Callable[[bytes], bytes] | None = None,
) -> RunResult:
    """Run ``argv`` to its end; its exit code is returned unchanged.

    The child's stdout goes to ``out`` and its stderr to ``err_out`` (default: ours), so a
    program reading our stdout (conda's ``--json``) gets the child's stdout alone. ``shown``
    rewrites each chunk of its output before anyone sees it (the loopback index's address
    written as the mirror's); the tail keeps what the child wrote."""
    shown = shown or (lambda data: data)
    out = out or sys.stdout.buffer
    err_out = err_out or sys.stderr.buffer
    say = err or (lambda line: print(line, file=sys.stderr, flush=True))
    if use_pty is None:
        use_pty = (
            not hostos.windows_rules()
            and hasattr(os, "openpty")
            and sys.stdout.isatty()
            and sys.stdin.isatty()
        )
    if hostos.windows_rules():
        env = dict(os.environ if env is None else env)
        env.setdefault("PYTHONIOENCODING", "utf-8")
    if github:
        out.write(f"::group::{title or ' '.join(argv)}\n".encode())
        out.flush()
    try:
        if use_pty:
            result = _run_pty(argv, env, out, tail_bytes, shown)
        else:
            result = _run_pipe(argv, env, out, err_out, say, heartbeat_s, tail_bytes, shown)
    finally:
        if github:
            out.write(b"::endgroup::\n")
            out.flush()
    return result


def _spawn(
    argv: Sequence[str], env: Mapping[str, str] | None, **kwargs: object
) -> subprocess.Popen:
    command: list[str] | str = list(argv)
    if hostos.NATIVE_WINDOWS and argv[0].lower().endswith((".bat", ".cmd")):  # pragma: no cover
        # core/engines.py takes conda.exe over conda.bat where it can; otherwise cmd must
        # get the arguments in its own quoting
        try:
            command = batch_command_line(argv, os.environ.get("COMSPEC", "cmd.exe"))
        except ValueError as exc:
            raise UsageError(
                f"{argv[0]} is a batch file and {exc}",
                "Set CONDA_EXE to conda.exe (Scripts\\conda.exe of the installation), or run "
                "minstall from Anaconda Prompt.",
            ) from None
    try:
        return subprocess.Popen(command, env=dict(env) if env is not None else None, **kwargs)
    except FileNotFoundError:
        raise EngineNotFound(
            f"{argv[0]} was not found",
            "Install it, put it on PATH, or choose another with --engine.",
        ) from None


def _signals(*names: str) -> tuple[int, ...]:
    return tuple(getattr(signal, name) for name in names if hasattr(signal, name))


class _Interrupts:
    """While a child runs, SIGINT, SIGTERM and SIGHUP go to the child (minstall waits for it
    to finish, then cleans up and exits 128 + the signal). Under Windows' rules the console
    has given Ctrl-C and Ctrl-Break to the child already: they are noted, not passed on."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.hit = False
        self.signum: int | None = None
        self.previous: dict[int, object] = {}

    def __enter__(self) -> _Interrupts:
        if threading.current_thread() is threading.main_thread():
            for signum in _signals("SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK"):
                self.previous[signum] = signal.signal(signum, self._forward)
        return self

    def _forward(self, signum: int, frame: object) -> None:
        self.hit = True
        self.signum = self.signum or signum
        if hostos.windows_rules() and signum in _signals("SIGINT", "SIGBREAK"):
            return  # the console delivered it to the child too
        with contextlib.suppress(OSError, ValueError):
            self.proc.send_signal(signum)

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self.previous.items():
            signal.signal(signum, previous)  # type: ignore[arg-type]


def exit_status(returncode: int) -> int:
    """A child's return code as a shell reports it: killed by signal N is 128 + N; a Windows
    program ended by Ctrl-C is 130, as the same program on POSIX."""
    if hostos.windows_rules() and returncode & 0xFFFFFFFF == STATUS_CONTROL_C_EXIT:
        return 130
    return 128 - returncode if returncode < 0 else returncode


def interrupt_status(signum: int | None) -> int:
    """minstall's exit code after ``signum`` stopped a child: 128 + N, as a shell reports it;
    130 for Ctrl-C and for Windows' Ctrl-Break alike."""
    if signum is None or signum in _signals("SIGINT", "SIGBREAK"):
        return 130
    return 128 + signum


def _run_pipe(
    argv: Sequence[str],
    env: Mapping[str, str] | None,
    out: BinaryIO,
    err_out: BinaryIO,
    say: Callable[[str], None],
    heartbeat_s: float,
    tail_bytes: int,
    shown: Callable[[bytes], bytes],
) -> RunResult:
    start = time.monotonic()
    proc = _spawn(
        argv,
        env,
        # a prompt on a terminal still reaches the user; otherwise nobody can answer one
        # (a child asking "User for host:" would wait forever), so it reads end of file
        stdin=None if hostos.stdin_is_interactive() else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    tail = _Tail(tail_bytes)
    # bounded: a child writing faster than our reader (a slow terminal, a full pipe) waits
    # for it instead of piling its output up in our memory (1.5 GB of it, before)
    chunks: queue.Queue[tuple[BinaryIO, bytes | None]] = queue.Queue(maxsize=QUEUED_CHUNKS)

    def reader(stream: BinaryIO, sink: BinaryIO) -> None:
        while True:
            data = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
            if not data:
                chunks.put((sink, None))
                return
            chunks.put((sink, data))

    for stream, sink in ((proc.stdout, out), (proc.stderr, err_out)):
        threading.Thread(target=reader, args=(stream, sink), daemon=True).start()
    writers = {id(out): _writer(out), id(err_out): _writer(err_out)}
    last_output = time.monotonic()
    open_streams = 2
    with _Interrupts(proc) as interrupts:
        while open_streams:
            try:
                sink, data = chunks.get(timeout=min(1.0, heartbeat_s))
            except queue.Empty:
                now = time.monotonic()
                if now - last_output >= heartbeat_s:
                    say(
                        f"minstall: {os.path.basename(argv[0])} still running after "
                        f"{_fmt(now - start)} ({_fmt(now - last_output)} without output, "
                        f"{tail.total} bytes of output so far)"
                    )
                    last_output = now
                continue
            if data is None:
                open_streams -= 1
                continue
            last_output = time.monotonic()
            tail.add(data, sink)
            writers[id(sink)](shown(data))
        code = exit_status(proc.wait())
    return RunResult(code, tail.text(), time.monotonic() - start, interrupts.hit, interrupts.signum)


def _writer(sink: BinaryIO) -> Callable[[bytes], None]:
    """How a child's bytes reach ``sink``: as they are; under Windows' rules, when ``sink``
    is our own stdout or stderr, decoded and written as text (a console shows the text right
    whatever its code page, and the output guard sees it)."""
    text = None
    if hostos.windows_rules():
        for stream in (sys.stdout, sys.stderr):
            if getattr(stream, "buffer", None) is sink:
                text = stream
    if text is None:

        def raw(data: bytes) -> None:
            sink.write(data)
            sink.flush()

        return raw
    decoder = OutputDecoder(hostos.console_encoding())

    def decoded(data: bytes) -> None:
        text.write(decoder.feed(data))
        text.flush()

    return decoded


def _run_pty(
    argv: Sequence[str],
    env: Mapping[str, str] | None,
    out: BinaryIO,
    tail_bytes: int,
    shown: Callable[[bytes], bytes],
) -> RunResult:  # pragma: no cover - needs a real terminal
    import pty
    import select

    start = time.monotonic()
    master, slave = pty.openpty()
    proc = _spawn(argv, env, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    tail = _Tail(tail_bytes)
    stdin = sys.stdin.fileno()
    with _Interrupts(proc) as interrupts:
        while True:
            ready, _, _ = select.select([master, stdin], [], [], 0.2)
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""
                if not data:
                    break
                tail.add(data)
                out.write(shown(data))
                out.flush()
            if stdin in ready:
                data = os.read(stdin, 1024)
                if data:
                    os.write(master, data)
            if proc.poll() is not None and master not in ready:
                break
        code = exit_status(proc.wait())
    os.close(master)
    return RunResult(code, tail.text(), time.monotonic() - start, interrupts.hit, interrupts.signum)
