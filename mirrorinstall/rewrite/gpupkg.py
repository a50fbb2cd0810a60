"""JAX, CuPy, ONNX Runtime and PaddlePaddle: the CUDA build a requirement or an index asks
for, checked against the driver. Pure.

``--cuda keep`` warns about a build the driver cannot run; ``auto`` takes the newest build it
runs (``jax[cuda13]`` -> ``jax[cuda12]`` on driver 550, PaddlePaddle's cu126 index -> cu118
on driver 470), or refuses with the driver that would run it. A build that lives on another
index than the one the command uses (ONNX Runtime's CUDA 11 builds) is named, not swapped in:
two indexes with the same versions would leave pip's choice between them to chance. The facts
are ``data/gpu_packages.toml``; whether a driver runs a CUDA major is ``cuda/choose.py``'s rule.
"""

from __future__ import annotations

from packaging.requirements import InvalidRequirement, Requirement

from mirrorinstall.cuda.choose import CudaMismatch
from mirrorinstall.cuda.packages import (
    Build,
    GpuPackage,
    asked,
    best_build,
    by_index,
    floor,
    runs,
)
from mirrorinstall.rewrite.common import Context, Plan


def rewrite_gpu_requirement(
    token: str, ctx: Context, plan: Plan, indexes: tuple[str, ...] = ()
) -> str:
    """The requirement to use instead of ``token`` (itself when nothing changes); notes go to
    ``plan``. ``indexes``: the command's index URLs (a package's own build index among them
    is judged by :func:`rewrite_gpu_index`). Raises :class:`CudaMismatch` when ``auto`` finds
    no build the driver runs."""
    tables, host = ctx.facts.tables, ctx.facts.host
    if tables is None or not tables.packages:
        return token
    try:
        req = Requirement(token)
    except InvalidRequirement:
        return token
    found = None if req.url else asked(tables.packages, req.name, _extras(req))
    if found is None:
        return token
    pkg, build = found
    if any((hit := by_index(tables.packages, url)) and hit[0] is pkg for url in indexes):
        return token  # the command names the build's own index: judged there
    os = ctx.facts.os
    if build is None:
        return _plain(token, req, pkg, ctx, plan)
    if os not in pkg.os:
        if ctx.cuda_mode in ("auto", "cpu") and pkg.cpu:
            new = _cpu(req, pkg, build)
            plan.notes.append(
                f"CUDA: {token} -> {new}: {pkg.project}'s CUDA builds are for "
                f"{' and '.join(pkg.os)} only ({os} here; {pkg.source})"
            )
            return new
        plan.notes.append(
            f"CUDA: {token} has no CUDA build for {os} ({pkg.project}'s are for "
            f"{' and '.join(pkg.os)} only: {pkg.source}); pip will not find it"
        )
        return token
    if ctx.cuda_mode == "cpu" and pkg.cpu:
        new = _cpu(req, pkg, build)
        plan.notes.append(f"CUDA: {token} -> {new} (--cuda cpu)")
        return new
    if host is None:
        return token
    if not host.has_driver:
        plan.notes.append(
            f"CUDA: {token} will not run here: {host.describe()}; it is built for CUDA {build.cuda}"
        )
        return token
    driver_os = ctx.facts.driver_os
    if runs(tables, host, build, driver_os):
        return token
    need = floor(tables, build, driver_os)
    best = best_build(tables, host, pkg, driver_os)
    if ctx.cuda_mode == "keep":
        plan.notes.append(
            f"CUDA: warning: {token} is built for CUDA {build.cuda}, which needs NVIDIA driver "
            f">= {need}; this machine has {host.describe()}"
            + (f" (--cuda auto picks {_spelled(best)})" if best else "")
        )
        return token
    if best is None:
        raise CudaMismatch(
            f"{token} is built for CUDA {build.cuda}, which needs NVIDIA driver >= {need}, and "
            f"{pkg.project} has no build that {host.describe()} runs ({pkg.source})",
            f"Upgrade the driver to >= {need}"
            + (f", or install {pkg.cpu} (the CPU build) instead." if pkg.cpu else "."),
        )
    if best.index != build.index:
        plan.notes.append(
            f"CUDA: {token} from {build.index or 'PyPI'} is built for CUDA {build.cuda} (driver "
            f">= {need}); this driver runs the CUDA {best.cuda} build from {best.index or 'PyPI'}"
            f": install it from there ({best.source})"
        )
        return token
    new = _respelled(req, build, best)
    plan.notes.append(
        f"CUDA: {token} -> {new}: CUDA {build.cuda} needs driver >= {need}; "
        f"{host.describe()} runs CUDA {best.cuda} ({pkg.source})"
    )
    return new


def rewrite_gpu_index(url: str, ctx: Context, plan: Plan) -> str:
    """The index to use instead of ``url`` when it is one build's index of a package spelled
    by index (PaddlePaddle's per-CUDA indexes); ``url`` itself when nothing changes."""
    tables, host = ctx.facts.tables, ctx.facts.host
    if tables is None:
        return url
    found = by_index(tables.packages, url)
    if found is None:
        return url
    pkg, build = found
    if host is None or not host.has_driver or ctx.cuda_mode == "cpu":
        if host is not None and not host.has_driver:
            plan.notes.append(
                f"CUDA: {url} gives {pkg.project} built for CUDA {build.cuda}, which will "
                f"not run here: {host.describe()}"
            )
        return url
    driver_os = ctx.facts.driver_os
    if runs(tables, host, build, driver_os):
        return url
    need = floor(tables, build, driver_os)
    best = best_build(tables, host, pkg, driver_os)
    if ctx.cuda_mode == "keep" or best is None or not best.index:
        if best is None and ctx.cuda_mode == "auto":
            raise CudaMismatch(
                f"{url} gives {pkg.project} built for CUDA {build.cuda}, which needs NVIDIA "
                f"driver >= {need}; no build of it runs on {host.describe()}",
                f"Upgrade the driver to >= {need}, or install {pkg.cpu} (the CPU build).",
            )
        plan.notes.append(
            f"CUDA: warning: {url} gives {pkg.project} built for CUDA {build.cuda}, which "
            f"needs NVIDIA driver >= {need}; this machine has {host.describe()}"
            + (f" (--cuda auto takes {best.index})" if best and best.index else "")
        )
        return url
    plan.notes.append(
        f"CUDA: {url} -> {best.index}: {pkg.project} for CUDA {build.cuda} needs driver "
        f">= {need}; {host.describe()} runs CUDA {best.cuda} ({pkg.source})"
    )
    return best.index


def index_package(url: str, ctx: Context) -> str | None:
    """The project whose build index ``url`` is (None: not one of them)."""
    tables = ctx.facts.tables
    found = by_index(tables.packages, url) if tables is not None else None
    return found[0].project if found else None


def _plain(token: str, req: Requirement, pkg: GpuPackage, ctx: Context, plan: Plan) -> str:
    """A package's plain name: CuPy's source distribution (it compiles against a CUDA
    toolkit the machine may not have) gets the prebuilt wheel the driver runs under auto."""
    tables, host = ctx.facts.tables, ctx.facts.host
    if pkg.spell != "name" or tables is None or host is None or not host.has_driver:
        return token
    best = best_build(tables, host, pkg, ctx.facts.driver_os)
    if best is None or ctx.facts.os not in pkg.os:
        return token
    if ctx.cuda_mode != "auto":
        plan.notes.append(
            f"CUDA: {token} is {pkg.project}'s source distribution: pip compiles it against a "
            f"CUDA toolkit; {_spelled(best)} is the prebuilt wheel this driver runs "
            f"({pkg.source}; --cuda auto takes it)"
        )
        return token
    new = _respelled(req, None, best)
    plan.notes.append(
        f"CUDA: {token} -> {new}: the prebuilt wheel for CUDA {best.cuda}, which "
        f"{host.describe()} runs ({pkg.project} alone is compiled on install: {pkg.source})"
    )
    return new


def _extras(req: Requirement) -> frozenset[str]:
    return frozenset(e.lower() for e in req.extras)


def _spelled(build: Build | None) -> str:
    if build is None:
        return ""
    return build.requirement + (f" from {build.index}" if build.index else "")


def _respelled(req: Requirement, old: Build | None, new: Build) -> str:
    """``req`` asking for ``new`` instead of ``old``: its version, other extras and marker
    kept."""
    extras = set(_extras(req))
    if old is not None and old.extra:
        extras.discard(old.extra)
    if new.extra:
        extras.add(new.extra)
    name = req.name if new.extra else new.requirement
    return _text(name, extras, str(req.specifier), req.marker)


def _cpu(req: Requirement, pkg: GpuPackage, build: Build) -> str:
    extras = set(_extras(req))
    if build.extra:
        extras.discard(build.extra)
    return _text(pkg.cpu, extras, str(req.specifier), req.marker)


def _text(name: str, extras: set[str], spec: str, marker: object) -> str:
    inside = f"[{','.join(sorted(extras))}]" if extras else ""
    return f"{name}{inside}{spec}" + (f"; {marker}" if marker else "")
