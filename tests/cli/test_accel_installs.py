"""`--cuda auto` on machines with an AMD, Intel or Ascend accelerator (issue 23): the real pip
installs the chosen build from a farm mirror laid out like download.pytorch.org (rocm6.1,
rocm6.2 and xpu indexes beside the CUDA ones) and its PyPI (torch-npu).

No such device exists here: ``MINSTALL_ACCELERATOR`` plans for one, as MINSTALL_CUDA_DRIVER
does for NVIDIA (detection itself is tested on recorded outputs, tests/unit/test_accel.py).
Expected builds, by hand: the farm has torch 2.4.1 and 2.5.1; PyTorch's previous-versions page
lists rocm6.1/rocm6.2 for 2.5.1 (gfx1100 in its wheels: uv#14086), XPU wheels from 2.5
(get_start_xpu), and Ascend's table pairs torch 2.5.1 with torch-npu 2.5.1 for CANN 8.1.RC1."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from farm import MirrorSpec

from .test_cli import farm_env, minstall, pip_target


def _installed(python: str) -> dict[str, str]:
    out = subprocess.run(
        [python, "-c", "import importlib.metadata as m, json; "
         "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


@pytest.mark.parametrize(
    ("accelerator", "want"),
    [
        ("amd:gfx1100", {"torch": "2.5.1+rocm6.2", "torchvision": "0.20.1+rocm6.2"}),
        ("intel", {"torch": "2.5.1+xpu", "torchvision": "0.20.1+xpu"}),
        ("ascend:8.1.RC1", {"torch": "2.5.1+cpu", "torch-npu": "2.5.1"}),
    ],
    ids=["rocm", "xpu", "ascend"],
)
def test_the_accelerator_build_is_installed_from_the_mirror(
    make_farm, tmp_path: Path, accelerator: str, want: dict[str, str]
) -> None:
    farm = make_farm(MirrorSpec("a"))
    python, pip_env = pip_target(tmp_path)
    env = farm_env(farm, tmp_path, **pip_env, MINSTALL_ACCELERATOR=accelerator)
    extra = ["torchvision"] if "torchvision" in want else []
    args = ["pip", "--cuda", "auto", "--python", python, "install", "torch", *extra]
    proc = minstall(*args, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = _installed(python)
    assert {k: got.get(k) for k in want} == want, got


def test_a_gpu_no_wheel_has_code_for_gets_the_cpu_build_and_the_reason(
    make_farm, tmp_path: Path
) -> None:
    """gfx1103 (Radeon 780M) is in no PyTorch wheel (unsloth#9829)."""
    farm = make_farm(MirrorSpec("a"))
    env = farm_env(farm, tmp_path, MINSTALL_ACCELERATOR="amd:gfx1103")
    proc = minstall("rewrite", "--cuda", "auto", "--", "pip", "install", "torch", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "+cpu" in proc.stdout.splitlines()[0]
    assert "no ROCm build of torch has code for gfx1103" in proc.stdout + proc.stderr
