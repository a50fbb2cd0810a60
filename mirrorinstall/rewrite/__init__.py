"""Stage 2, rewrite: a conda/pip/uv command -> the same command on the fastest mirrors, with
the CUDA build the driver runs. Pure: the gathered facts in, a :class:`Plan` out.

``common`` holds what both worlds share (:class:`Context`, :class:`Plan`, the mirror choice,
spec names); ``conda`` and ``pip`` do the rest.
"""

from __future__ import annotations

from mirrorinstall.core.argv import Command
from mirrorinstall.cuda.choose import CudaMismatch
from mirrorinstall.rewrite.common import Context, Plan, choose_channel


def rewrite(cmd: Command, ctx: Context) -> Plan:
    """The plan for ``cmd``: conda-family commands and pip/uv ones are rewritten apart (each
    imported when needed: a conda rewrite does not pay for pip's wheel-tag machinery). A
    command that downloads nothing runs as typed."""
    if cmd.passthrough:
        why = (
            "--offline: conda installs from its package cache, so no mirror is used and no URL "
            "is changed"
        )
        return Plan(argv=[*cmd.head, *cmd.args], notes=[f"run as typed: {why}"])
    if cmd.family == "conda":
        from mirrorinstall.rewrite.conda import rewrite_conda

        return rewrite_conda(cmd, ctx)
    from mirrorinstall.rewrite.pip import rewrite_pip

    return rewrite_pip(cmd, ctx)


__all__ = ["Context", "CudaMismatch", "Plan", "choose_channel", "rewrite"]
