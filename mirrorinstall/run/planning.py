"""From gathered facts to a plan: the rewrite, its CUDA errors with the fixed command, and the
rewritten copies of files written where the plan says.  [edge: disk]"""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import replace
from pathlib import Path

from mirrorinstall.core.argv import Command
from mirrorinstall.core.errors import CacheError, CudaError
from mirrorinstall.rewrite import Context, CudaMismatch, Plan, rewrite


def quote(argv: list[str], env: dict[str, str]) -> str:
    """The command as the user's shell wants it."""
    if os.name == "nt":
        prefix = "".join(f"set {k}={v} && " for k, v in env.items())
        return prefix + subprocess.list2cmdline(argv)
    prefix = "".join(f"{k}={shlex.quote(v)} " for k, v in env.items())
    return prefix + shlex.join(argv)


def make_plan(cmd: Command, ctx: Context) -> Plan:
    """The rewrite of ``cmd`` over ``ctx``; a CUDA build that cannot run is a
    :class:`CudaError` whose hint holds the command ``--cuda auto`` would give."""
    try:
        return rewrite(cmd, ctx)
    except CudaMismatch as exc:
        fixed = ""
        if ctx.cuda_mode != "auto":
            try:
                auto = rewrite(cmd, replace(ctx, cuda_mode="auto"))
                fixed = f" Fixed command: {quote(auto.argv, auto.env)}"
            except CudaMismatch:
                pass
        raise CudaError(exc.message, exc.hint + fixed) from None


def write_copies(plan: Plan) -> None:
    """Write the rewritten copies of the user's files (never the files themselves)."""
    from mirrorinstall.core.cache import write_atomic

    for path, text in plan.writes.items():
        try:
            write_atomic(Path(path), text)
        except OSError as exc:
            raise CacheError(
                f"cannot write the rewritten copy {path}: {exc.strerror or exc}",
                "Choose another --cache-dir (MINSTALL_CACHE_DIR).",
            ) from None
