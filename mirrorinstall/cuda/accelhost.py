"""What AMD, Intel, Ascend or Apple accelerator this machine has.  [edge: host: files, child
processes]

Each platform's own tools and files, first answer wins per kind:

- ``MINSTALL_ACCELERATOR`` plans for another machine: ``none``, ``amd:gfx1100[,gfx942]``,
  ``intel[:12.55.8]`` (the GPU's IP version), ``ascend:8.1.RC1`` (the CANN version),
  ``apple[:14.5]`` (macOS version);
- AMD: ``rocm_agent_enumerator`` (one gfx target per GPU; older ROCm print ``gfx000`` for the
  CPU), else the KFD topology (``/sys/class/kfd/kfd/topology/nodes/*/properties``,
  ``gfx_target_version``; CPU nodes have ``simd_count 0``), else ``rocminfo``; names from
  ``rocminfo``'s ``Marketing Name`` where it runs;
- Intel: ``xpu-smi discovery`` (``Device Name:``), else ``sycl-ls`` (Level Zero GPUs, with the
  IP version newer oneAPI prints, which tells an Arc from older integrated graphics). A bare
  PCI scan is not used: every Intel CPU's integrated graphics would count, and most of them
  have no XPU build;
- Ascend: ``npu-smi info`` (the chip names), the CANN version from
  ``ascend_toolkit_install.info`` (``version=``) or the older ``version.cfg``;
- Apple: the platform itself (``Darwin``, ``arm64``), and the macOS version.

"Nothing found" and "a tool answered with something broken" stay apart (``error``).
"""

from __future__ import annotations

import platform as _platform
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from mirrorinstall.core import capped
from mirrorinstall.core.errors import ConfigError
from mirrorinstall.cuda.accel import GFX_RE, Accelerators, Device, parse_gfx_target_version

Runner = Callable[..., subprocess.CompletedProcess]
KFD_NODES = Path("/sys/class/kfd/kfd/topology/nodes")
CANN_INFO = (
    "/usr/local/Ascend/ascend-toolkit/latest/{arch}-linux/ascend_toolkit_install.info",
    "/usr/local/Ascend/cann/{arch}-linux/ascend_toolkit_install.info",
)
CANN_VERSION_CFG = "/usr/local/Ascend/ascend-toolkit/latest/version.cfg"
_INTEL_IP = re.compile(r"^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$")
_CANN = re.compile(r"^[0-9]{1,2}\.[0-9]{1,2}(\.(RC[0-9]{1,2}|[0-9]{1,3}))?(\.[A-Za-z0-9]{1,16})?$")


def detect_accelerators(
    environ: Mapping[str, str],
    *,
    run: Runner = capped.run,
    which: Callable[[str], str | None] = shutil.which,
    root: Path = Path("/"),
    system: str | None = None,
    machine: str | None = None,
    macos: str | None = None,
    timeout_s: float = 10.0,
) -> Accelerators:
    """The accelerators found (see the module docstring for the order)."""
    system = system or _platform.system()
    machine = (machine or _platform.machine()).lower()
    override = environ.get("MINSTALL_ACCELERATOR")
    if override is not None:
        return _from_setting(override, machine)
    if system == "Darwin":
        version = macos if macos is not None else _platform.mac_ver()[0]
        if machine == "arm64":
            return Accelerators(
                (Device("apple", "Apple silicon"),), None, version, machine, "platform"
            )
        return Accelerators((), None, version, machine, "platform (Intel Mac)")

    def call(*argv: str) -> str | None:
        exe = which(argv[0])
        if exe is None:
            return None
        try:
            proc = run([exe, *argv[1:]], capture_output=True, text=True, timeout=timeout_s)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return proc.stdout if proc.returncode == 0 else None

    devices: list[Device] = []
    how: list[str] = []
    amd = _amd(call, root)
    if amd:
        devices += amd[0]
        how.append(amd[1])
    smi = call("xpu-smi", "discovery")
    names = re.findall(r"Device Name:\s*(.+?)\s*\|?\s*$", smi or "", re.M)
    if names:
        devices += [Device("intel", n.strip()) for n in names]
        how.append("xpu-smi")
    else:
        gpus = parse_sycl_ls(call("sycl-ls") or "")
        if gpus:
            devices += gpus
            how.append("sycl-ls")
    npu = call("npu-smi", "info")
    cann = None
    if npu:
        chips = re.findall(
            r"^\|\s*\d+\s+([A-Za-z0-9]+)\s+\|\s*(?:OK|Warning|Alarm|Critical)", npu, re.M
        )
        if chips:
            devices += [Device("ascend", f"Ascend {c}") for c in chips]
            how.append("npu-smi")
            cann = read_cann(root, machine)
    return Accelerators(tuple(devices), cann, None, machine, ", ".join(how) or "none found")


# oneAPI before 2025 names the platform "Intel(R) Level-Zero", later ones "Intel(R) oneAPI
# Unified Runtime over Level-Zero" (intel/llvm's sycl-ls-unified-runtime test); the number after
# the device's name is the Level Zero API version ("1.3") in the first, the GPU's IP version
# ("12.55.8") in the second.
_SYCL_GPU = re.compile(
    r"level_zero:gpu\S*\s+Intel\(R\) (?:oneAPI Unified Runtime over )?Level-Zero, "
    r"(.+?) ([0-9]{1,3}(?:\.[0-9]{1,3}){1,2}) \["
)


def parse_sycl_ls(text: str) -> list[Device]:
    """The Level Zero GPUs ``sycl-ls`` lists, each with its IP version where it prints one."""
    found: dict[tuple[str, str | None], None] = {}
    for name, version in _SYCL_GPU.findall(text):
        parts = version.split(".")
        ip = version if len(parts) == 3 and int(parts[0]) >= 8 else None
        found[(name.strip(), ip)] = None
    return [Device("intel", name, ip) for name, ip in found]


def _amd(call: Callable[..., str | None], root: Path) -> tuple[list[Device], str] | None:
    info = call("rocminfo") or ""
    names = _rocminfo_names(info)
    enumerated = call("rocm_agent_enumerator")
    archs = [a for a in (enumerated or "").split() if GFX_RE.match(a) and a != "gfx000"]
    how = "rocm_agent_enumerator"
    if not archs:
        archs = _kfd_archs(root / KFD_NODES.relative_to("/"))
        how = "KFD topology"
    if not archs:
        archs = [a for a, _ in names]
        how = "rocminfo"
    if not archs:
        return None
    by_arch = dict(names)
    return [Device("amd", by_arch.get(a, f"AMD GPU ({a})"), a) for a in archs], how


def _rocminfo_names(text: str) -> list[tuple[str, str]]:
    """(gfx target, marketing name) of each GPU agent ``rocminfo`` lists."""
    out = []
    for block in re.split(r"\*{5,}\s*\n\s*Agent \d+\s*\n\s*\*{5,}", text):
        if not re.search(r"Device Type:\s*GPU", block):
            continue
        arch = re.search(r"^\s*Name:\s*(gfx[0-9a-f]{3,4})\s*$", block, re.M)
        market = re.search(r"^\s*Marketing Name:\s*(.+?)\s*$", block, re.M)
        if arch:
            out.append((arch.group(1), market.group(1) if market else f"AMD GPU ({arch.group(1)})"))
    return out


def _kfd_archs(nodes: Path) -> list[str]:
    out = []
    try:
        entries = sorted(nodes.iterdir())
    except OSError:
        return []
    for node in entries:
        try:
            text = (node / "properties").read_text(errors="replace")[:65536]
        except OSError:
            continue
        props = dict(
            line.split(None, 1) for line in text.splitlines() if len(line.split(None, 1)) == 2
        )
        if props.get("simd_count", "0").strip() == "0":
            continue  # a CPU node
        arch = parse_gfx_target_version(props.get("gfx_target_version", ""))
        if arch:
            out.append(arch)
    return out


def read_cann(root: Path, machine: str) -> str | None:
    """The CANN toolkit version from its install info file (``version=8.1.RC1.alpha001`` ->
    ``8.1.RC1``), else from ``version.cfg`` (``..._running_version=[inner:6.0.1]``)."""
    arch = "aarch64" if machine in ("aarch64", "arm64") else "x86_64"
    for template in CANN_INFO:
        path = root / template.format(arch=arch).lstrip("/")
        try:
            text = path.read_text(errors="replace")[:65536]
        except OSError:
            continue
        found = re.search(r"^version=(\S+)\s*$", text, re.M)
        if found and _CANN.match(found.group(1)):
            return _cann_release(found.group(1))
    try:
        text = (root / CANN_VERSION_CFG.lstrip("/")).read_text(errors="replace")[:65536]
    except OSError:
        return None
    found = re.search(r"running_version=\[[^:\]]*:([0-9A-Za-z.]+)\]", text)
    return _cann_release(found.group(1)) if found and _CANN.match(found.group(1)) else None


def _cann_release(version: str) -> str:
    """``8.1.RC1.alpha001`` -> ``8.1.RC1``; ``8.0.0`` stays."""
    parts = version.split(".")
    return ".".join(parts[:3])


def _from_setting(value: str, machine: str) -> Accelerators:
    text = value.strip()
    kind, _, rest = text.partition(":")
    how = f"MINSTALL_ACCELERATOR={text}"
    if kind == "none" and not rest:
        return Accelerators((), None, None, machine, how)
    if kind == "amd":
        archs = [a.strip() for a in rest.split(",") if a.strip()]
        if archs and all(GFX_RE.match(a) for a in archs):
            return Accelerators(
                tuple(Device("amd", "AMD GPU", a) for a in archs), None, None, machine, how
            )
    if kind == "intel" and (not rest or _INTEL_IP.match(rest)):
        return Accelerators((Device("intel", "Intel GPU", rest or None),), None, None, machine, how)
    if kind == "ascend" and _CANN.match(rest):
        return Accelerators((Device("ascend", "Ascend NPU"),), rest, None, machine, how)
    if kind == "apple" and (not rest or re.fullmatch(r"\d{1,2}(\.\d{1,2}){0,2}", rest)):
        return Accelerators((Device("apple", "Apple silicon"),), None, rest or None, "arm64", how)
    raise ConfigError(
        f"MINSTALL_ACCELERATOR={value!r} is not an accelerator minstall knows",
        "Use none, amd:gfx1100 (the gfx target; several with commas), intel[:12.55.8] (the "
        "GPU's IP version, as sycl-ls prints it), "
        "ascend:8.1.RC1 (the CANN version) or apple[:14.5] (the macOS version).",
    )
