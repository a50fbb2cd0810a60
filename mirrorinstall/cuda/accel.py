"""PyTorch builds for accelerators other than NVIDIA's: AMD (ROCm), Intel (XPU), Huawei Ascend
(torch-npu with CANN) and Apple. Pure.

The facts are ``data/accelerators.toml`` (a source beside every row); the machine's devices
come from ``cuda.accelhost`` as an :class:`Accelerators` value. :func:`choose_accel` answers
what ``--cuda auto`` installs for them: the PyTorch index variant (``rocm6.2``, ``xpu``,
``cpu``), or PyPI's plain wheels (Apple, Ascend on aarch64), any companion package
(``torch-npu==...``), and why; or a CPU build with the reason when no build runs here.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from packaging.version import InvalidVersion, Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KINDS = ("amd", "intel", "ascend", "apple")
GFX_RE = re.compile(r"^gfx[0-9a-f]{3,4}$")


@dataclass(frozen=True)
class Device:
    kind: str  # one of KINDS
    name: str
    arch: str | None = None  # AMD: the gfx target ("gfx1100"); Intel: the IP version ("12.55.8")


@dataclass(frozen=True)
class Accelerators:
    """What accelerators (other than NVIDIA's) this machine has, and how that was found."""

    devices: tuple[Device, ...] = ()
    cann: str | None = None  # Ascend: the CANN toolkit version ("8.1.RC1")
    macos: str | None = None  # Apple: the macOS version ("14.5")
    machine: str = ""  # "x86_64", "aarch64", "arm64"
    how: str = "not looked for"
    error: str | None = None  # a tool answered with something broken (not: nothing found)

    def of(self, kind: str) -> tuple[Device, ...]:
        return tuple(d for d in self.devices if d.kind == kind)

    def describe(self) -> str:
        if self.error:
            return f"accelerator detection failed: {self.error}"
        if not self.devices:
            return f"no AMD, Intel, Ascend or Apple accelerator found ({self.how})"
        names = ", ".join(d.name + (f" ({d.arch})" if d.arch else "") for d in self.devices)
        extra = f"; CANN {self.cann}" if self.cann else ""
        return f"{names}{extra} [{self.how}]"


@dataclass(frozen=True)
class RocmRow:
    series: str
    variants: tuple[str, ...]  # newest first
    archs: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class NpuRow:
    torch_npu: str
    torch: str
    cann: str


@dataclass(frozen=True)
class AccelTables:
    rocm: tuple[RocmRow, ...]
    gfx_override: dict[str, str]  # gfx target -> HSA_OVERRIDE_GFX_VERSION value
    xpu_since: str
    xpu_os: tuple[str, ...]
    xpu_oldest_ip: str  # Intel Arc (Alchemist): older GPUs are not supported by torch's XPU build
    xpu_older_names: tuple[str, ...]  # names of those older GPUs, when no IP version is known
    npu: tuple[NpuRow, ...]
    npu_source: str
    apple_last_x86_64: str
    apple_macos14_since: str
    apple_mps_macos14_since: str
    # the sources of the rows above that are not tables of rows
    xpu_source: str = ""
    apple_last_x86_64_source: str = ""
    apple_macos14_since_source: str = ""

    def rocm_row(self, version: str) -> RocmRow | None:
        series = ".".join(version.split(".")[:2])
        return next((r for r in self.rocm if r.series == series), None)


def planned_mac(platform: str) -> Accelerators:
    """A Mac planned for from elsewhere (``--platform osx-arm64``): its processor is in the
    platform's name, its macOS version is not known."""
    if platform == "osx-arm64":
        return Accelerators((Device("apple", "Apple silicon"),), machine="arm64", how=platform)
    return Accelerators((), machine="x86_64", how=f"{platform} (Intel Mac)")


def parse_accel(text: str) -> AccelTables:
    data = tomllib.loads(text)
    overrides = {a: row["value"] for row in data.get("gfx_override", []) for a in row["arch"]}
    return AccelTables(
        rocm=tuple(
            RocmRow(r["series"], tuple(r["variants"]), tuple(r["archs"]), r["source"])
            for r in data["rocm"]
        ),
        gfx_override=overrides,
        xpu_since=data["xpu"]["since"],
        xpu_os=tuple(data["xpu"]["os"]),
        xpu_oldest_ip=data["xpu"]["oldest_ip"],
        xpu_older_names=tuple(data["xpu"]["older_names"]),
        npu=tuple(NpuRow(*row) for row in data["npu"]["rows"]),
        npu_source=data["npu"]["source"],
        apple_last_x86_64=data["apple"]["last_x86_64"],
        apple_macos14_since=data["apple"]["macos14_since"],
        apple_mps_macos14_since=data["apple"]["mps_macos14_since"],
        xpu_source=data["xpu"]["source"],
        apple_last_x86_64_source=data["apple"]["last_x86_64_source"],
        apple_macos14_since_source=data["apple"]["macos14_since_source"],
    )


@dataclass(frozen=True)
class AccelChoice:
    """What to install for the accelerator: ``variant`` is the PyTorch index variant
    (``rocm6.2``, ``xpu``, ``cpu``) or ``pypi`` (PyPI's own wheels: Apple, Ascend on
    aarch64); ``release`` the torch version; ``extras`` companion requirements."""

    kind: str  # "rocm", "xpu", "npu", "mps", "cpu"
    variant: str
    release: str
    reason: str
    extras: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


class AccelMismatch(Exception):
    """No release the command allows has a build for this accelerator."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def _v(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _series_at_least(version: str, floor: str) -> bool:
    have, need = _v(version), _v(floor)
    return have is not None and need is not None and have.release[:2] >= need.release[:2]


def same_cann(installed: str, row: str) -> bool:
    """Whether an installed CANN (``8.1.RC1.alpha001``, ``8.0.0``) is the table's ``row``."""
    a, b = installed.strip().upper(), row.strip().upper()
    return a == b or a.startswith(b + ".")


Unavailable = Callable[[str, str], "str | None"]


def choose_accel(
    tables: AccelTables,
    acc: Accelerators,
    releases: Sequence[str],
    os: str,
    *,
    pinned: bool,
    unavailable: Unavailable | None = None,
) -> AccelChoice | None:
    """The build for this machine's accelerator among ``releases`` (torch versions the command
    allows, newest first), or None when it has none of the kinds here. ``pinned``: the command
    named versions, so finding none that runs is an :class:`AccelMismatch` (not a quiet
    CPU build). ``unavailable(release, variant)``: why the chosen mirror lacks that build
    (None: it has it), so the next one down is taken, as for CUDA builds."""
    if not releases:
        return None
    missing = unavailable or (lambda _r, _v: None)
    if os == "macos":
        return _apple(tables, acc, releases, pinned)
    if acc.of("amd"):
        return _amd(tables, acc, releases, os, pinned, missing)
    if acc.of("intel"):
        return _intel(tables, acc, releases, os, pinned, missing)
    if acc.of("ascend"):
        return _ascend(tables, acc, releases, pinned)
    return None


def _cpu(release: str, reason: str, notes: Sequence[str] = ()) -> AccelChoice:
    return AccelChoice("cpu", "cpu", release, f"CPU build: {reason}", notes=tuple(notes))


def _amd(
    tables: AccelTables,
    acc: Accelerators,
    releases: Sequence[str],
    os: str,
    pinned: bool,
    missing: Unavailable,
) -> AccelChoice:
    gpus = acc.of("amd")
    if os != "linux":
        return _cpu(releases[0], f"PyTorch's ROCm builds are Linux only ({os} here)")
    archs = sorted({d.arch for d in gpus if d.arch})
    if not archs:
        return _cpu(releases[0], f"the GPU's gfx target is unknown ({acc.describe()})")
    passed = []
    for version in releases:
        row = tables.rocm_row(version)
        if row is None:
            passed.append(f"torch {version}: no ROCm build in minstall's table")
            continue
        lacking = [a for a in archs if a not in row.archs]
        if lacking:
            passed.append(f"torch {version}: its ROCm builds have no code for {', '.join(lacking)}")
            continue
        variant = next((v for v in row.variants if missing(version, v) is None), None)
        if variant is None:
            passed.append(
                f"torch {version}: " + "; ".join(str(missing(version, v)) for v in row.variants)
            )
            continue
        names = ", ".join(f"{d.name} ({d.arch})" for d in gpus)
        return AccelChoice(
            "rocm",
            variant,
            version,
            f"{variant}: the newest ROCm build of torch {version} here, with code for {names}",
            notes=tuple(passed),
        )
    overrides = {tables.gfx_override[a] for a in archs if a in tables.gfx_override}
    notes = list(passed[:3])
    if overrides and len(overrides) == 1:
        notes.append(
            f"no wheel has code for {', '.join(archs)}; AMD's runtime can run the close "
            f"target's code with HSA_OVERRIDE_GFX_VERSION={overrides.pop()} (unsupported by AMD)"
        )
    if pinned:
        first = next((r.series for r in tables.rocm if all(a in r.archs for a in archs)), None)
        raise AccelMismatch(
            f"no ROCm build of the torch asked for has code for {', '.join(archs)}: "
            + "; ".join(passed[:3]),
            (
                f"ROCm builds for {', '.join(archs)} start with torch {first}: ask for "
                f"torch>={first}, or"
                if first
                else "Choose another torch release, or"
            )
            + " install the CPU build on purpose (--cuda cpu).",
        )
    return _cpu(releases[0], f"no ROCm build of torch has code for {', '.join(archs)}", notes)


def _intel(
    tables: AccelTables,
    acc: Accelerators,
    releases: Sequence[str],
    os: str,
    pinned: bool,
    missing: Unavailable,
) -> AccelChoice:
    if os not in tables.xpu_os:
        return _cpu(releases[0], f"PyTorch's XPU builds are for Linux and Windows ({os})")
    gpus = acc.of("intel")
    older = [d for d in gpus if older_than_arc(tables, d)]
    names = ", ".join(_intel_name(d) for d in gpus if d not in older)
    if not names:
        return _cpu(
            releases[0],
            f"{', '.join(_intel_name(d) for d in older)} is older than Intel Arc (Alchemist), "
            "the oldest GPU PyTorch's XPU build supports (torch warns that it is \"not "
            'officially supported" and may misbehave on it)',
            [
                "to install the XPU build anyway, name its index (--index-url "
                "https://download.pytorch.org/whl/xpu) and leave --cuda at keep"
            ],
        )
    notes = [
        f"torch.xpu also lists {_intel_name(d)}, which PyTorch's XPU build does not support "
        "(older than Intel Arc): use the other device (torch.xpu.get_device_name(i) names "
        "them), or hide it with ONEAPI_DEVICE_SELECTOR=level_zero:<index of the other>"
        for d in older
    ]
    for version in releases:
        if _series_at_least(version, tables.xpu_since) and missing(version, "xpu") is None:
            return AccelChoice(
                "xpu",
                "xpu",
                version,
                f"xpu: PyTorch's build for Intel GPUs ({names})",
                notes=tuple(notes),
            )
    if pinned:
        raise AccelMismatch(
            f"torch {releases[0]} has no build for Intel GPUs (XPU wheels exist from "
            f"{tables.xpu_since})",
            f"Ask for torch>={tables.xpu_since}, or --cuda cpu for the CPU build.",
        )
    return _cpu(releases[0], f"no XPU build before torch {tables.xpu_since}")


def older_than_arc(tables: AccelTables, device: Device) -> bool:
    """Whether an Intel GPU predates Arc (Alchemist), which torch's XPU build starts at: by its
    IP version where sycl-ls printed one, else by the names of the integrated graphics before
    it (an unknown name, "Intel(R) Graphics" on a Meteor Lake, is given the benefit)."""
    if device.arch:
        have = tuple(int(p) for p in device.arch.split("."))
        return have < tuple(int(p) for p in tables.xpu_oldest_ip.split("."))
    name = device.name.lower()
    return any(n.lower() in name for n in tables.xpu_older_names)


def _intel_name(device: Device) -> str:
    return device.name + (f" ({device.arch})" if device.arch else "")


def _ascend(
    tables: AccelTables, acc: Accelerators, releases: Sequence[str], pinned: bool
) -> AccelChoice:
    names = ", ".join(d.name for d in acc.of("ascend"))
    aarch64 = acc.machine in ("aarch64", "arm64")
    if not acc.cann:
        return _cpu(
            releases[0],
            f"{names} found but no CANN toolkit (torch-npu needs it)",
            ["install CANN (https://www.hiascend.com), then run the command again"],
        )
    for version in releases:
        row = next(
            (r for r in tables.npu if r.torch == version and same_cann(acc.cann, r.cann)), None
        )
        if row is not None:
            variant = "pypi" if aarch64 else "cpu"
            return AccelChoice(
                "npu",
                variant,
                version,
                f"torch {version} with torch-npu {row.torch_npu}, the pair Ascend lists for "
                f"CANN {row.cann} ({names})",
                extras=(f"torch-npu=={row.torch_npu}",),
            )
    paired = sorted({r.torch for r in tables.npu if same_cann(acc.cann, r.cann)}, key=_sort_key)
    if pinned or not paired:
        hint = (
            f"CANN {acc.cann} pairs with torch {', '.join(paired)} ({tables.npu_source})"
            if paired
            else f"minstall's table has no torch-npu for CANN {acc.cann}; see {tables.npu_source}"
        )
        raise AccelMismatch(
            f"no torch-npu pairs the torch asked for with CANN {acc.cann}", hint + "."
        )
    return _ascend(tables, acc, [paired[-1]], pinned=True)


def _apple(
    tables: AccelTables, acc: Accelerators, releases: Sequence[str], pinned: bool
) -> AccelChoice:
    intel_mac = acc.machine == "x86_64"
    ok = []
    for version in releases:
        v = _v(version)
        if v is None:
            continue
        if intel_mac and v > Version(tables.apple_last_x86_64):
            continue
        if (
            not intel_mac
            and acc.macos
            and _v(acc.macos) is not None
            and _v(acc.macos) < Version("14")  # type: ignore[operator]
            and _series_at_least(version, tables.apple_macos14_since)
        ):
            continue
        ok.append(version)
    if not ok:
        why = (
            f"no macOS x86_64 (Intel Mac) wheels after torch {tables.apple_last_x86_64}"
            if intel_mac
            else f"torch {tables.apple_macos14_since} and later need macOS 14 (this is "
            f"macOS {acc.macos})"
        )
        raise AccelMismatch(
            f"no torch the command allows installs here: {why}",
            f"Ask for torch<={tables.apple_last_x86_64}"
            if intel_mac
            else "Ask for an older torch, or update macOS.",
        )
    version = ok[0]
    notes = []
    if version != releases[0]:
        notes.append(f"torch {releases[0]} has no wheel for this Mac")
    if intel_mac:
        return AccelChoice(
            "cpu", "pypi", version, "PyPI's wheels (Intel Mac: CPU only)", notes=tuple(notes)
        )
    mps = "MPS" if not _mps_blocked(tables, version, acc.macos) else "CPU (MPS needs macOS 14)"
    return AccelChoice(
        "mps", "pypi", version, f"PyPI's wheels for Apple silicon ({mps})", notes=tuple(notes)
    )


def _mps_blocked(tables: AccelTables, version: str, macos: str | None) -> bool:
    have = _v(macos or "")
    return (
        have is not None
        and have < Version("14")
        and _series_at_least(version, tables.apple_mps_macos14_since)
    )


def _sort_key(version: str) -> tuple:
    v = _v(version)
    return (v is not None, v or Version("0"))


def parse_gfx_target_version(value: str) -> str | None:
    """KFD's ``gfx_target_version`` (decimal MMmmss) as a gfx name: ``110000`` -> ``gfx1100``,
    ``90010`` -> ``gfx90a``, ``90402`` -> ``gfx942``; None for 0 (a CPU node) or junk
    (https://github.com/ROCm/ROCR-Runtime/blob/c7785a6da1c10c25bc8d527c00b1fe79bfbd84c9/libhsakmt/include/hsakmt/hsakmt.h)."""
    if not value.strip().isdigit():
        return None
    v = int(value.strip())
    if v == 0:
        return None
    major, minor, step = v // 10000, (v // 100) % 100, v % 100
    if major > 63 or minor > 15 or step > 15:
        return None
    return f"gfx{major}{minor:x}{step:x}"
