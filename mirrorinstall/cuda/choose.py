"""Which CUDA build a machine can run. Pure: tables and host facts in, a decision out.

The rule (the one uv and light-the-torch apply, plus GPU architectures): a build runs when
the detected driver meets its CUDA's minimum driver and it has kernels for every GPU
present. With a GPU, a CPU build is never chosen while a CUDA build runs: take the newest
release in the requested range that has a runnable build (stepping down from the newest
when needed, and saying which driver would run the newer one), and its newest runnable
variant. A range with no runnable build is an error that names what would run; only with
no runnable build in any release (or no GPU, or ``--cuda cpu``) is the CPU build chosen.

Minimum driver for CUDA X.Y (``driver_floor``): from 11.1 on, the minor-version-compatibility
floor of family X (Linux 450.80.02 / 525.60.13 / 580 for 11 / 12 / 13); up to 11.0, the
driver the toolkit shipped with. On Windows the Windows column applies (also under WSL2,
where nvidia-smi reports the Windows driver).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from mirrorinstall.cuda.accel import Accelerators, AccelMismatch, choose_accel
from mirrorinstall.cuda.tables import Tables, TorchRelease


class CudaMismatch(Exception):
    """A CUDA build the user pinned cannot run here (message says why, hint the fix)."""

    def __init__(self, message: str, hint: str, instead: tuple[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        # (project, requirement) that would run here: the caller shows the fixed command
        self.instead = instead


class UnknownRelease(CudaMismatch):
    """The asked-for release is not in minstall's table: nothing says whether it runs here.
    Not a reason to refuse the command: a caller keeps the user's pin, with a note."""


@dataclass(frozen=True)
class Gpu:
    name: str
    cc: str | None = None  # compute capability "8.6"; None when the driver cannot say (R470)


@dataclass(frozen=True)
class HostCuda:
    """What is known about the machine's NVIDIA driver, however it was found."""

    driver: str | None = None  # "535.104.05"
    cuda: str | None = None  # the newest CUDA the driver supports ("12.2"), when known
    gpus: tuple[Gpu, ...] = ()
    how: str = "not looked for"
    error: str | None = None  # detection failed (as opposed to: no driver)

    @property
    def has_driver(self) -> bool:
        return self.driver is not None or self.cuda is not None

    def describe(self) -> str:
        if self.error:
            return f"driver detection failed: {self.error}"
        if not self.has_driver:
            return f"no NVIDIA driver found ({self.how})"
        parts = [f"driver {self.driver}" if self.driver else f"CUDA {self.cuda} (driver unknown)"]
        if self.gpus:
            parts.append(", ".join(g.name + (f" (sm {g.cc})" if g.cc else "") for g in self.gpus))
        return "; ".join(parts) + f" [{self.how}]"


@dataclass(frozen=True)
class CudaChoice:
    framework: str  # "torch"
    release: str  # "2.5.1"
    variant: str  # "cu121", "cpu", "rocm6.2", "xpu"; "pypi": PyPI's untagged wheels
    cuda: str | None  # "12.1"
    reason: str
    notes: tuple[str, ...] = field(default_factory=tuple)
    torchvision: str | None = None
    extras: tuple[str, ...] = ()  # companion requirements ("torch-npu==2.5.1" for Ascend)

    @property
    def build(self) -> str:
        """The version pip installs: "2.5.1+cu121", or "2.5.1" for PyPI's own wheels."""
        return self.release if self.variant == "pypi" else f"{self.release}+{self.variant}"


def variant_cuda(variant: str) -> str | None:
    """``cu121`` -> ``12.1``, ``cu92`` -> ``9.2``, ``cpu`` -> None."""
    if not variant.startswith("cu") or not variant[2:].isdigit():
        return None
    digits = variant[2:]
    return f"{digits[:-1]}.{digits[-1]}"


def cuda_variant(cuda: str) -> str:
    major, minor = cuda.split(".")[:2]
    return f"cu{major}{minor}"


def _v(text: str) -> Version:
    return Version(text)


def driver_floor(tables: Tables, cuda: str, os: str) -> str | None:
    """Minimum driver for a pre-built CUDA ``cuda`` binary on ``os`` (linux/windows)."""
    major_minor = _v(cuda)
    column = "windows" if os == "windows" else "linux"
    if major_minor >= _v("11.1"):
        row = next((r for r in tables.mvc if r.cuda == str(major_minor.major)), None)
        return getattr(row, column) if row else None
    exact = [r for r in tables.toolkits if _v(r.cuda) == major_minor]
    return getattr(exact[0], column) if exact else None


def supports(tables: Tables, host: HostCuda, cuda: str, os: str) -> bool:
    """Can this host's driver run a pre-built CUDA ``cuda`` binary?"""
    if host.driver:
        floor = driver_floor(tables, cuda, os)
        return floor is not None and _v(host.driver) >= _v(floor)
    if host.cuda:
        have, want = _v(host.cuda), _v(cuda)
        if want >= _v("11.1"):
            return have.major >= want.major  # minor-version compatibility within a family
        return have >= want
    return False


def arch_list(tables: Tables, variant: str, release: str | None) -> tuple[str, ...] | None:
    """Compute capabilities a PyTorch build covers; None when only the toolkit limit is known
    (or the release is not)."""
    if release is None:
        return None
    for row in tables.archs:
        if row.variant == variant and _v(release) in SpecifierSet(row.releases):
            return row.archs
    return None


def covers(tables: Tables, variant: str, release: str | None, cc: str | None) -> bool:
    """Does the ``variant`` build of ``release`` run on a GPU of compute capability ``cc``?

    A binary for sm_X.Y runs on X.Z with Z >= Y (same major), so sm_8.0 covers 8.6 (CUDA C++
    Programming Guide, "Binary Compatibility"). Without the build's own list, its toolkit's
    newest target stands for it (PyTorch builds for the newest its toolkit can): CUDA 11.0's
    sm_8.0 runs on 8.6, CUDA 10.2's sm_7.5 does not.
    """
    if cc is None:
        return True
    gpu = _v(cc)
    archs = arch_list(tables, variant, release)
    if archs is not None:
        return any(_v(a).major == gpu.major and _v(a) <= gpu for a in archs)
    cuda = variant_cuda(variant)
    if cuda is None:
        return True
    limits = [(c, m) for c, m, _ in tables.toolkit_max_cc if _v(c) <= _v(cuda)]
    if not limits:
        return True
    newest = _v(max(limits, key=lambda cm: _v(cm[0]))[1])
    return gpu <= newest or gpu.major == newest.major


def why_not_runs(
    tables: Tables,
    host: HostCuda,
    cuda: str | None,
    os: str,
    *,
    variant: str | None = None,
    release: str | None = None,
) -> str | None:
    """The one rule for "does this build run here", for pip wheels, conda packages and doctor
    alike: None when a build for CUDA ``cuda`` (PyTorch ``variant`` of ``release``, where
    known) runs on this machine's driver and has kernels for every GPU; else why not, in
    words. A CPU build (``cuda`` None) runs anywhere."""
    if cuda is None:
        return None
    variant = variant or cuda_variant(cuda)
    if not supports(tables, host, cuda, os):
        floor = driver_floor(tables, cuda, os)
        return f"{variant} needs driver >= {floor}" + (
            "" if host.has_driver else f" ({host.describe()})"
        )
    missing = [g for g in host.gpus if not covers(tables, variant, release, g.cc)]
    if missing:
        return f"{variant} has no kernels for {missing[0].name} (sm {missing[0].cc})"
    return None


def releases_matching(
    tables: Tables, spec: str | None, python: str | None = None
) -> list[tuple[str, TorchRelease]]:
    """(version, release row) pairs that satisfy ``spec``, newest first."""
    try:
        wanted = SpecifierSet(spec or "")
    except InvalidSpecifier:
        wanted = SpecifierSet("==" + spec) if spec else SpecifierSet()
    out = []
    for row in tables.torch:
        if python and row.python and _v(python) not in SpecifierSet(row.python):
            continue
        for version in row.versions:
            base = version.split("+")[0]
            if wanted.contains(base, prereleases=True):
                out.append((base, row))
    return sorted(out, key=lambda vr: _v(vr[0]), reverse=True)


Unavailable = Callable[[str, str], "str | None"]  # (release, variant) -> why it is missing


def _runnable(
    tables: Tables,
    host: HostCuda,
    release: str,
    variants: Sequence[str],
    os: str,
    unavailable: Unavailable | None = None,
) -> tuple[str | None, list[str]]:
    """The newest runnable variant, and why each newer one was passed over."""
    skipped = []
    for variant in sorted(variants, key=lambda v: _v(variant_cuda(v) or "0"), reverse=True):
        cuda = variant_cuda(variant)
        if cuda is None:
            continue
        why = why_not_runs(tables, host, cuda, os, variant=variant, release=release)
        if why:
            skipped.append(why)
            continue
        why_not = unavailable(release, variant) if unavailable else None
        if why_not:
            skipped.append(f"{variant}: {why_not}")
            continue
        return variant, skipped
    return None, skipped


def unlock(
    tables: Tables, host: HostCuda, release: str, variants: Sequence[str], os: str
) -> tuple[str, str] | None:
    """The lowest driver that runs some build of ``release`` on this machine's GPUs, and that
    build: (driver, variant); None when no build has kernels for every GPU."""
    best: tuple[str, str] | None = None
    for variant in variants:
        cuda = variant_cuda(variant)
        floor = driver_floor(tables, cuda, os) if cuda else None
        if floor is None or not all(covers(tables, variant, release, g.cc) for g in host.gpus):
            continue
        if best is None or _v(floor) < _v(best[0]):
            best = (floor, variant)
    return best


def choose_torch(
    tables: Tables,
    host: HostCuda,
    *,
    spec: str | None = None,
    os: str = "linux",
    python: str | None = None,
    want: str = "auto",
    unavailable: Unavailable | None = None,
    accel: Accelerators | None = None,
) -> CudaChoice:
    """Pick the PyTorch release and build for this host (see the module docstring).

    With a GPU (``want="auto"``): the newest release in ``spec`` that has a build this machine
    runs, never a CPU build while one does. Nothing in a ``spec`` runs: :class:`CudaMismatch`
    whose hint names the newest release that runs and the driver the asked-for one needs;
    nothing in any release runs (unpinned): the CPU build, with the driver that would help.
    ``unavailable(release, variant)`` says why a build is not on the chosen mirror (or None).
    """
    candidates = releases_matching(tables, spec, python)
    if not candidates:
        candidates = releases_matching(tables, spec)
    if not candidates:
        raise UnknownRelease(
            f"no PyTorch release matches {spec!r} in minstall's table",
            "Check the version, or update minstall (its table may be older).",
        )
    release, row = candidates[0]
    tv = _torchvision_for(row, release)
    if os == "macos":
        return _on_a_mac(tables, accel, candidates, bool(spec))
    if want == "cpu":
        return CudaChoice(
            "torch", release, "cpu", None, "CPU build asked for (--cuda cpu)", torchvision=tv
        )
    if want != "auto":
        return _pinned(tables, host, release, row, want, os, tv)
    if not host.has_driver:
        other = _accelerated(tables, accel, candidates, os, bool(spec), unavailable)
        if other is not None:
            return other
        return CudaChoice(
            "torch", release, "cpu", None, f"CPU build: {host.describe()}", torchvision=tv
        )
    passed: list[str] = []
    seen: set[str] = set()
    for version, candidate in candidates:
        if candidate.series in seen:  # one release per series: its newest in the range
            continue
        seen.add(candidate.series)
        variant, skipped = _runnable(tables, host, version, candidate.pip, os, unavailable)
        if variant is None:
            passed.append(f"torch {version}: " + ("; ".join(skipped) or "no CUDA build"))
            continue
        cuda = variant_cuda(variant)
        newest = version == release
        reason = (
            f"{variant}: the newest CUDA build of torch {version} that {host.describe()} "
            f"runs (needs driver >= {driver_floor(tables, cuda or '', os)})"
            if newest
            else f"{variant}: torch {version} is the newest release with a build that "
            f"{host.describe()} runs (needs driver >= {driver_floor(tables, cuda or '', os)})"
        )
        notes = passed + skipped
        better = unlock(tables, host, release, row.pip, os)
        if not newest and better and (not host.driver or _v(better[0]) > _v(host.driver)):
            notes.append(f"a driver >= {better[0]} would run torch {release} ({better[1]})")
        return CudaChoice(
            "torch",
            version,
            variant,
            cuda,
            reason,
            tuple(notes),
            _torchvision_for(candidate, version),
        )
    need = unlock(tables, host, release, row.pip, os)
    needs = (
        f"a driver >= {need[0]} runs torch {release} ({need[1]})"
        if need
        else f"no build of torch {release} has kernels for "
        + ", ".join(f"{g.name} (sm {g.cc})" for g in host.gpus)
    )
    if spec:
        other = _other_release(tables, host, os, python, after=release)
        fixes = (
            [f"use torch=={other[0]} ({other[1]}), the nearest release that runs here"]
            if other
            else []
        )
        fixes += [needs, "--cuda cpu installs the CPU build on purpose"]
        raise CudaMismatch(
            f"no CUDA build of torch{spec} runs on {host.describe()}: " + "; ".join(passed),
            _sentence("; ".join(fixes)),
            instead=("torch", f"torch=={other[0]}") if other else None,
        )
    return CudaChoice(
        "torch",
        release,
        "cpu",
        None,
        f"CPU build: no CUDA build of any torch release runs on {host.describe()}",
        (*passed[:3], needs),
        tv,
    )


def _accelerated(
    tables: Tables,
    accel: Accelerators | None,
    candidates: list[tuple[str, TorchRelease]],
    os: str,
    pinned: bool,
    unavailable: Unavailable | None,
) -> CudaChoice | None:
    """The build for an AMD, Intel or Ascend device when there is no NVIDIA driver, or for a
    Mac whose processor is known (None: none of them here)."""
    mac = os == "macos" and bool(accel and accel.machine)
    if accel is None or not (accel.devices or mac) or tables.accel is None:
        return None
    rows = dict(candidates)
    try:
        got = choose_accel(
            tables.accel, accel, list(rows), os, pinned=pinned, unavailable=unavailable
        )
    except AccelMismatch as exc:
        raise CudaMismatch(exc.message, exc.hint) from None
    if got is None:
        return None
    row = rows.get(got.release)
    if row is None:  # Ascend may pair another release than the command's newest
        row = next((r for _v, r in releases_matching(tables, f"=={got.release}")), None)
    return CudaChoice(
        "torch",
        got.release,
        got.variant,
        None,
        got.reason,
        got.notes,
        _torchvision_for(row, got.release) if row is not None else None,
        got.extras,
    )


def _on_a_mac(
    tables: Tables,
    accel: Accelerators | None,
    candidates: list[tuple[str, TorchRelease]],
    pinned: bool,
) -> CudaChoice:
    """macOS: PyPI's wheels, whose names carry no build tag (download.pytorch.org/whl/cpu
    lists the same files: torch-2.5.1-cp311-none-macosx_11_0_arm64.whl, no "+cpu"), so a
    "+cpu" pin finds nothing there. Apple's rules (the last Intel-Mac release, macOS 14 from
    2.12) when the machine is known."""
    apple = _accelerated(tables, accel, candidates, "macos", pinned, None)
    if apple is not None:
        return apple
    release, row = candidates[0]
    return CudaChoice(
        "torch",
        release,
        "pypi",
        None,
        "macOS: PyPI's wheels (no CUDA builds; Apple silicon's carry MPS)",
        torchvision=_torchvision_for(row, release),
    )


def _pinned(
    tables: Tables,
    host: HostCuda,
    release: str,
    row: TorchRelease,
    want: str,
    os: str,
    tv: str | None,
) -> CudaChoice:
    variant = want if want.startswith("cu") else cuda_variant(want)
    cuda = variant_cuda(variant)
    if variant not in row.pip:
        raise CudaMismatch(
            f"torch {release} has no {variant} build (it has {', '.join(row.pip)} and cpu)",
            f"Use --cuda with one of {', '.join(row.pip)}, or --cuda auto.",
        )
    if host.has_driver and cuda and not supports(tables, host, cuda, os):
        floor = driver_floor(tables, cuda, os)
        raise CudaMismatch(
            f"CUDA {cuda} needs NVIDIA driver >= {floor}, but this machine has "
            f"{host.describe()}: the install would end in 'CUDA driver version is "
            "insufficient for CUDA runtime version'",
            "Upgrade the driver, or use --cuda auto to pick a build this driver runs.",
        )
    return CudaChoice(
        "torch", release, variant, cuda, f"{variant} asked for (--cuda {want})", torchvision=tv
    )


def _other_release(
    tables: Tables, host: HostCuda, os: str, python: str | None, after: str | None = None
) -> tuple[str, str] | None:
    """A release with a build this machine runs, and that build: the nearest one newer than
    ``after`` (an old project's code is likelier to work on 1.7 than on 2.x), else the
    newest."""
    releases = releases_matching(tables, None, python) or releases_matching(tables, None)
    runnable = []
    for release, row in releases:
        variant, _ = _runnable(tables, host, release, row.pip, os)
        if variant:
            runnable.append((release, variant))
    if after is not None:
        newer = [rv for rv in runnable if _v(rv[0]) > _v(after)]
        if newer:
            return min(newer, key=lambda rv: _v(rv[0]))
    return runnable[0] if runnable else None


def _torchvision_for(row: TorchRelease, release: str) -> str | None:
    if release in row.versions:
        return row.torchvision[row.versions.index(release)]
    return row.torchvision[-1] if row.torchvision else None


def choose_conda_cuda(
    tables: Tables, host: HostCuda, row: TorchRelease, release: str, os: str
) -> tuple[str | None, list[str]]:
    """For the pytorch conda channel: the cudatoolkit / pytorch-cuda version to pin."""
    variants = [cuda_variant(c) for c in row.conda_cuda]
    variant, skipped = _runnable(tables, host, release, variants, os)
    return (variant_cuda(variant) if variant else None), skipped


@dataclass(frozen=True)
class TfChoice:
    version: str  # the tested row: "2.10.0" stands for the 2.10 series
    cuda: str
    cudnn: str
    runnable: bool
    reason: str
    python: str = ""  # the Python versions the row was tested with ("3.7-3.10")
    notes: tuple[str, ...] = ()

    @property
    def series(self) -> str:
        return ".".join(self.version.split(".")[:2])


def tf_series_match(spec: str | None, version: str) -> bool:
    """Does ``spec`` admit a release of ``version``'s minor series? (The table has one row
    per series, 2.10.0 for 2.10.*, so ``==2.10.1`` and ``<2.10.1`` both admit it.)"""
    try:
        wanted = SpecifierSet(spec or "")
    except InvalidSpecifier:
        return False
    row = _v(version)
    for item in wanted:
        if item.operator in ("==", "===", "~="):
            pinned = _v(item.version.rstrip(".*"))
            if item.operator == "~=" and len(pinned.release) == 2:
                if not (pinned <= row and row.major == pinned.major):
                    return False
            elif (pinned.major, pinned.minor) != (row.major, row.minor):
                return False
        elif item.operator == "!=":
            continue
        elif not (item.contains(version) or item.contains(f"{row.major}.{row.minor}.999")):
            return False
    return True


def choose_tensorflow(
    tables: Tables,
    host: HostCuda,
    *,
    spec: str | None = None,
    os: str = "linux",
    python: str | None = None,
    newest_allowed: str | None = None,
    driver_os: str | None = None,
) -> TfChoice | None:
    """The newest TensorFlow matching ``spec`` whose tested CUDA this driver runs.

    Native Windows uses its own table (GPU builds end at 2.10); ``driver_os`` says whose
    driver thresholds apply (Windows ones under WSL2), ``os`` by default. ``newest_allowed``
    caps the release (a conda channel whose GPU builds stop there). None: nothing matches.
    """
    table = "windows" if os == "windows" else "linux"
    os = driver_os or os
    builds = [
        b
        for b in tables.tensorflow
        if b.os == table
        and tf_series_match(spec, b.version)
        and (newest_allowed is None or _v(b.version) <= _v(newest_allowed))
    ]
    builds.sort(key=lambda b: _v(b.version), reverse=True)
    if python:
        # releases built for this Python first; when the driver runs none of them, an older
        # one (the caller says the Python does not fit) beats a CPU build
        fitting = [b for b in builds if py_in(python, b.python)]
        if not host.has_driver or any(supports(tables, host, b.cuda, os) for b in fitting):
            builds = fitting or builds
    if not builds:
        return None
    newest = builds[0]
    if not host.has_driver:
        return TfChoice(
            newest.version,
            newest.cuda,
            newest.cudnn,
            False,
            f"tensorflow {newest.version} runs on the CPU: {host.describe()}",
            newest.python,
        )
    for build in builds:
        if supports(tables, host, build.cuda, os):
            floor = driver_floor(tables, build.cuda, os)
            notes = []
            if build is not newest:
                notes.append(
                    f"a driver >= {driver_floor(tables, newest.cuda, os)} would run tensorflow "
                    f"{newest.version} (CUDA {newest.cuda})"
                )
            return TfChoice(
                build.version,
                build.cuda,
                build.cudnn,
                True,
                f"tensorflow {build.version} was tested with CUDA {build.cuda} and "
                f"cuDNN {build.cudnn} (driver >= {floor}): {host.describe()} runs it",
                build.python,
                tuple(notes),
            )
    return TfChoice(
        newest.version,
        newest.cuda,
        newest.cudnn,
        False,
        f"no TensorFlow GPU build in the range runs on {host.describe()}: tensorflow "
        f"{newest.version} needs CUDA {newest.cuda} (driver >= "
        f"{driver_floor(tables, newest.cuda, os)})",
        newest.python,
    )


def py_in(python: str, span: str) -> bool:
    """``"3.11"`` in a tested range such as ``"3.9-3.12"``."""
    low, _, high = span.partition("-")
    return _v(low) <= _v(python) <= _v(high or low)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."
