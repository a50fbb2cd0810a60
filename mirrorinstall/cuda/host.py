"""What NVIDIA driver and GPUs this machine has.  [edge: host: files, child processes]

Order (the first source that answers gives the driver; GPUs come from the first that lists them):

1. ``MINSTALL_CUDA_DRIVER`` (a driver version such as 535 or 535.104.05: plan for that
   driver; anything else is a ConfigError, not a plan for no driver);
2. ``CONDA_OVERRIDE_CUDA`` as conda defines it: a CUDA version the driver supports, an empty
   or blank value meaning "no CUDA";
3. ``/sys/module/nvidia/version``, then ``/proc/driver/nvidia/version`` (Linux);
4. NVML, only if nvidia-ml-py is installed;
5. libcuda's ``cuDriverGetVersion`` through ctypes, in a child process with a timeout (as conda
   does, since a broken driver can hang or crash the caller);
6. ``nvidia-smi --query-gpu=driver_version,name,compute_cap --format=csv,noheader`` (one line per
   GPU; R470 does not know ``compute_cap``, so it is asked again without it), and the plain
   ``nvidia-smi`` header (``Driver Version``/``CUDA Version``, or R610's ``KMD Version``/``CUDA UMD
   Version``). On Windows nvidia-smi is also looked for in System32 and NVSMI.

``MINSTALL_CUDA_ARCH`` (compute capabilities such as ``6.1,8.6``) replaces the GPUs found, to
plan for GPUs that are not in this machine. Under WSL2 nvidia-smi reports the *Windows* driver,
so ``detect_cuda`` says so (``windows_driver``) and Windows thresholds apply.

"No driver" (nothing found anywhere) and "detection failed: <why>" (a tool answered with
something broken) are different answers.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from mirrorinstall.core import capped
from mirrorinstall.core.errors import ConfigError
from mirrorinstall.cuda.choose import Gpu, HostCuda

# re.ASCII: \d alone also matches other scripts' digits (a value in Arabic-Indic digits
# passed the check, then int() and packaging's Version refused it)
_DRIVER_SETTING = re.compile(r"\d{3}(?:\.\d{1,3}){0,2}", re.ASCII)  # 535, 535.104, 535.104.05
DRIVER_RE = re.compile(r"\b(\d{3}\.\d{1,3}(?:\.\d{1,3})?)\b", re.ASCII)
_HEADER_DRIVER = re.compile(r"(?:Driver|KMD) Version:\s*(\d+\.\d+(?:\.\d+)?)", re.ASCII)
_HEADER_CUDA = re.compile(r"CUDA(?: UMD)? Version:\s*(\d+)\.(\d+)", re.ASCII)
_TABLE_GPU = re.compile(r"^\|\s+\d+\s+(.+?)\s{2,}(?:On|Off)\s+\|", re.M | re.ASCII)
CUDA_VERSION_RE = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){0,2}")
COMPUTE_CAP_RE = re.compile(r"[0-9]{1,2}\.[0-9]{1,2}")
QUERY = "driver_version,name,compute_cap"
WINDOWS_SMI = (
    r"C:\Windows\System32\nvidia-smi.exe",
    r"C:\Program Files\NVIDIA Corporation\NVSMI\nvidia-smi.exe",
)

_LIBCUDA_PROBE = r"""
import ctypes, os, sys
os.environ.pop("CUDA_VISIBLE_DEVICES", None)
names = (["nvcuda.dll"] if sys.platform == "win32" else
         ["libcuda.so.1", "libcuda.so", "/usr/lib/wsl/lib/libcuda.so.1"])
for name in names:
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        continue
    if lib.cuInit(0) != 0:
        print("init-failed"); sys.exit(0)
    v = ctypes.c_int()
    lib.cuDriverGetVersion(ctypes.byref(v))
    print(v.value); sys.exit(0)
print("no-libcuda")
"""


@dataclass(frozen=True)
class Detected:
    host: HostCuda
    windows_driver: bool = False  # WSL2 or Windows: compare with Windows thresholds


Runner = Callable[..., subprocess.CompletedProcess]


def parse_gpu_arch(value: str) -> tuple[Gpu, ...]:
    """``"6.1,8.6"`` -> GPUs of those compute capabilities (MINSTALL_CUDA_ARCH)."""
    gpus = []
    for item in value.replace(" ", "").split(","):
        if item:
            if not COMPUTE_CAP_RE.fullmatch(item):
                raise ValueError(f"{item!r} is not a compute capability such as 8.6")
            gpus.append(Gpu(f"GPU sm {item} (MINSTALL_CUDA_ARCH)", item))
    return tuple(gpus)


def parse_smi_query(text: str) -> tuple[str | None, tuple[Gpu, ...]]:
    """Lines of ``driver, name[, cc]`` -> (driver of the first GPU, GPUs)."""
    driver, gpus = None, []
    for line in text.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < 2 or not DRIVER_RE.fullmatch(fields[0]):
            continue
        driver = driver or fields[0]
        cc = fields[2] if len(fields) > 2 and COMPUTE_CAP_RE.fullmatch(fields[2]) else None
        gpus.append(Gpu(fields[1], cc))
    return driver, tuple(gpus)


def parse_smi_header(text: str) -> tuple[str | None, str | None, tuple[Gpu, ...]]:
    """Plain ``nvidia-smi`` output -> (driver, CUDA version, GPU names)."""
    driver = _HEADER_DRIVER.search(text)
    cuda = _HEADER_CUDA.search(text)
    names = tuple(Gpu(m.group(1).strip()) for m in _TABLE_GPU.finditer(text))
    return (
        driver.group(1) if driver else None,
        f"{cuda.group(1)}.{cuda.group(2)}" if cuda else None,
        names,
    )


def parse_proc_version(text: str) -> str | None:
    """``NVRM version: NVIDIA UNIX ... Kernel Module  550.144.03  Release Build ...``."""
    for field in re.split(r"\s{2,}", text):
        if DRIVER_RE.fullmatch(field.strip()):
            return field.strip()
    match = DRIVER_RE.search(text)
    return match.group(1) if match else None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def _find_smi(which: Callable[[str], str | None], platform: str) -> str | None:
    found = which("nvidia-smi")
    if found or not platform.startswith("win"):
        return found
    return next((p for p in WINDOWS_SMI if Path(p).is_file()), None)


def detect_cuda(
    environ: Mapping[str, str],
    *,
    root: Path = Path("/"),
    run: Runner = capped.run,
    which: Callable[[str], str | None] = shutil.which,
    platform: str = sys.platform,
    timeout_s: float = 10.0,
    use_nvml: bool = True,
    use_libcuda: bool = True,
) -> Detected:
    """Find the driver and GPUs (see the module docstring for the order)."""
    wsl = "microsoft" in (_read(root / "proc/version") or "").lower()
    windows_driver = platform.startswith("win") or wsl
    found = _detect(environ, root, run, which, platform, timeout_s, use_nvml, use_libcuda)
    arch = environ.get("MINSTALL_CUDA_ARCH")
    if arch:
        try:
            gpus = parse_gpu_arch(arch)
        except ValueError as exc:
            raise ConfigError(
                f"MINSTALL_CUDA_ARCH={arch!r}: {exc}",
                "Give compute capabilities separated by commas, e.g. 6.1,8.6.",
            ) from None
        found = replace(found, gpus=gpus, how=found.how + " + MINSTALL_CUDA_ARCH")
    return Detected(found, windows_driver)


def _detect(
    environ: Mapping[str, str],
    root: Path,
    run: Runner,
    which: Callable[[str], str | None],
    platform: str,
    timeout_s: float,
    use_nvml: bool,
    use_libcuda: bool,
) -> HostCuda:
    if environ.get("MINSTALL_CUDA_DRIVER"):
        value = environ["MINSTALL_CUDA_DRIVER"].strip()
        if not _DRIVER_SETTING.fullmatch(value):
            # a setting the user typed: planning for no driver instead would be a silent
            # CPU plan
            raise ConfigError(
                f"MINSTALL_CUDA_DRIVER={value!r} is not a driver version such as 535 or 535.104.05",
                "Set it to the driver version nvidia-smi shows on the machine you plan for, "
                "or unset it to detect this machine's.",
            )
        return HostCuda(driver=value, how="MINSTALL_CUDA_DRIVER")
    if "CONDA_OVERRIDE_CUDA" in environ:
        value = environ["CONDA_OVERRIDE_CUDA"].strip()
        if not value:
            return HostCuda(how="CONDA_OVERRIDE_CUDA is empty, which means no CUDA")
        if not CUDA_VERSION_RE.fullmatch(value):
            return HostCuda(
                how="CONDA_OVERRIDE_CUDA",
                error=f"CONDA_OVERRIDE_CUDA={value!r} is not a CUDA version such as 12.4 "
                "(conda reads it as the CUDA version the driver supports)",
            )
        return HostCuda(cuda=value, how="CONDA_OVERRIDE_CUDA")
    driver, how = None, ""
    for path in ("sys/module/nvidia/version", "proc/driver/nvidia/version"):
        text = _read(root / path)
        if text:
            driver = parse_proc_version(text)
            if driver:
                how = "/" + path
                break
    gpus: tuple[Gpu, ...] = ()
    cuda = None
    if use_nvml:
        nvml = _from_nvml()
        if nvml is not None:
            driver = driver or nvml[0]
            gpus, cuda = nvml[1], nvml[2]
            how = how or "NVML"
    smi = _find_smi(which, platform)
    errors = []
    if smi and not gpus:
        smi_driver, smi_gpus, smi_cuda, error = _from_smi(smi, run, timeout_s)
        if error == "no-driver" and not driver:
            return HostCuda(how=f"nvidia-smi: {smi_cuda}")  # the message says why
        if error:
            errors.append(error)
        else:
            driver = driver or smi_driver
            cuda = cuda or smi_cuda
            gpus = smi_gpus
            how = how or "nvidia-smi"
    if not driver and use_libcuda and (smi or root.joinpath("proc/driver/nvidia").exists()):
        cuda_v, error = _from_libcuda(run, timeout_s)
        if cuda_v:
            cuda, how = cuda_v, "libcuda cuDriverGetVersion"
        elif error:
            errors.append(error)
    if driver or cuda:
        return HostCuda(driver=driver, cuda=cuda, gpus=gpus, how=how)
    if errors:
        return HostCuda(how="nvidia-smi", error="; ".join(errors))
    return HostCuda(how="no nvidia-smi, no /proc/driver/nvidia, no NVML")


def _from_nvml() -> tuple[str, tuple[Gpu, ...], str | None] | None:
    try:
        import pynvml  # nvidia-ml-py, optional
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        driver = pynvml.nvmlSystemGetDriverVersion()
        driver = driver.decode() if isinstance(driver, bytes) else driver
        gpus = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(handle)
            major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
            gpus.append(Gpu(name.decode() if isinstance(name, bytes) else name, f"{major}.{minor}"))
        version = pynvml.nvmlSystemGetCudaDriverVersion()  # 13000 -> "13.0"
        cuda = f"{version // 1000}.{(version % 1000) // 10}" if version else None
        return driver, tuple(gpus), cuda
    except Exception:  # NVML errors are many; nvidia-smi is asked next
        return None


def _from_smi(
    smi: str, run: Runner, timeout_s: float
) -> tuple[str | None, tuple[Gpu, ...], str | None, str | None]:
    """(driver, GPUs, CUDA version, error); error "no-driver" puts the reason in the CUDA slot."""

    def call(*args: str) -> subprocess.CompletedProcess | str:
        try:
            return run([smi, *args], capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return f"nvidia-smi did not answer within {timeout_s:g} s"
        except OSError as exc:
            return f"nvidia-smi could not run: {exc}"

    for query in (QUERY, "driver_version,name"):
        proc = call(f"--query-gpu={query}", "--format=csv,noheader")
        if isinstance(proc, str):
            return None, (), None, proc
        out = (proc.stdout or "") + (proc.stderr or "")
        if "couldn't communicate with the NVIDIA driver" in out or "No devices were found" in out:
            return None, (), out.strip().splitlines()[0], "no-driver"
        if proc.returncode == 0:
            driver, gpus = parse_smi_query(proc.stdout)
            if driver:
                header = call()
                cuda = None
                if not isinstance(header, str) and header.returncode == 0:
                    cuda = parse_smi_header(header.stdout)[1]
                return driver, gpus, cuda, None
        if "is not a valid field" not in out:
            break
    plain = call()
    if isinstance(plain, str):
        return None, (), None, plain
    out = (plain.stdout or "") + (plain.stderr or "")
    if "couldn't communicate with the NVIDIA driver" in out:
        return None, (), out.strip().splitlines()[0], "no-driver"
    driver, cuda, gpus = parse_smi_header(plain.stdout or "")
    if driver:
        return driver, gpus, cuda, None
    first = out.strip().splitlines()[0] if out.strip() else f"exit code {plain.returncode}"
    return None, (), None, f"nvidia-smi gave no driver version ({first})"


def _from_libcuda(run: Runner, timeout_s: float) -> tuple[str | None, str | None]:
    try:
        proc = run(
            [sys.executable, "-c", _LIBCUDA_PROBE],
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        return None, f"libcuda did not answer within {timeout_s:g} s"
    except OSError as exc:
        return None, f"libcuda could not be asked: {exc}"
    value = (proc.stdout or "").strip()
    if value.isdigit() and int(value) > 0:
        v = int(value)
        return f"{v // 1000}.{(v % 1000) // 10}", None
    if value == "no-libcuda":
        return None, None
    return None, f"libcuda: {value or proc.stderr.strip()[:200] or 'no answer'}"
