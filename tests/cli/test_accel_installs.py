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
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from farm import Fault, MirrorSpec, RecordingProxy

from mirrorinstall.core import hostos

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


@pytest.mark.parametrize(
    ("accelerator", "reason"),
    [
        ("amd:gfx1103", "no ROCm build of torch has code for gfx1103"),
        ("intel:12.0.0", "is older than Intel Arc (Alchemist)"),
    ],
    ids=["radeon-780m", "iris-xe"],
)
def test_a_gpu_no_build_supports_gets_the_cpu_build_and_the_reason(
    make_farm, tmp_path: Path, accelerator: str, reason: str
) -> None:
    """gfx1103 (Radeon 780M) is in no PyTorch wheel (unsloth#9829); an Iris Xe (Tiger Lake, IP
    version 12.0.0 in SYCL's architecture list) predates Arc, which torch's XPU build starts at
    (pytorch#165622). Asking for the XPU index by name still gets it, from the mirror."""
    farm = make_farm(MirrorSpec("a"))
    env = farm_env(farm, tmp_path, MINSTALL_ACCELERATOR=accelerator)
    proc = minstall("rewrite", "--cuda", "auto", "--", "pip", "install", "torch", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "+cpu" in proc.stdout.splitlines()[0]
    assert reason in proc.stdout + proc.stderr
    if accelerator.startswith("intel"):
        xpu = "https://download.pytorch.org/whl/xpu"
        argv = ["rewrite", "--", "pip", "install", "torch", "--index-url", xpu]
        kept = minstall(*argv, env=env)
        assert kept.returncode == 0, kept.stderr
        assert f"{farm['a'].url}/whl/xpu" in kept.stdout.splitlines()[0]


# ------------------------------------------------------------ packages built per torch / CUDA
# Their official hosts (data.pyg.org, paddlepaddle.org.cn, download.openmmlab.com) have no
# public mirror in the catalog's sources; the farm mirror here is a lab's copy of them
# ([mirror.X.hosts]), laid out as each host is. The proxy stands for the internet: nothing
# may reach it.


def _install_through_copies(
    make_farm,
    tmp_path: Path,
    driver: str,
    *args: str,
    torch_first: str | None = None,
    pages: str = "json",
):
    hosts = ("pyg", "paddle", "openmmlab", "flash-attn")
    farm = make_farm(MirrorSpec("lab", hosts=hosts, pages=pages))
    python, pip_env = pip_target(tmp_path)
    if torch_first:  # already in the target, put there by plain pip
        variant = torch_first.split("+")[1]
        subprocess.run(
            [sys.executable, "-m", "pip", "--python", python, "install", "-q",
             "--index-url", f"{farm['lab'].url}/whl/{variant}", f"torch=={torch_first}"],
            env={**os.environ, **pip_env}, check=True, capture_output=True,
        )  # fmt: skip
    proxy = RecordingProxy()
    try:
        env = farm_env(farm, tmp_path, **pip_env, **proxy.env(), MINSTALL_CUDA_DRIVER=driver)
        proc = minstall("pip", "--cuda", "auto", "--python", python, "install", *args, env=env)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        assert proxy.requests == [], proxy.requests
    finally:
        proxy.close()
    return python, proc, farm["lab"]


def test_pyg_wheels_come_from_the_page_for_the_torch_installed(make_farm, tmp_path) -> None:
    """A README's page for torch 2.4 + CUDA 12.4 beside torch 2.5.1: driver 470 runs CUDA
    11.x only (NVIDIA's table: 12.x needs >= 525.60.13), so --cuda auto takes torch
    2.5.1+cu118 (PyTorch's previous-versions page lists cu118, cu121, cu124 for 2.5.1), and
    PyG's page follows: torch-2.5.0+cu118.html (PyG builds one wheel per torch minor)."""
    python, _, lab = _install_through_copies(
        make_farm, tmp_path, "470.82.01",
        "torch==2.5.1", "torch-scatter",
        "-f", "https://data.pyg.org/whl/torch-2.4.0+cu124.html",
    )  # fmt: skip
    got = _installed(python)
    assert got.get("torch") == "2.5.1+cu118", got
    assert got.get("torch-scatter") == "2.1.2+pt25cu118", got
    asked = [r.path for r in lab.requests]
    assert "/pyg/whl/torch-2.5.0+cu118.html" in asked, asked


def test_paddle_comes_from_the_index_of_the_build_the_driver_runs(make_farm, tmp_path) -> None:
    """PaddlePaddle's install page names one index per CUDA build; a cu126 line on driver
    470 (CUDA 11.x only) becomes the cu118 index, here the lab's copy of it."""
    python, _, lab = _install_through_copies(
        make_farm, tmp_path, "470.82.01",
        "paddlepaddle-gpu==3.0.0",
        "-i", "https://www.paddlepaddle.org.cn/packages/stable/cu126/",
    )  # fmt: skip
    out = subprocess.run(
        [python, "-c", "import paddle.version as v; print(v.cuda())"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == "11.8", out
    asked = [r.path for r in lab.requests]
    assert "/paddle/packages/stable/cu118/paddlepaddle-gpu/" in asked, asked


def test_mmcv_comes_from_the_page_for_the_torch_and_build(make_farm, tmp_path) -> None:
    """mmcv's selector writes torch2.1 pages; beside torch 2.4.1 on driver 470 (CUDA 11.x:
    torch's cu118 build) the page is cu118/torch2.4/index.html, which links its wheel in the
    torch2.4.0 directory (the selector lists cpu, cu118, cu121 for torch 2.4)."""
    python, _, lab = _install_through_copies(
        make_farm, tmp_path, "470.82.01",
        "torch==2.4.1", "mmcv==2.2.0",
        "-f", "https://download.openmmlab.com/mmcv/dist/cu121/torch2.1/index.html",
    )  # fmt: skip
    assert _installed(python).get("torch") == "2.4.1+cu118"
    out = subprocess.run(
        [python, "-c", "import mmcv._built as b; print(b.torch, b.build)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.split() == ["2.4", "cu118"], out
    asked = [r.path for r in lab.requests]
    assert "/openmmlab/mmcv/dist/cu118/torch2.4/index.html" in asked, asked


@pytest.mark.parametrize("where", ["command", "requirements file"])
def test_pyg_wheels_match_the_torch_already_in_the_target(make_farm, tmp_path, where) -> None:
    """The command installs no torch: the page follows the one the target has (2.4.1+cu121,
    PyG's torch-2.4.0+cu121 page), not the README's torch 2.1 / cu118 page, on the command
    line or in a repository's requirements file."""
    page = "https://data.pyg.org/whl/torch-2.1.0+cu118.html"
    args = ["torch-scatter", "-f", page]
    if where == "requirements file":
        (tmp_path / "requirements.txt").write_text(f"--find-links {page}\ntorch-scatter\n")
        args = ["-r", str(tmp_path / "requirements.txt")]
    python, proc, _ = _install_through_copies(
        make_farm, tmp_path, "550.54.14", *args, torch_first="2.4.1+cu121"
    )
    got = _installed(python)
    assert got.get("torch-scatter") == "2.1.2+pt24cu121", got
    assert got.get("torch") == "2.4.1+cu121", got
    assert "the target has torch 2.4.1" in proc.stderr, proc.stderr[-2000:]


@pytest.mark.parametrize("where", ["command line", "requirements file"])
def test_flash_attn_is_the_release_wheel_for_the_targets_torch(make_farm, tmp_path, where) -> None:
    """``pip install flash-attn --no-build-isolation`` beside torch 2.4.1+cu121: flash-attn's
    release matrix at 060c918 (2.8.3) builds torch 2.4 for CUDA 12 with both C++ ABIs; torch 2.4
    is the old ABI (pytorch#143962), so cu12torch2.4cxx11abiFALSE, from the lab's copy of
    GitHub's release downloads. The farm's PyPI has no flash-attn at all: the sdist route
    would fail, as it does (slowly) where GitHub cannot be reached. The lab serves its PyPI
    as TUNA does (HTML pages, no .metadata)."""
    args = ["flash-attn", "--no-build-isolation"]
    if where == "requirements file":
        (tmp_path / "requirements.txt").write_text("flash-attn\n")
        args = ["-r", str(tmp_path / "requirements.txt")]
    python, proc, lab = _install_through_copies(
        make_farm, tmp_path, "550.54.14", *args, torch_first="2.4.1+cu121", pages="html"
    )
    got = _installed(python)
    assert got.get("flash_attn", got.get("flash-attn")) == "2.8.3+cu12torch2.4cxx11abiFALSE", got
    built = subprocess.run(
        [python, "-c", "import flash_attn._built as b; print(b.build)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert built == "cu12torch2.4cxx11abiFALSE"
    assert "release wheel for torch 2.4 with CUDA 12.1" in proc.stderr, proc.stderr[-2000:]
    asked = [r.path for r in lab.requests]
    assert any("/github/Dao-AILab/flash-attention/releases/download/v2.8.3/" in p for p in asked)


def test_a_copy_that_fails_gives_way_to_the_next_copy(make_farm, tmp_path) -> None:
    """Two labs copy PaddlePaddle's hosts; the one the bench ranked (it serves PyPI too)
    answers 500 for them: the next attempt takes the other copy, never the official host."""
    farm = make_farm(
        MirrorSpec("ranked", hosts=("paddle",), faults=[Fault("error500", path="/paddle*")]),
        MirrorSpec("spare", conda=(), pypi=False, pytorch=None, hosts=("paddle",)),
    )
    python, pip_env = pip_target(tmp_path)
    proxy = RecordingProxy()
    try:
        env = farm_env(farm, tmp_path, **pip_env, **proxy.env(), MINSTALL_CUDA_DRIVER="470.82.01")
        proc = minstall(
            "pip", "--cuda", "auto", "--python", python, "install", "paddlepaddle-gpu==3.0.0",
            "-i", "https://www.paddlepaddle.org.cn/packages/stable/cu126/", env=env,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert proxy.requests == [], proxy.requests
    finally:
        proxy.close()
    assert "mirror ranked (hosts:" in proc.stderr, proc.stderr[-3000:]
    assert "mirror spare, a copy of that host" in proc.stderr, proc.stderr[-3000:]
    assert any(r.path.startswith("/paddle-whl/") for r in farm["spare"].requests)


def test_mim_install_takes_mmcv_from_the_page_for_the_targets_torch(make_farm, tmp_path) -> None:
    """``mim install mmcv==2.2.0`` in an environment with torch 2.4.1+cu121: mim would add
    OpenMMLab's cu121/torch2.4.0 page (openmim 0.3.9's install.py); minstall runs that pip
    install in the environment's own Python and pip (Python's bundled one, as in a fresh
    environment), the page and the wheel from the lab's copy, PyPI from the mirror."""
    farm = make_farm(MirrorSpec("lab", hosts=("openmmlab",)))
    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=True).create(env_dir)  # mim's environment has pip: mim needs it
    python = hostos.env_python(str(env_dir), venv=True)
    _, pip_env = pip_target(tmp_path)
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--index-url",
         f"{farm['lab'].url}/whl/cu121", "torch==2.4.1+cu121"],
        env={**os.environ, **pip_env}, check=True, capture_output=True,
    )  # fmt: skip
    proxy = RecordingProxy()
    try:
        # the environment's python first on PATH, as when it is activated
        pip_env["PATH"] = f"{Path(python).parent}{os.pathsep}{pip_env['PATH']}"
        env = farm_env(farm, tmp_path, **pip_env, **proxy.env())
        proc = minstall("mim", "install", "mmcv==2.2.0", env=env)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        assert proxy.requests == [], proxy.requests
    finally:
        proxy.close()
    out = subprocess.run(
        [python, "-c", "import mmcv._built as b; print(b.torch, b.build)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.split() == ["2.4", "cu121"], out
    asked = [r.path for r in farm["lab"].requests]
    assert "/openmmlab/mmcv/dist/cu121/torch2.4.0/index.html" in asked, asked
