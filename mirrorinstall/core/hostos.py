"""Which operating system's rules minstall follows, decided in one place.  [edge: host]

minstall runs on POSIX and on native Windows, and the two differ in how things *work*:
- signals: Windows has no SIGHUP, no process groups and no ``os.killpg``; the console sends
  Ctrl-C (and Ctrl-Break) to every process attached to it, so a child already has it and
  ``Popen.send_signal(SIGINT)`` raises "Unsupported signal";
- terminals: no pseudo-terminals, so a child's output always comes through pipes;
- files: an open file cannot be renamed or removed (the C runtime opens without
  FILE_SHARE_DELETE), an antivirus scanner holds a new file for a moment, and a read-only
  flag makes ``os.replace`` fail;
- encodings: a child writes its output in the console's or the ANSI code page (cp936 on a
  Chinese Windows), not UTF-8.

Code whose *mechanics* differ asks :func:`windows_rules` instead of testing ``os.name``
itself, so the test suite can take each Windows branch that can run on Linux (see
``tests/winsim``). Facts about where other programs keep their files (``Scripts\\python.exe``,
``%APPDATA%\\pip\\pip.ini``) follow the real platform, :data:`NATIVE_WINDOWS` or
``sys.platform`` passed in as data: the sim cannot change where Linux's pip looks.
"""

from __future__ import annotations

import locale
import os
import sys
from collections.abc import Mapping

#: True on native Windows: the layout of venvs, Win32 APIs, where tools keep their files.
NATIVE_WINDOWS: bool = os.name == "nt"

#: True where Windows' rules for signals, terminals, renames and encodings apply. Only the
#: test suite's Windows simulation sets it on Linux.
WINDOWS_RULES: bool = NATIVE_WINDOWS


def windows_rules() -> bool:
    """Whether Windows' mechanics apply (read at call time, so the simulation can set it)."""
    return WINDOWS_RULES


def locale_encoding() -> str:
    """The encoding ``open()`` reads text in here, as pip and conda read their files with it:
    UTF-8 in Python's UTF-8 mode, else the locale's (the ANSI code page on Windows: cp936 on
    a Chinese one)."""
    return locale.getpreferredencoding(False) or "utf-8"


def console_encoding() -> str:
    """The code page a child writes in when it does not write UTF-8: the console's output
    code page when there is a console (``chcp``: 936 on a Chinese Windows), else the ANSI
    code page Python itself would use; the locale's encoding on POSIX."""
    if NATIVE_WINDOWS:  # pragma: no cover - needs Windows
        import ctypes

        try:
            page = ctypes.windll.kernel32.GetConsoleOutputCP()  # type: ignore[attr-defined]
        except (AttributeError, OSError):
            page = 0
        if page:
            return f"cp{page}"
    return locale.getpreferredencoding(False) or "utf-8"


def honour_ctrl_c() -> None:
    """Make Ctrl-C stop minstall and the children it starts, even when minstall itself was
    started with it ignored (a background job of a script: ``cmd &`` ignores SIGINT; a
    Windows process group created with CREATE_NEW_PROCESS_GROUP has Ctrl-C disabled).

    Why: an ignored SIGINT is inherited across exec, so pip would ignore the interrupt
    minstall passes on, and asyncio only turns SIGINT into cancellation when Python's own
    handler is installed (the bench then ran to its deadline). A caught signal is reset to
    the default in a child, so pip gets the interrupt again. On Windows the "ignore Ctrl-C"
    attribute is separate and inherited; ``SetConsoleCtrlHandler(NULL, FALSE)`` clears it
    (https://learn.microsoft.com/en-us/windows/console/setconsolectrlhandler)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if NATIVE_WINDOWS:  # pragma: no cover - needs Windows
        import contextlib
        import ctypes

        with contextlib.suppress(AttributeError, OSError):
            ctypes.windll.kernel32.SetConsoleCtrlHandler(None, False)  # type: ignore[attr-defined]


def home_of(environ: Mapping[str, str], windows: bool) -> str:
    """The user's home as the tools minstall configures find it: on Windows USERPROFILE, which
    Python's ``os.path.expanduser`` reads since 3.8 (conda's ``~/.condarc`` and pip's files
    follow it) and not HOME, which Git Bash and MSYS2 set to their own idea of home; elsewhere
    HOME."""
    first, second = ("USERPROFILE", "HOME") if windows else ("HOME", "USERPROFILE")
    return environ.get(first) or environ.get(second) or os.path.expanduser("~")


def env_python(prefix: str, venv: bool) -> str:
    """The Python of an environment at ``prefix`` as this platform lays it out: a venv's
    ``Scripts\\python.exe`` or a conda environment's ``python.exe`` at its root on Windows,
    ``bin/python`` elsewhere."""
    if NATIVE_WINDOWS:
        return (
            os.path.join(prefix, "Scripts", "python.exe")
            if venv
            else os.path.join(prefix, "python.exe")
        )
    return os.path.join(prefix, "bin", "python")


def stdin_is_interactive() -> bool:
    """Whether a person can answer a prompt on stdin: a terminal, or on Windows the pipe
    that mintty (Git Bash's window) gives a program instead of a console, which ``isatty``
    calls no terminal."""
    try:
        if sys.stdin is not None and sys.stdin.isatty():
            return True
    except (ValueError, OSError):
        return False
    return NATIVE_WINDOWS and _msys_pty(0)


def _msys_pty(fd: int) -> bool:  # pragma: no cover - needs Windows
    """mintty's pseudo-terminal is a named pipe called ``\\msys-<hash>-pty<N>-from-master``
    (``\\cygwin-...`` under Cygwin): its name, read with GetFileInformationByHandleEx
    (FileNameInfo), tells it from a pipe of a CI runner."""
    import ctypes
    import msvcrt
    from ctypes import wintypes

    class FileNameInfo(ctypes.Structure):
        _fields_ = (("length", wintypes.DWORD), ("name", wintypes.WCHAR * 512))

    try:
        handle = msvcrt.get_osfhandle(fd)
        info = FileNameInfo()
        ok = ctypes.windll.kernel32.GetFileInformationByHandleEx(  # type: ignore[attr-defined]
            handle, 2, ctypes.byref(info), ctypes.sizeof(info)
        )
    except (OSError, AttributeError, ValueError):
        return False
    name = info.name[: info.length // 2]
    return bool(ok) and ("msys-" in name or "cygwin-" in name) and "-pty" in name
