"""One error model for everything minstall reports to a person. Pure.

Hierarchy::

    MinstallError            message + hint (the next step) + exit code
    ├── UsageError           bad command line                      64
    ├── CudaError            a CUDA build pinned that cannot run   65
    ├── CatalogError         malformed or invalid mirrors.toml     78
    ├── ConfigError          other bad settings (env vars, dirs)   78
    ├── NoMirrorError        no mirror can serve the request       69
    ├── CacheError           cannot read/write the cache dir       73
    └── EngineNotFound       conda/mamba/pip/uv executable missing 127

Codes follow BSD sysexits.h where one fits, so they never collide with the
codes a child (conda, pip, uv: 0, 1 or 2) returns, which minstall passes
through unchanged (a child killed by signal N as 128 + N, as shells report it).
``EXIT_INTERRUPTED`` (130) is 128 + SIGINT, as shells do; SIGTERM gives 143 and SIGHUP 129
(the child gets the same signal first);
``EXIT_INTERNAL`` (70) means a bug in minstall (run with ``--debug``).
``minstall verify`` exits 1 when the framework cannot use the GPU, like a failed test.

Raising is the only job of this module; turning an error into text and an exit
status happens once, in ``cli.main``.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_USAGE = 64
EXIT_CUDA = 65
EXIT_NO_MIRROR = 69
EXIT_INTERNAL = 70
EXIT_CACHE = 73
EXIT_CONFIG = 78
EXIT_ENGINE_NOT_FOUND = 127
EXIT_INTERRUPTED = 130

#: Every exit code minstall itself uses, with its meaning (README's table is tested against it).
EXIT_CHECK_FAILED = 1

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success",
    EXIT_CHECK_FAILED: (
        "minstall verify: the framework cannot use the GPU (the verdict says why); "
        "minstall config show: a setting should change"
    ),
    EXIT_USAGE: "bad command line (unknown option, missing argument)",
    EXIT_CUDA: "the CUDA build asked for cannot run with this driver or GPU (--cuda auto fixes it)",
    EXIT_NO_MIRROR: "no enabled mirror can serve the request (all dead, or none carries it)",
    EXIT_INTERNAL: "internal error: a bug in minstall (rerun with --debug and report it)",
    EXIT_CACHE: "the cache or config directory cannot be read or written",
    EXIT_CONFIG: (
        "invalid configuration: mirrors.toml, a user catalog or a MINSTALL_* variable; a "
        "tool's file minstall config cannot edit"
    ),
    EXIT_ENGINE_NOT_FOUND: "the package manager to run (conda, mamba, pip, uv) was not found",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
    129: "stopped by SIGHUP (the terminal closed); the child got it first",
    143: "stopped by SIGTERM (a cancelled CI job, a service manager); the child got it first",
}


class MinstallError(Exception):
    """An error meant for a person: what happened, and what to do next."""

    exit_code: int = EXIT_INTERNAL

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(MinstallError):
    exit_code = EXIT_USAGE


class CudaError(MinstallError):
    exit_code = EXIT_CUDA


class CatalogError(MinstallError):
    """A mirror catalog is malformed or invalid.

    ``path``, ``mirror`` and ``key`` locate the problem; ``problem`` says what
    is wrong there. The message puts all four on one line.
    """

    exit_code = EXIT_CONFIG

    def __init__(
        self,
        path: str,
        problem: str,
        *,
        mirror: str | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = path
        self.mirror = mirror
        self.key = key
        self.problem = problem
        where = path
        if mirror is not None:
            where += f": mirror '{mirror}'"
        if key is not None:
            where += f", key '{key}'" if mirror is not None else f": key '{key}'"
        super().__init__(
            f"{where}: {problem}",
            hint or f"Fix or remove that entry in {path}; the catalog format is in README.md.",
        )


class ConfigError(MinstallError):
    exit_code = EXIT_CONFIG


class NoMirrorError(MinstallError):
    exit_code = EXIT_NO_MIRROR


class CacheError(MinstallError):
    exit_code = EXIT_CACHE


class EngineNotFound(MinstallError):
    exit_code = EXIT_ENGINE_NOT_FOUND
