"""Stage 2, rewrite: a conda/pip/uv command -> the same command on the fastest mirrors, with
the CUDA build the driver runs. Pure: the gathered facts in, a :class:`Plan` out.

``common`` holds what both worlds share (:class:`Context`, :class:`Plan`, the mirror choice,
spec names); ``conda`` and ``pip`` do the rest.
"""

from __future__ import annotations

from mirrorinstall.core.argv import Command
from mirrorinstall.cuda.choose import CudaMismatch
from mirrorinstall.rewrite.common import Context, Plan, choose_channel
from mirrorinstall.rewrite.conda import rewrite_conda
from mirrorinstall.rewrite.pip import rewrite_pip


def rewrite(cmd: Command, ctx: Context) -> Plan:
    """The plan for ``cmd``: conda-family commands and pip/uv ones are rewritten apart."""
    if cmd.family == "conda":
        return rewrite_conda(cmd, ctx)
    return rewrite_pip(cmd, ctx)


__all__ = ["Context", "CudaMismatch", "Plan", "choose_channel", "rewrite"]
