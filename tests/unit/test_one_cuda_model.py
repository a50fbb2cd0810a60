"""One rule for "does this build run here" (issue 19): the pip path, the conda path and the
choice ``--cuda auto`` makes give the same answer for the same build on the same machine.

Expected answers by hand, from NVIDIA's rules: a cubin for sm_X.Y runs on X.Z, Z >= Y (CUDA C++
Programming Guide, "Binary Compatibility"); CUDA 10.2 targets up to sm_7.5, 11.0 up to sm_8.0,
11.1 up to sm_8.6 (each toolkit's release notes); 11.1+ builds need driver >= 450.80.02 and
12.x >= 525.60.13 (minor-version compatibility, CUDA compatibility guide)."""

from __future__ import annotations

import pytest
from test_rewrite import run

from mirrorinstall.cuda.choose import CudaMismatch, Gpu, HostCuda

RTX3090 = HostCuda(driver="550.54.14", gpus=(Gpu("NVIDIA GeForce RTX 3090", "8.6"),), how="test")
OLD_DRIVER = HostCuda(driver="470.82.01", gpus=(Gpu("NVIDIA GeForce RTX 3090", "8.6"),), how="t")

CASES = [
    # (torch release, CUDA, host, runs?)
    pytest.param("1.7.1", "10.2", RTX3090, False, id="cu102 on sm 8.6: no sm_8x kernels"),
    pytest.param("1.7.1", "11.0", RTX3090, True, id="cu110 on sm 8.6: sm_80 cubins run"),
    pytest.param("1.8.1", "11.1", RTX3090, True, id="cu111 on sm 8.6"),
    pytest.param("1.6.0", "10.1", RTX3090, False, id="cu101 on sm 8.6"),
    pytest.param("1.12.1", "11.6", OLD_DRIVER, True, id="cu116 on driver 470 (MVC 11.x)"),
]


def _variant(cuda: str) -> str:
    return "cu" + cuda.replace(".", "")


@pytest.mark.parametrize(("release", "cuda", "host", "runs"), CASES)
def test_pip_and_conda_give_one_answer(release, cuda, host, runs) -> None:
    pip = run(["pip", "install", f"torch=={release}+{_variant(cuda)}"], host=host)
    conda = run(
        ["conda", "install", f"pytorch={release}", f"cudatoolkit={cuda}", "-c", "pytorch"],
        host=host,
    )
    for plan in (pip, conda):
        warned = [n for n in plan.notes if n.startswith("CUDA: warning:")]
        assert bool(warned) == (not runs), plan.notes
        assert plan.argv[2].endswith(release) or release in " ".join(plan.argv)  # unchanged


@pytest.mark.parametrize(("release", "cuda", "host", "runs"), CASES)
def test_auto_never_chooses_what_the_rule_refuses(release, cuda, host, runs) -> None:
    try:
        pip = run(["pip", "install", f"torch=={release}"], host=host, cuda_mode="auto")
    except CudaMismatch:
        pip = None
    try:
        conda = run(
            ["conda", "install", f"pytorch={release}", f"cudatoolkit={cuda}", "-c", "pytorch"],
            host=host,
            cuda_mode="auto",
        )
    except CudaMismatch as exc:  # fair only when nothing of that release runs: say what does
        assert not runs and f"pytorch={release}" in exc.message and "newest that runs" in exc.hint
        return
    if runs:  # the pin stays on the conda path; pip picks the newest variant that runs
        assert f"cudatoolkit={cuda}" in conda.argv
        assert pip is not None
    else:  # replaced by one that runs, never kept
        assert f"cudatoolkit={cuda}" not in conda.argv
        assert any("replaced by cudatoolkit=" in n and "no kernels" in n for n in conda.notes)
        chosen = next(a for a in pip.argv if a.startswith("torch==")) if pip else None
        assert chosen is None or not chosen.endswith(_variant(cuda))


def test_the_pytorch_channels_cuda_10_2_build_on_an_ampere_card_is_replaced() -> None:
    """The issue's own example: before, the conda path said this build runs while the pip path
    refused the same build for missing kernels."""
    plan = run(
        ["conda", "install", "pytorch=1.7.1", "cudatoolkit=10.2", "-c", "pytorch"],
        host=RTX3090,
        cuda_mode="auto",
    )
    assert plan.argv[2:4] == ["pytorch=1.7.1[build=*cuda*]", "cudatoolkit=11.0"], plan.argv


def test_cpuonly_beside_an_added_cuda_pin_is_dropped_and_kept_with_a_warning_otherwise() -> None:
    line = ["conda", "install", "pytorch", "torchvision", "cpuonly", "-c", "pytorch"]
    auto = run(line, host=RTX3090, cuda_mode="auto")
    assert "cpuonly" not in auto.argv
    assert any(a.startswith("pytorch-cuda=") for a in auto.argv)
    assert any(n.startswith("cpuonly removed") for n in auto.notes)
    keep = run([*line[:4], "pytorch-cuda=12.1", *line[4:]], host=RTX3090)
    assert "cpuonly" in keep.argv
    assert any("cpuonly and pytorch-cuda" in n for n in keep.notes)


def test_no_build_pin_without_a_gpu_or_a_cuda_pin() -> None:
    no_gpu = run(
        ["conda", "install", "pytorch", "cudatoolkit=11.3", "-c", "pytorch"],
        host=HostCuda(how="no NVIDIA driver"),
    )
    assert "pytorch" in no_gpu.argv
    plain = run(["conda", "install", "pytorch", "-c", "pytorch"], host=RTX3090)
    assert "pytorch" in plain.argv
    other = run(
        ["conda", "install", "conda-forge::pytorch", "cudatoolkit=11.3", "-c", "pytorch"],
        host=RTX3090,
    )
    assert not any("build=" in a for a in other.argv)
