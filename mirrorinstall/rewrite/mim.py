"""``mim install`` as the pip install mim runs, with what mim adds: OpenMMLab's mmcv page for
the target's torch and the 'mim' extra of OpenMMLab's packages (openmim 0.3.9,
``mim/commands/install.py``; the facts are ``data/find_links.toml``'s ``[mim]``). Run as pip,
the page, PyPI and the download go through mirrors like any pip install's. Pure.
"""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import urlsplit

from packaging.version import Version

from mirrorinstall.core.argv import Command
from mirrorinstall.core.errors import UsageError
from mirrorinstall.rewrite.common import Context

_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[([^\]]*)\])?(.*)$", re.S)


def from_mim(
    cmd: Command, ctx: Context, positionals: list[tuple[int, str]]
) -> tuple[Command, list[str]]:
    """``cmd`` (parsed from ``mim install``) with mim's additions, and the notes that say what
    they are; any other command as it is. ``positionals``: (index, token) of its requirements."""
    facts = ctx.facts
    mim = facts.tables.mim if facts.tables is not None else None
    if cmd.origin != "mim" or mim is None:
        return cmd, []
    torch = facts.installed_torch
    if not torch:
        python = " ".join(cmd.head[: cmd.head.index("-m")])
        where = "the 'python' on PATH" if python == "python" else python
        raise UsageError(
            f"mim install needs torch in the target environment ({where}): mim imports torch "
            "to choose mmcv's page, and fails without it",
            "Install torch first (minstall pip install torch torchvision --cuda auto), then "
            "run this again.",
        )
    release, _, tag = torch.partition("+")
    cuda = facts.installed_torch_cuda
    if cuda is None:  # torch/version.py could not be read: its build tag says the same
        cuda = f"{tag[2:-1]}.{tag[-1]}" if re.fullmatch(r"cu\d{2,3}", tag) else ""
    variant = f"cu{cuda.replace('.', '')}" if cuda else "cpu"
    minor = ".".join(release.split(".")[:2])
    base = (facts.environ.get("MMCV_BASE_URL") or "").rstrip("/") or mim.base
    if urlsplit(base).scheme not in ("http", "https") or not urlsplit(base).netloc:
        raise UsageError(
            f"MMCV_BASE_URL is {base!r}, which is not an http(s) URL (mim reads mmcv's pages "
            "from <MMCV_BASE_URL>/mmcv/dist/...)",
            "Set it to a URL such as https://download.openmmlab.com, or unset it.",
        )
    page = mim.page.format(base=base, variant=variant, torch=f"{minor}.0")
    args = list(cmd.args)
    extended = []
    for i, token in positionals:
        found = _NAME.match(token)
        if found is None or found.group(1).lower() not in mim.packages or _a_path(token):
            continue
        extras = [e.strip() for e in (found.group(2) or "").split(",") if e.strip()]
        if "mim" not in extras:
            args[i] = f"{found.group(1)}[{','.join([*extras, 'mim'])}]{found.group(3)}"
            extended.append(f"{token} -> {args[i]}")
    args += ["-f", page]
    if urlsplit(base).scheme == "http":  # as mim does for a plain-http $MMCV_BASE_URL
        args += ["--trusted-host", urlsplit(base).netloc]
    how = "no CUDA" if not cuda else f"CUDA {cuda}"
    notes = [
        f"mim install -> python -m pip install: what mim runs, in its Python ({mim.source}); "
        f"mmcv's page for the target's torch {torch} ({how}): {page}"
        + (f"; the 'mim' extra, as mim adds it: {', '.join(extended)}" if extended else "")
    ]
    if base != mim.base:
        notes.append(f"MMCV_BASE_URL: mmcv's pages from {base}, as mim takes them")
    names = {found.group(1).lower() for _, t in positionals if (found := _NAME.match(t))}
    if names & {"mmcv", "mmcv-full", *mim.packages}:
        missing = _no_prebuilt(ctx, minor, variant)
        if missing:
            notes.append(
                f"CUDA: warning: {missing}: pip builds mmcv from its source (slow, and it needs "
                "the CUDA toolkit), as mim would"
            )
    return replace(cmd, args=tuple(args)), notes


def _a_path(token: str) -> bool:
    """A local project or file pip installs by its path (``mmocr/``, ``./mmdet``), not a
    requirement: pip takes anything with a path separator as one."""
    return "/" in token or "\\" in token or token.startswith(".")


def _no_prebuilt(ctx: Context, minor: str, variant: str) -> str | None:
    """Why OpenMMLab's pages have no mmcv for torch ``minor`` and ``variant`` (None: they do,
    or it is not known)."""
    tables = ctx.facts.tables
    family = next((f for f in tables.pages if "mmcv" in f.projects), None) if tables else None
    if family is None:
        return None
    builds = family.builds(minor)
    if builds is None and family.newest and Version(minor) > Version(family.newest):
        return (
            f"OpenMMLab publishes no mmcv build for torch {minor}, nor for any after "
            f"{family.newest} ({family.newest_source}); install torch {family.newest} or older "
            "first for a prebuilt one"
        )
    if builds is not None and variant not in builds:
        return (
            f"OpenMMLab publishes no {variant} mmcv build for torch {minor} (builds: "
            f"{', '.join(builds)}; {family.row_source(minor)})"
        )
    return None
