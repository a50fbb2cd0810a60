"""A conda/pip/uv command -> the same command on the fastest mirrors, right CUDA build. Pure.

This module holds what both worlds share (:class:`Context`, :class:`Plan`, the mirror
choice, spec names); ``rewrite_conda`` and ``rewrite_pip`` do the rest.

Inputs are plain data: the parsed command, the catalog, the mirror order per kind (from a
bench ranking), the host's CUDA facts and the text of any file the command names. The
output (:class:`Plan`) is the new argv, environment changes, one note per change, the mirror
chosen for every channel and index, the CUDA decision, and the rewritten copies of files
(the user's own files are never edited). Tokens that are not rewritten stay verbatim and in
order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from mirrorinstall.argv import Command
from mirrorinstall.catalog import Catalog, Mirror
from mirrorinstall.cuda import (
    CudaMismatch,
    HostCuda,
)
from mirrorinstall.cuda_tables import Tables

_SPEC_NAME = re.compile(r"^([A-Za-z0-9_.\-]+)")


@dataclass(frozen=True)
class Context:
    catalog: Catalog
    order: Mapping[str, list[str]]  # kind -> mirror ids, best first
    platform: str = "linux-64"  # conda subdir the command is for
    cuda_mode: str = "keep"
    host: HostCuda | None = None
    tables: Tables | None = None
    python: str | None = None  # "3.11", for wheel/release checks
    strip_channels: bool = False
    files: Mapping[str, str] = field(default_factory=dict)  # path -> text of files we read
    environ: Mapping[str, str] = field(default_factory=dict)
    copy_path: Callable[[str], str] = lambda p: p + ".minstall"
    windows_driver: bool = False  # WSL2 reports the Windows driver: Windows thresholds apply
    # (mirror id, variant, torch version) -> None if the mirror has a wheel for this Python and
    # platform, else why not. Given by the caller (it reads the mirror's listing).
    wheel_check: Callable[[str, str, str], str | None] | None = None

    @property
    def os(self) -> str:
        if self.platform.startswith("win"):
            return "windows"
        return "macos" if self.platform.startswith("osx") else "linux"

    @property
    def driver_os(self) -> str:
        """Whose driver thresholds apply: Windows ones for a Windows driver (WSL2 included)."""
        return "windows" if self.windows_driver or self.os == "windows" else self.os


@dataclass
class Plan:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    mirrors: dict[str, dict[str, Any]] = field(default_factory=dict)
    cuda: dict[str, Any] | None = None
    writes: dict[str, str] = field(default_factory=dict)  # new path -> content


# ------------------------------------------------------------------ mirror choice


def ranked(ctx: Context, kind: str) -> list[Mirror]:
    """Mirrors for ``kind``: the bench order first, then the official hosts as the last resort."""
    seen, out = set(), []
    for mid in ctx.order.get(kind, []):
        m = ctx.catalog.get(mid)
        if m is not None and m.enabled and mid not in seen:
            out.append(m)
            seen.add(mid)
    for m in ctx.catalog.enabled():
        if m.upstream and m.id not in seen:
            out.append(m)
    return out


def choose_channel(ctx: Context, channel: str) -> tuple[Mirror | None, str | None]:
    """The best-ranked mirror carrying ``channel`` for this platform, and its URL."""
    for m in ranked(ctx, "conda"):
        url = m.channel_url(channel)
        if url is None:
            continue
        entry = m.conda.get(channel)
        if entry is not None and not (
            entry.carries_subdir(ctx.platform) and entry.carries_subdir("noarch")
        ):
            continue
        return m, url
    return None, None


def pypi_mirror(ctx: Context) -> Mirror | None:
    return next((m for m in ranked(ctx, "pypi") if m.pypi), None)


def torch_mirror(ctx: Context) -> Mirror | None:
    return next((m for m in ranked(ctx, "pytorch") if m.pytorch), None)


# ------------------------------------------------------------------ channels and specs


def upstream_channel(url: str) -> str | None:
    """``https://conda.anaconda.org/conda-forge`` -> ``conda-forge``; other URLs -> None."""
    parts = urlsplit(url)
    path = parts.path.strip("/").split("/")
    if parts.hostname == "conda.anaconda.org" and path and path[0]:
        return path[0]
    if parts.hostname == "repo.anaconda.com" and len(path) >= 2 and path[0] == "pkgs":
        return path[1]
    return None


def spec_name(spec: str) -> str:
    spec = spec.split("::", 1)[-1]
    match = _SPEC_NAME.match(spec)
    return match.group(1).lower() if match else spec.lower()


def spec_version(spec: str) -> str | None:
    rest = spec.split("::", 1)[-1][len(spec_name(spec)) :]
    rest = (
        rest.split("=")[1]
        if rest.startswith("=") and not rest.startswith("==")
        else rest.lstrip("=")
    )
    rest = rest.split("=")[0].strip()
    return rest or None


def rewrite(cmd: Command, ctx: Context) -> Plan:
    """The plan for ``cmd``: conda-family commands and pip/uv ones are rewritten apart."""
    if cmd.family == "conda":
        from mirrorinstall.rewrite_conda import rewrite_conda

        return rewrite_conda(cmd, ctx)
    from mirrorinstall.rewrite_pip import rewrite_pip

    return rewrite_pip(cmd, ctx)


__all__ = ["Context", "CudaMismatch", "Plan", "choose_channel", "rewrite"]
