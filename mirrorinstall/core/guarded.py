"""minstall's own stdout and stderr, guarded: every text written through them passes
``untrusted.for_output`` (passwords and tokens masked, control characters shown as ``?``).
[edge: terminal]

The child's output does not pass here on POSIX: it goes to the streams' ``buffer`` as bytes,
as the child wrote it (pip masks its own passwords and draws its own colours); under
Windows' rules it is decoded and does (run/runner.py). Everything minstall says, including a
server's words quoted in an error, a traceback under ``--debug`` and ``--json`` documents,
does.

minstall prints with :func:`echo`, never ``click.echo`` without a file: click's default
stream is not ``sys.stdout`` on a Windows console (it writes with WriteConsoleW itself) nor
where the locale's encoding is ASCII (it wraps the raw buffer), so what it printed there
skipped the guard, secrets unmasked. A character the stream's encoding cannot show (an
emoji in a mirror's name on a cp936 console redirected to a file) is written as ``?``
rather than ending minstall with a UnicodeEncodeError.
"""

from __future__ import annotations

import io
import sys
from typing import TextIO

from mirrorinstall.core.untrusted import for_output

_SECRETS: set[str] = set()
MIN_SECRET = 6  # shorter values would mask ordinary words


def add_secret(value: str | None) -> None:
    """Never print ``value`` (a token read from the environment)."""
    if value and len(value) >= MIN_SECRET:
        _SECRETS.add(value)


class GuardedStream(io.TextIOBase):
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        safe = for_output(text, frozenset(_SECRETS))
        try:
            self._stream.write(safe)
        except UnicodeEncodeError:
            encoding = self._stream.encoding or "ascii"
            self._stream.write(safe.encode(encoding, "replace").decode(encoding))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def reconfigure(self, **settings: object) -> None:
        """The wrapped stream's ``reconfigure`` (e.g. ``newline="\\n"``: no CRLF on Windows)."""
        reconfigure = getattr(self._stream, "reconfigure", None)
        if reconfigure is not None:
            self._stream.flush()
            reconfigure(**settings)

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    def writable(self) -> bool:
        return True

    @property
    def buffer(self):
        return self._stream.buffer

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._stream.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self._stream.errors


def guard_streams() -> None:
    """Replace sys.stdout and sys.stderr by guarded ones (once)."""
    if not isinstance(sys.stdout, GuardedStream):
        sys.stdout = GuardedStream(sys.stdout)  # type: ignore[assignment]
    if not isinstance(sys.stderr, GuardedStream):
        sys.stderr = GuardedStream(sys.stderr)  # type: ignore[assignment]


def echo(message: str = "", *, err: bool = False, nl: bool = True) -> None:
    """Print a line of minstall's own to stdout (``err``: stderr), through the guard."""
    stream = sys.stderr if err else sys.stdout
    stream.write(message + ("\n" if nl else ""))
    stream.flush()
