"""From gathered facts to a plan: the rewrite, its CUDA errors with the fixed command, and the
rewritten copies of files written where the plan says.  [edge: disk]"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from mirrorinstall.context.facts import Facts
from mirrorinstall.core import hostos
from mirrorinstall.core.argv import Command, parse_command
from mirrorinstall.core.errors import CacheError, CudaError
from mirrorinstall.core.shellquote import POSIX, detect_shell, join_steps, quote_command
from mirrorinstall.core.textcodec import TextForm
from mirrorinstall.rewrite import Context, CudaMismatch, Plan, rewrite
from mirrorinstall.rewrite.fixed import fixed_args


def user_shell(environ: Mapping[str, str]) -> str:
    """The grammar of the user's shell (core/shellquote.py), for every command minstall prints."""
    return detect_shell(environ, hostos.windows_rules())


def quote(argv: list[str], env: dict[str, str], shell: str = POSIX) -> str:
    """The command as the user's shell wants it."""
    return quote_command(argv, env, shell)


def quote_plan(plan: Plan, shell: str = POSIX) -> str:
    """Every step of the plan as one line: a failed step stops the rest."""
    return join_steps([quote(step.argv, step.env, shell) for step in plan.steps()], shell)


def step_json(plan: Plan, shell: str = POSIX) -> list[dict]:
    """Each step for --json output, in order."""
    return [
        {
            "step": k + 1,
            "why": step.step,
            "command": quote(step.argv, step.env, shell),
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
            args = fixed_args(list(cmd.args), project, requirement, ctx.facts.tables)
            try:
                auto = rewrite(parse_command([*cmd.head, *args]), ctx)
                fixed = f" Fixed command: {quote_plan(auto, user_shell(ctx.facts.environ))}"
            except CudaMismatch:
                pass
        elif ctx.cuda_mode != "auto":
            try:
                auto = rewrite(cmd, replace(ctx, cuda_mode="auto"))
                fixed = f" Fixed command: {quote_plan(auto, user_shell(ctx.facts.environ))}"
            except CudaMismatch:
                pass
        raise CudaError(exc.message, exc.hint + fixed) from None


def write_copies(plan: Plan, facts: Facts) -> None:
    """Write the rewritten copies of the user's files (never the files themselves), each in
    its original's encoding and byte-order mark (pip reads the copy as it read the file): a
    UTF-16 file from PowerShell stays UTF-16, a GBK one GBK. A character the original's
    encoding cannot hold (never one of ours: URLs are ASCII) makes the copy UTF-8 with a
    byte-order mark, which pip and conda read as UTF-8."""
    from mirrorinstall.core.cache import write_atomic

    original = {copy: path for path, copy in facts.copies.items()}
    for path, text in (item for step in plan.steps() for item in step.writes.items()):
        form = facts.file_forms.get(original.get(path, ""), TextForm())
        try:
            data = form.encode(text)
        except UnicodeEncodeError:
            data = TextForm("utf-8", codecs.BOM_UTF8).encode(text)
        try:
            write_atomic(Path(path), data)
        except OSError as exc:
            raise CacheError(
                f"cannot write the rewritten copy {path}: {exc.strerror or exc}",
                "Choose another --cache-dir (MINSTALL_CACHE_DIR).",
            ) from None
