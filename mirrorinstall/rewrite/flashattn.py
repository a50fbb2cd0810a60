"""flash-attn in a pip or uv command: its release wheel for the torch the command installs (or
the target holds), named by URL, instead of the source distribution. Pure.

What ``pip install flash-attn`` does: build the sdist, whose setup.py imports torch (under
build isolation: "No module named 'torch'") and then fetches the wheel for that torch from
GitHub with urllib, outside pip and its mirrors, compiling for an hour or more when that
fails. Naming the same wheel lets pip (and minstall's download) fetch it like any file, from a
copy of GitHub's release host when the catalog has one. ``--cuda keep`` takes the release pip
would (the newest the requirement allows) and leaves the requirement alone when that release
has no wheel for this torch; ``auto`` takes the newest release that has one. A wheel named by
URL for another torch, CUDA, ABI or Python (the cause of flash-attn's "undefined symbol") is
named in a warning, and swapped for the same release's wheel under ``auto``.
"""

from __future__ import annotations

from collections.abc import Callable

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from mirrorinstall.bench.pages import wheel_fits
from mirrorinstall.cuda.flashattn import (
    FlashFacts,
    TorchBuild,
    WheelName,
    choose_wheel,
    read_wheel,
    torch_build,
)
from mirrorinstall.rewrite.common import Context, Plan


def is_flash_attn(text: str) -> bool:
    """Does this requirement (a name, a pin, ``name @ URL`` or a bare wheel URL) ask for
    flash-attn?"""
    text = text.strip()
    if "://" in text.split("@", 1)[0]:
        return "/flash_attn-" in text
    try:
        return canonicalize_name(Requirement(text).name) == "flash-attn"
    except InvalidRequirement:
        return False


def rewrite_flash_attn(
    token: str,
    ctx: Context,
    plan: Plan,
    torch: tuple[str | None, str | None],
    route: Callable[[str], str],
    abi: bool | None = None,
) -> str:
    """The requirement to use instead of ``token`` (itself when nothing changes), notes in
    ``plan``. ``torch``: (release, build) the command installs or the target holds;
    ``route``: an official URL -> the same file on the best copy of its host; ``abi``: the
    C++ ABI the target's torch says it has, when ``torch`` is that one."""
    tables = ctx.facts.tables
    facts = tables.flash if tables is not None else None
    if facts is None:
        return token
    bare = "://" in token.split("@", 1)[0]
    try:
        req = None if bare else Requirement(token)
    except InvalidRequirement:
        return token
    url = token.strip() if req is None else req.url
    named = read_wheel(facts, url) if url else None
    if url and named is None:
        return token  # a fork's wheel, a local file, a git URL: as written
    if ctx.facts.environ.get("FLASH_ATTENTION_FORCE_BUILD") == "TRUE" and named is None:
        plan.notes.append(
            f"{token}: FLASH_ATTENTION_FORCE_BUILD=TRUE, so it is compiled as asked (no wheel)"
        )
        return token
    _check_gpus(token, ctx, plan, facts)
    # the platform tag of the wheels flash-attn builds that install here (pip's own test)
    platform = next(
        (
            p
            for p in facts.platforms
            if wheel_fits(
                f"flash_attn-0-py3-none-{p}.whl", ctx.facts.python or "3", ctx.facts.platform
            )
        ),
        None,
    )
    if platform is None:
        plan.notes.append(
            f"CUDA: {token}: flash-attn publishes wheels for {', '.join(facts.platforms)} only "
            f"({ctx.facts.platform} here: {facts.source}); pip compiles it, which needs torch "
            "installed first, --no-build-isolation and a CUDA toolkit with nvcc"
        )
        return token
    if ctx.cuda_mode == "cpu":
        plan.notes.append(f"CUDA: {token}: flash-attn has no CPU build; --cuda cpu leaves it")
        return token
    release, build = torch
    if release is None:
        plan.notes.append(
            f"CUDA: {token}: flash-attn is built for the torch beside it, and which torch that "
            "is is not known (this command pins no torch release and the target has none; "
            "its setup.py imports torch: install torch first, then flash-attn with "
            "--no-build-isolation); left as written"
        )
        return token
    minor = ".".join(release.split(".")[:2])
    if not any(minor in r.torch for r in facts.releases):
        newest = facts.releases[-1]
        plan.notes.append(
            f"CUDA: {token}: no flash-attn release in minstall's table has wheels for torch "
            f"{minor} (the newest, {newest.version}, is built for torch {', '.join(newest.torch)}"
            f": {newest.source}); pip compiles it (an hour or more; torch installed first, "
            "--no-build-isolation, nvcc)"
        )
        return token
    fit = torch_build(facts, release, build, abi)
    python = ctx.facts.python
    if isinstance(fit, str) or python is None:
        why = fit if isinstance(fit, str) else "the target's Python version is unknown"
        plan.notes.append(f"CUDA: {token}: no flash-attn wheel chosen: {why}")
        return token
    if named is not None:
        return _named_wheel(token, url or "", named, fit, python, platform, ctx, plan, route)
    assert req is not None
    chosen, name = choose_wheel(
        facts, req.specifier, fit, python, platform, newest_only=ctx.cuda_mode == "keep"
    )
    where = f"{fit.describe()}, Python {python}"
    if chosen is None:
        plan.notes.append(
            f"CUDA: {token}: no release it allows is in minstall's table of flash-attn wheels "
            f"({facts.releases[0].version} to {facts.releases[-1].version}); left as written: "
            "its setup.py looks for the wheel itself"
        )
        return token
    if name is None:
        best, has = choose_wheel(facts, SpecifierSet(), fit, python, platform, newest_only=False)
        best = best if has else None
        plan.notes.append(
            f"CUDA: {token}: flash-attn {chosen.version} has no release wheel for {where} "
            f"({chosen.source}), so pip compiles it (an hour or more; torch installed first, "
            "--no-build-isolation, nvcc)"
            + (
                f"; flash-attn {best.version} has one"
                + (" (--cuda auto takes it)" if ctx.cuda_mode == "keep" else "")
                if best is not None
                else f"; no release in the table has one for torch {fit.minor}"
            )
        )
        return token
    official = facts.url(chosen.version, name)
    marker = f" ; {req.marker}" if req.marker else ""
    new = f"flash-attn @ {route(official)}{marker}"
    exact = any(s.operator in ("==", "===") and "*" not in s.version for s in req.specifier)
    plan.notes.append(
        f"CUDA: {token} -> {new}: flash-attn {chosen.version}'s release wheel for {where} "
        f"({fit.how}; {chosen.source}): no build, no build isolation, no download from setup.py"
        + (
            ""
            if exact
            else f" ({chosen.version}: the newest release in minstall's table that "
            "fits; pin flash-attn to take another)"
        )
    )
    return new


def _named_wheel(
    token: str,
    url: str,
    named: WheelName,
    fit: TorchBuild,
    python: str,
    platform: str,
    ctx: Context,
    plan: Plan,
    route: Callable[[str], str],
) -> str:
    """A release wheel named by URL: checked against the torch beside it, then routed."""
    assert ctx.facts.tables is not None and ctx.facts.tables.flash is not None
    facts = ctx.facts.tables.flash
    release = facts.release(named.version)
    want = release.wheel(fit, python, platform) if release is not None else None
    have, wrong = named.filename, _mismatch(named, fit, python, ctx.facts.platform)
    official = url
    if want is not None and want != have:
        if ctx.cuda_mode == "auto":
            plan.notes.append(
                f"CUDA: {have} -> {want}: the wheel was built for {wrong}; this command's "
                f"torch is {fit.describe()} ({fit.how}; {release.source if release else ''})"
            )
            # the same release's folder, as the command reaches it (a GitHub proxy kept)
            official = url.split("#", 1)[0].rsplit("/", 1)[0] + "/" + want
        else:
            plan.notes.append(
                f"CUDA: warning: {have} is built for {wrong}, not {fit.describe()}, Python "
                f"{python}: importing it fails with 'flash_attn_2_cuda... undefined symbol' "
                f"(--cuda auto takes {want})"
            )
    elif want is None and wrong:
        plan.notes.append(
            f"CUDA: warning: {have} is built for {wrong}, "
            f"and flash-attn {named.version} has no wheel for {fit.describe()}, Python {python}"
        )
    new_url = route(official)
    return token.replace(url, new_url) if new_url != url else token


def _mismatch(named: WheelName, fit: TorchBuild, python: str, subdir: str) -> str:
    """What of ``named`` differs from the torch, Python and platform it would run with."""
    parts = []
    if named.torch != fit.minor:
        parts.append(f"torch {named.torch}")
    if named.cuda[:2] != fit.cuda.split(".")[0]:  # "12", "123": the major is two digits
        parts.append(f"CUDA {named.cuda[:2]}")
    if named.cxx11 != fit.cxx11:
        parts.append(f"C++ ABI {'TRUE' if named.cxx11 else 'FALSE'}")
    if not wheel_fits(named.filename, python, subdir):
        parts.append(f"Python {named.python} on {named.platform}")
    return ", ".join(parts)


def _check_gpus(token: str, ctx: Context, plan: Plan, facts: FlashFacts) -> None:
    """flash-attn 2 runs on Ampere or newer: a warning naming the GPUs it will not run on."""
    from packaging.version import InvalidVersion, Version

    host = ctx.facts.host
    if host is None:
        return
    old = []
    for gpu in host.gpus:
        try:
            if gpu.cc and Version(gpu.cc) < Version(facts.min_cc):
                old.append(gpu.name if f"sm {gpu.cc}" in gpu.name else f"{gpu.name} (sm {gpu.cc})")
        except InvalidVersion:
            continue
    if old:
        plan.notes.append(
            f"CUDA: warning: {token}: FlashAttention-2 runs on GPUs of compute capability "
            f"{facts.min_cc} or newer (Ampere, Ada, Hopper: {facts.min_cc_source}); "
            f"{', '.join(old)} is older: it installs, and fails when called"
        )
