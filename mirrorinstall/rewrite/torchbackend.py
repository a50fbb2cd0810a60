"""uv's ``--torch-backend`` and ``UV_TORCH_BACKEND``, as the PyTorch index they stand for. Pure.

uv fetches the torch family for a backend from download.pytorch.org, always: its index URLs
are hardcoded (``crates/uv-torch/src/backend.rs``; an option to change them is still an open
proposal, astral-sh/uv#21162; https://docs.astral.sh/uv/guides/integration/pytorch/). So no
mirror can serve it. The same thing, written as an index, can: ``--torch-backend cu126``
means "the torch family only from https://download.pytorch.org/whl/cu126", which for uv is
what an extra index already means (its first-index strategy takes a package from the first
index that has it, extra indexes before the default). ``auto`` means the variant uv would
detect from the driver; minstall detects the driver too and chooses the same way it does for
``--cuda auto``. The rewritten option then goes through the usual PyTorch index routing.
"""

from __future__ import annotations

import re
from dataclasses import replace

from mirrorinstall.core.argv import Command
from mirrorinstall.cuda.choose import CudaMismatch, UnknownRelease, choose_torch
from mirrorinstall.rewrite.common import Context

OFFICIAL = "https://download.pytorch.org/whl"
_NAMED = re.compile(r"^(cpu|cu\d{2,3}|rocm\d+(\.\d+)*|xpu)$")


def translate_torch_backend(cmd: Command, ctx: Context) -> tuple[Command, list[str], list[str]]:
    """``cmd`` with its torch backend (option, else ``UV_TORCH_BACKEND``) written as the
    PyTorch index it means; the notes, and the environment variables the child must not see
    (uv would let the variable override the index)."""
    if cmd.tool != "uv":
        return cmd, [], []
    args = list(cmd.args)
    value, where, at = None, None, None
    for i, token in enumerate(args):
        if token == "--":
            break
        if token == "--torch-backend" and i + 1 < len(args):
            value, where, at = args[i + 1], token, (i, 2)
        elif token.startswith("--torch-backend="):
            value, where, at = token.split("=", 1)[1], token.split("=", 1)[0], (i, 1)
    env_value = ctx.facts.environ.get("UV_TORCH_BACKEND")
    unset = ["UV_TORCH_BACKEND"] if env_value else []
    if value is None and env_value:
        value, where = env_value, "UV_TORCH_BACKEND"
    if value is None:
        return cmd, [], []
    variant, why = _variant(value.strip().lower(), ctx)
    if variant is None:
        # nothing minstall can stand in for: uv does as it would have done
        return cmd, [f"{where}={value} kept: {why}; uv fetches that from download.pytorch.org"], []
    url = f"{OFFICIAL}/{variant}"
    new = ["--extra-index-url", url]
    if at is not None:
        args[at[0] : at[0] + at[1]] = new
    else:
        args += new
    note = (
        f"{where}={value} -> --extra-index-url {url} ({why}; uv always fetches a torch "
        "backend from download.pytorch.org, but an index of the same variant can be a mirror, "
        "and uv takes the torch family from it first)"
    )
    if unset:
        note += "; UV_TORCH_BACKEND is unset for uv, else it would override the index"
    return replace(cmd, args=tuple(args)), [note], unset


def _variant(value: str, ctx: Context) -> tuple[str | None, str]:
    """The PyTorch variant a backend value names, and why; None when there is none to use."""
    if _NAMED.match(value):
        return value, f"the {value} build"
    if value != "auto":
        return None, f"{value!r} is not a backend minstall knows (cpu, cuXYZ, rocmX.Y, xpu, auto)"
    host, tables = ctx.facts.host, ctx.facts.tables
    if host is None or tables is None:
        return None, "the driver was not looked at"
    if not host.has_driver:
        return "cpu", f"auto: {host.describe()}, so the CPU build, as uv would choose"
    try:
        choice = choose_torch(
            tables, host, os=ctx.facts.driver_os, python=ctx.facts.python, want="auto"
        )
    except (CudaMismatch, UnknownRelease) as exc:
        return None, f"auto: {exc.message}"
    return choice.variant, f"auto: {choice.reason}"
