"""From gathered facts to a plan: the rewrite, its CUDA errors with the fixed command, and the
rewritten copies of files written where the plan says.  [edge: disk]"""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import replace
from pathlib import Path

from mirrorinstall.core.argv import Command, parse_command
from mirrorinstall.core.errors import CacheError, CudaError
from mirrorinstall.rewrite import Context, CudaMismatch, Plan, rewrite
from mirrorinstall.rewrite.common import spec_name


def quote(argv: list[str], env: dict[str, str]) -> str:
    """The command as the user's shell wants it."""
    if os.name == "nt":
        prefix = "".join(f"set {k}={v} && " for k, v in env.items())
        return prefix + subprocess.list2cmdline(argv)
    prefix = "".join(f"{k}={shlex.quote(v)} " for k, v in env.items())
    return prefix + shlex.join(argv)


def quote_plan(plan: Plan) -> str:
    """Every step of the plan as one shell line (``&&``: a failed step stops the rest)."""
    return " && ".join(quote(step.argv, step.env) for step in plan.steps())


def step_json(plan: Plan) -> list[dict]:
    """Each step for --json output, in order."""
    return [
        {
            "step": k + 1,
            "why": step.step,
            "command": quote(step.argv, step.env),
            "argv": step.argv,
            "env": step.env,
            "mirrors": step.mirrors,
            "notes": step.notes,
        }
        for k, step in enumerate(plan.steps())
    ]


def make_plan(cmd: Command, ctx: Context) -> Plan:
    """The rewrite of ``cmd`` over ``ctx``; a CUDA build that cannot run is a
    :class:`CudaError` whose hint holds the command ``--cuda auto`` would give."""
    try:
        return rewrite(cmd, ctx)
    except CudaMismatch as exc:
        fixed = ""
        if exc.instead is not None:
            project, requirement = exc.instead
            args = [
                requirement if not t.startswith("-") and spec_name(t) == project else t
                for t in cmd.args
            ]
            try:
                auto = rewrite(parse_command([*cmd.head, *args]), ctx)
                fixed = f" Fixed command: {quote_plan(auto)}"
            except CudaMismatch:
                pass
        elif ctx.cuda_mode != "auto":
            try:
                auto = rewrite(cmd, replace(ctx, cuda_mode="auto"))
                fixed = f" Fixed command: {quote_plan(auto)}"
            except CudaMismatch:
                pass
        raise CudaError(exc.message, exc.hint + fixed) from None


def write_copies(plan: Plan) -> None:
    """Write the rewritten copies of the user's files (never the files themselves)."""
    from mirrorinstall.core.cache import write_atomic

    for path, text in (item for step in plan.steps() for item in step.writes.items()):
        try:
            write_atomic(Path(path), text)
        except OSError as exc:
            raise CacheError(
                f"cannot write the rewritten copy {path}: {exc.strerror or exc}",
                "Choose another --cache-dir (MINSTALL_CACHE_DIR).",
            ) from None
