"""Renames, removals and binary opens that work the same on POSIX and Windows.  [edge: disk]

On Windows a file that any process holds open cannot be renamed or removed (the C runtime
opens files without FILE_SHARE_DELETE), and antivirus scanners and search indexers open a
file for a moment right after it is written: ``os.replace`` then fails with
``PermissionError`` (WinError 32, "being used by another process", or 5, "access denied")
for tens to hundreds of milliseconds. pip (``pip._internal.utils.retry``) and conda
(``conda.gateways.disk``) retry for the same reason. Under Windows' rules these functions
retry for up to :data:`RETRY_S`; on POSIX a ``PermissionError`` is a real one and is raised
at once. Our own files (the store, temporary files) lose a read-only flag before removal;
a user's files never do.

``os.open`` is given :data:`BINARY` everywhere: on Windows a descriptor opened without
``O_BINARY`` is in text mode, and every LF written through it becomes CRLF (a wheel's bytes
changed, its hash wrong).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time
from collections.abc import Callable
from typing import BinaryIO

from mirrorinstall.core import hostos

BINARY: int = getattr(os, "O_BINARY", 0)
RETRY_S = 2.0  # how long a file an antivirus scanner holds is waited for
_FIRST_WAIT_S = 0.02


def _retrying(action: Callable[[], None], retry_s: float) -> None:
    if not hostos.windows_rules():
        action()
        return
    deadline = time.monotonic() + retry_s
    wait = _FIRST_WAIT_S
    while True:
        try:
            action()
            return
        except PermissionError:
            if time.monotonic() + wait > deadline:
                raise
        time.sleep(wait)
        wait = min(wait * 2, 0.25)


def replace(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], *, retry_s: float = RETRY_S
) -> None:
    """``os.replace``, waiting out a scanner's short hold on either file under Windows' rules."""
    _retrying(lambda: os.replace(src, dst), retry_s)


def remove(path: str | os.PathLike[str], *, own: bool = True, retry_s: float = RETRY_S) -> None:
    """Remove a file if it exists. ``own``: one of minstall's files, whose read-only flag
    (set by a sync tool or a copy from read-only media) is cleared first on Windows."""

    def action() -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            return
        except PermissionError:
            if not (own and hostos.windows_rules()):
                raise
            with contextlib.suppress(OSError):
                mode = os.stat(path).st_mode
                if not mode & stat.S_IWRITE:
                    os.chmod(path, mode | stat.S_IWRITE)
            os.unlink(path)

    _retrying(action, retry_s)


def open_binary(path: str | os.PathLike[str], flags: int, mode: int = 0o666) -> int:
    """``os.open`` in binary mode on every platform."""
    return os.open(path, flags | BINARY, mode)


class NotRegular(OSError):
    """A path that is no regular file (a device, a FIFO, a socket, a folder), or one bigger
    than the caller reads."""


def read_regular(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of the regular file at ``path`` (links followed), at most ``limit`` of them:
    opened without blocking (a FIFO would wait for a writer for ever) and refused unless it
    is a regular file (/dev/zero and /dev/full never end). FileNotFoundError as usual."""
    import stat

    fd = os.open(path, os.O_RDONLY | BINARY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise NotRegular(0, "not a regular file (a device, a FIFO, a socket or a folder)")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise NotRegular(0, f"bigger than {limit} bytes")
    return data


def open_stream(path: str | os.PathLike[str]) -> BinaryIO:
    """``path`` opened for reading, whatever it is (a file, a pipe from ``<(...)``, a
    device), without waiting for ever: a named FIFO nobody writes to reads as empty instead of
    blocking the open until a writer comes. Reads then block as usual (a pipe's writer is
    waited for), so the caller bounds how much it reads."""
    nonblocking = getattr(os, "O_NONBLOCK", 0)  # Windows has no FIFOs to wait on
    fd = os.open(path, os.O_RDONLY | BINARY | nonblocking)
    if nonblocking:
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def open_own(path: str | os.PathLike[str], flags: int, mode: int = 0o666) -> int:
    """``open_binary`` for a file of minstall's own area, never through a symbolic link: a
    link planted there (by another user, or a tool) is removed, not followed, so no write goes
    to the file it names. POSIX also refuses one made in between (O_NOFOLLOW, where it exists)."""
    if os.path.islink(path):
        os.unlink(path)
    return os.open(path, flags | BINARY | getattr(os, "O_NOFOLLOW", 0), mode)


def why(exc: OSError) -> str:
    """An OS error in words, with the Windows reason a person can act on."""
    if hostos.windows_rules() and isinstance(exc, PermissionError):
        return (
            f"{exc.strerror or exc} (another program has it open, e.g. an antivirus scanner, "
            "an editor or a running Python, or it is read-only)"
        )
    if exc.errno == errno.EPERM:
        # as root only an attribute refuses a write: the file is immutable or append-only
        return (
            f"{exc.strerror or exc} (an immutable or append-only file says this: 'lsattr' "
            "shows the flag, 'chattr -i' clears it)"
        )
    return str(exc.strerror or exc)
