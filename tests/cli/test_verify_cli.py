"""`minstall verify` against a stand-in `torch` package on a test path.

A real CUDA torch cannot run here (no GPU); the stand-in mimics the handful of torch calls the
check makes, with what real torch returned on a GPU host (tests/data/recorded/gpu-h200:
torch 2.11.0+cu130, NVIDIA H200, capability 9.0) or on a CPU build.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from .test_cli import minstall

STANDIN_TORCH = """
__version__ = "{version}"
class version:
    cuda = {cuda!r}
class _T:
    def __matmul__(self, other): return _T()
    def sum(self): return _T()
    def item(self): return 262144.0
def ones(*shape, device=None):
    if device == "cuda" and not cuda.is_available():
        raise RuntimeError("Found no NVIDIA driver on your system.")
    return _T()
class cuda:
    @staticmethod
    def is_available(): return {available}
    @staticmethod
    def get_device_name(i): return "NVIDIA H200"
    @staticmethod
    def get_device_capability(i): return (9, 0)
"""


def fake_torch(tmp_path: Path, version: str, cuda: str | None, available: bool) -> Path:
    pkg = tmp_path / "site" / "torch"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        STANDIN_TORCH.format(version=version, cuda=cuda, available=available)
    )
    return pkg.parent


@pytest.mark.parametrize(
    ("version", "cuda", "available", "driver", "code", "text"),
    [
        (
            "2.11.0+cu130",
            "13.0",
            True,
            "580.159.04",
            0,
            "OK: torch 2.11.0+cu130 uses NVIDIA H200 (CUDA 13.0); a small GPU operation ran",
        ),
        ("2.5.1+cpu", None, False, "535.104.05", 1, "FAILED: torch 2.5.1+cpu is a CPU build"),
        (
            "2.5.1+cu124",
            "12.4",
            False,
            "470.82.01",
            1,
            "likely cause: torch was built for CUDA 12.4; the driver is 470.82.01",
        ),
    ],
    ids=["gpu-works", "cpu-build", "driver-too-old"],
)
def test_verdicts(tmp_path, version, cuda, available, driver, code, text) -> None:
    site = fake_torch(tmp_path, version, cuda, available)
    proc = minstall(
        "verify",
        "--python",
        sys.executable,
        env={"PYTHONPATH": str(site), "MINSTALL_CUDA_DRIVER": driver},
    )
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert text in proc.stdout


def test_json_and_missing_torch(tmp_path) -> None:
    proc = minstall(
        "verify", "--json", "--python", sys.executable, env={"PYTHONPATH": str(tmp_path)}
    )
    data = json.loads(proc.stdout)
    assert proc.returncode == 1 and data["ok"] is False
    assert "No module named 'torch'" in data["cause"]
    assert minstall("verify", "-n", "no-such-env").returncode == 64


# Stand-ins for the other frameworks and builds, mimicking the calls the check makes with the
# values their documentation gives: torch.version.hip on ROCm builds, where torch.cuda answers
# for the AMD GPU (https://pytorch.org/docs/stable/notes/hip.html); torch.xpu
# (https://docs.pytorch.org/docs/stable/notes/get_start_xpu.html); jax.devices()
# (https://docs.jax.dev/en/latest/installation.html); onnxruntime.get_available_providers()
# (https://onnxruntime.ai/docs/api/python/api_summary.html).
ARRAY = """
class _A:
    def __matmul__(self, other): return _A()
    def sum(self): return _A()
    def item(self): return 262144.0
    def __float__(self): return 262144.0
"""

ROCM_TORCH = (
    ARRAY
    + """
__version__ = "2.5.1+rocm6.2"
class version:
    cuda = None
    hip = "6.2.41133-dd7f95766"
def ones(*shape, device=None): return _A()
class cuda:
    @staticmethod
    def is_available(): return True
    @staticmethod
    def get_device_name(i): return "AMD Radeon RX 7900 XTX"
    @staticmethod
    def get_device_capability(i): return (11, 0)
"""
)

XPU_TORCH = (
    ARRAY
    + """
__version__ = "2.5.1+xpu"
class version:
    cuda = None
    xpu = "20240900"
def ones(*shape, device=None): return _A()
class cuda:
    @staticmethod
    def is_available(): return False
class xpu:
    @staticmethod
    def is_available(): return True
    @staticmethod
    def get_device_name(i): return "Intel(R) Arc(TM) A770 Graphics"
"""
)

JAX = (
    ARRAY
    + """
__version__ = "0.6.1"
class _D:
    def __init__(self, platform, kind): self.platform, self.device_kind = platform, kind
def devices(): return {devices}
def device_put(x, d): return x
"""
)

ORT = """
__version__ = "1.20.1"
def get_available_providers(): return {providers}
"""


def _site(tmp_path: Path, modules: dict[str, str]) -> Path:
    site = tmp_path / "site"
    for name, text in modules.items():
        pkg = site / name
        pkg.mkdir(parents=True)
        (pkg / "__init__.py").write_text(text)
    return site


@pytest.mark.parametrize(
    ("framework", "modules", "code", "text"),
    [
        (
            "torch",
            {"torch": ROCM_TORCH},
            0,
            "OK: torch 2.5.1+rocm6.2 uses AMD Radeon RX 7900 XTX (ROCm 6.2.41133-dd7f95766)",
        ),
        (
            "torch",
            {"torch": XPU_TORCH},
            0,
            "OK: torch 2.5.1+xpu uses Intel(R) Arc(TM) A770 Graphics (Intel XPU)",
        ),
        (
            "jax",
            {
                "jax": JAX.format(devices='[_D("gpu", "NVIDIA H200")]'),
                "jax/numpy": "from jax import _A\ndef ones(shape): return _A()\n",
                "jax_cuda12_plugin": "",
            },
            0,
            "OK: jax 0.6.1 uses NVIDIA H200 (CUDA 12)",
        ),
        (
            "jax",
            {
                "jax": JAX.format(devices='[_D("cpu", "cpu")]'),
                "jax/numpy": "from jax import _A\ndef ones(shape): return _A()\n",
            },
            1,
            "FAILED: jax 0.6.1 is a CPU build\nlikely cause: the CPU build is installed\nnext: "
            'Install the CUDA build: minstall pip install "jax[cuda12]"',
        ),
        (
            "onnxruntime",
            {
                "onnxruntime": ORT.format(
                    providers='["AzureExecutionProvider", "CPUExecutionProvider"]'
                )
            },
            1,
            "next: pip uninstall -y onnxruntime onnxruntime-gpu",
        ),
        (
            "onnxruntime",
            {
                "onnxruntime": ORT.format(
                    providers='["CUDAExecutionProvider", "CPUExecutionProvider"]'
                )
            },
            0,
            "OK: onnxruntime 1.20.1 lists CUDAExecutionProvider",
        ),
    ],
    ids=["rocm", "xpu", "jax-gpu", "jax-cpu", "ort-cpu", "ort-cuda"],
)
def test_other_builds_and_frameworks(tmp_path, framework, modules, code, text) -> None:
    site = _site(tmp_path, modules)
    proc = minstall(
        "verify",
        framework,
        "--python",
        sys.executable,
        env={"PYTHONPATH": str(site), "MINSTALL_CUDA_DRIVER": "550.54.14"},
    )
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert text in proc.stdout, proc.stdout
