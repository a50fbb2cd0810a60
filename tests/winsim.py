"""Windows on Linux, as far as Linux allows: the stand-in for the Windows machine the project
does not have (issue 24).

Applied to a process, it
- removes from ``os`` and ``signal`` what Windows' Python does not have (``os.pwrite``,
  ``os.pread``, ``os.killpg``, process groups, ``SIGHUP``, ``SIGQUIT``...), so code that
  still calls them fails here as it would there;
- adds ``signal.SIGBREAK`` (Windows' Ctrl-Break). Its number here is SIGUSR1's, which Windows
  lacks: a test sends it to minstall's process group as a console sends Ctrl-Break to every
  process attached to it (and Ctrl-C likewise, as SIGINT to the group);
- refuses, as Windows does, to rename or remove a file this process holds open: the C runtime
  opens every file without FILE_SHARE_DELETE, so ``os.replace``/``os.unlink`` of an open file
  fail with WinError 32 ("being used by another process"); here a ``PermissionError``;
- in a minstall process, ``Popen.send_signal`` takes only SIGTERM, and it, ``terminate`` and
  ``kill`` end the child at once (TerminateProcess), as Windows' subprocess does; any other
  signal is "Unsupported signal";
- sets ``mirrorinstall.core.hostos.WINDOWS_RULES``: minstall takes its Windows branch for
  signals, terminals, renames and the encoding of a child's output.

What it cannot stand in for: cmd.exe and PowerShell (printed commands are checked against
their documented grammar instead), console code pages (a zh_CN.GBK locale made with
localedef stands in for code page 936: Python then reads and writes GBK, as on a Chinese
Windows), Win32 calls, and where Windows programs keep their files (``ntpath`` tests).

In the pytest process only what minstall's in-process code could call is removed (the
harness keeps ``os.getuid`` and the like); each minstall process started by a test gets the
whole list through ``tests/winsim_site/sitecustomize.py``. Run the whole suite this way with
``MINSTALL_TEST_WINDOWS_SIM=1`` (README, Testing); tests that take the Windows branch on
purpose use the ``windows_sim`` fixture.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import signal
import subprocess
import threading
from pathlib import Path

ENV_VAR = "MINSTALL_TEST_WINDOWS_SIM"
SITE_DIR = Path(__file__).resolve().parent / "winsim_site"

# absent from Windows' os module (CPython's posixmodule.c builds them only under POSIX)
_OS_HARNESS = ("pwrite", "pread", "pwritev", "preadv", "killpg", "getpgid")
_OS_TERMINAL = ("openpty", "forkpty")  # the harness makes terminals with them
_OS_PROCESS = (
    *_OS_HARNESS,
    *_OS_TERMINAL,
    "setpgid",
    "setsid",
    "getsid",
    "getpgrp",
    "fork",
    "mkfifo",
    "mknod",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "chown",
    "fchown",
    "lchown",
    "O_NONBLOCK",
    "O_NOFOLLOW",
    "O_NOCTTY",
)
# absent from Windows' signal module, which has SIGINT, SIGTERM, SIGABRT, SIGFPE, SIGILL,
# SIGSEGV and SIGBREAK only
_SIGNALS_HARNESS = ("SIGHUP", "SIGQUIT", "SIGUSR1")  # pytest-timeout keeps its SIGALRM
_SIGNALS = (*_SIGNALS_HARNESS, "SIGUSR2", "SIGALRM", "SIGTSTP", "SIGPIPE")
SIGBREAK = int(signal.SIGUSR1)

#: the originals, for the harness (a test that sends a signal to a process group)
POSIX: dict[str, object] = {
    name: getattr(os, name) for name in _OS_PROCESS if hasattr(os, name)
} | {name: getattr(signal, name) for name in _SIGNALS if hasattr(signal, name)}

_held: dict[int, tuple[int, int]] = {}  # fd -> (st_dev, st_ino) of the file it has open
_held_lock = threading.Lock()
_real = {
    "os.open": os.open,
    "open": builtins.open,
    "os.replace": os.replace,
    "os.rename": os.rename,
    "os.unlink": os.unlink,
    "os.remove": os.remove,
}


def enabled() -> bool:
    return os.environ.get(ENV_VAR) == "1"


def apply(*, whole_process: bool, patch: object | None = None) -> None:
    """Make this process look like Windows (see the module's docstring). ``patch``: a pytest
    MonkeyPatch that undoes it all after the test; else for good."""
    setattr_ = getattr(patch, "setattr", setattr)

    def delattr_(target: object, name: str) -> None:
        if patch is not None:
            patch.delattr(target, name)  # type: ignore[attr-defined]
        else:
            delattr(target, name)

    for name in _OS_PROCESS if whole_process else _OS_HARNESS:
        if hasattr(os, name):
            delattr_(os, name)
    for name in _SIGNALS if whole_process else _SIGNALS_HARNESS:
        if hasattr(signal, name):
            delattr_(signal, name)
    if patch is not None:
        patch.setattr(signal, "SIGBREAK", SIGBREAK, raising=False)  # type: ignore[attr-defined]
    else:
        signal.SIGBREAK = SIGBREAK  # type: ignore[attr-defined]
    _share_like_windows(setattr_)
    if whole_process:
        setattr_(subprocess.Popen, "send_signal", _send_signal_like_windows)
        setattr_(subprocess.Popen, "terminate", _terminate_like_windows)
        setattr_(subprocess.Popen, "kill", _terminate_like_windows)
    import mirrorinstall.core.hostos as hostos

    setattr_(hostos, "WINDOWS_RULES", True)
    if whole_process:
        _keep_posix_file_locks(setattr_)


def _keep_posix_file_locks(setattr_) -> None:
    """filelock chooses its implementation by ``sys.platform``: on real Windows,
    ``msvcrt.locking``, which needs no ``O_NONBLOCK``; in this Linux process it takes its POSIX
    branch, which does. The names above are removed to catch minstall's own POSIX-only calls,
    not a library's platform branch that real Windows never takes, so that branch gets a view of
    ``os`` with the constant back (and everything else as simulated)."""
    import importlib
    import types

    for name in ("filelock._native._unix", "filelock._unix"):  # filelock 4.x, 3.x
        try:
            unix = importlib.import_module(name)
            break
        except ImportError:
            continue
    else:
        return
    view = types.ModuleType("os")
    view.__dict__.update(os.__dict__)
    view.O_NONBLOCK = POSIX["O_NONBLOCK"]  # type: ignore[attr-defined]
    setattr_(unix, "os", view)


def child_environ(environ: dict[str, str]) -> dict[str, str]:
    """``environ`` with what makes a minstall process started from it a simulated Windows one."""
    path = environ.get("PYTHONPATH", "")
    if str(SITE_DIR) not in path.split(os.pathsep):
        path = os.pathsep.join(p for p in (str(SITE_DIR), path) if p)
    return {**environ, ENV_VAR: "1", "PYTHONPATH": path}


_posix_send_signal = subprocess.Popen.send_signal


def _send_signal_like_windows(self: subprocess.Popen, sig: int) -> None:
    """CPython's Lib/subprocess.py for Windows: SIGTERM is TerminateProcess (the child ends at
    once, as by SIGKILL here), CTRL_C_EVENT (0) and CTRL_BREAK_EVENT (1) go to the console
    group, anything else raises ValueError."""
    if sig == signal.SIGTERM:
        _posix_send_signal(self, signal.SIGKILL)
        return
    raise ValueError(f"Unsupported signal: {sig}")


def _terminate_like_windows(self: subprocess.Popen) -> None:
    """On Windows ``kill`` and ``terminate`` are one: TerminateProcess."""
    _send_signal_like_windows(self, signal.SIGTERM)


# ------------------------------------------------------------------ Windows' file sharing


def _remember(fd: int) -> None:
    try:
        st = os.fstat(fd)
    except OSError:
        return
    with _held_lock:
        _held[fd] = (st.st_dev, st.st_ino)


def _is_held(path: object, dir_fd: int | None = None) -> bool:
    name = os.fspath(path)  # type: ignore[arg-type]
    if dir_fd is not None and not os.path.isabs(name):
        name = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), name)
    try:
        st = os.lstat(name)
    except OSError:
        return False
    with _held_lock:
        for fd, ident in list(_held.items()):
            try:
                now = os.fstat(fd)
            except OSError:
                del _held[fd]
                continue
            if (now.st_dev, now.st_ino) != ident:
                del _held[fd]  # closed, and the number reused for another file
                continue
            if ident == (st.st_dev, st.st_ino):
                return True
    return False


def _busy(path: object) -> PermissionError:
    return PermissionError(
        13,
        "The process cannot access the file because it is being used by another process "
        "(simulated WinError 32)",
        os.fspath(path),  # type: ignore[arg-type]
    )


def _share_like_windows(setattr_) -> None:
    if os.replace is not _real["os.replace"]:
        return  # already

    def open_fd(path, flags, mode=0o777, *, dir_fd=None):
        fd = _real["os.open"](path, flags, mode, dir_fd=dir_fd)
        _remember(fd)
        return fd

    def open_file(file, *args, **kwargs):
        f = _real["open"](file, *args, **kwargs)
        if not isinstance(file, int):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                _remember(f.fileno())
        return f

    def two_names(real):
        def move(src, dst, *, src_dir_fd=None, dst_dir_fd=None):
            for name, fd in ((src, src_dir_fd), (dst, dst_dir_fd)):
                if _is_held(name, fd):
                    raise _busy(name)
            return real(src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)

        return move

    def one_name(real):
        def remove(path, *, dir_fd=None):
            if _is_held(path, dir_fd):
                raise _busy(path)
            return real(path, dir_fd=dir_fd)

        return remove

    setattr_(os, "open", open_fd)
    setattr_(builtins, "open", open_file)
    setattr_(io, "open", open_file)
    setattr_(os, "replace", two_names(_real["os.replace"]))
    setattr_(os, "rename", two_names(_real["os.rename"]))
    setattr_(os, "unlink", one_name(_real["os.unlink"]))
    setattr_(os, "remove", one_name(_real["os.remove"]))
