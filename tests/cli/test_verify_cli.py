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
