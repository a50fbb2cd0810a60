"""CUDA choice: cases generated from the data tables, plus the known traps (pure)."""

from __future__ import annotations

import pytest
from packaging.version import Version

from mirrorinstall.cuda.choose import (
    CudaMismatch,
    Gpu,
    HostCuda,
    choose_torch,
    covers,
    driver_floor,
    supports,
    variant_cuda,
)
from mirrorinstall.cuda.packaged import load_tables

T = load_tables()


def _below(driver: str) -> str:
    """A driver version just under ``driver``."""
    parts = [int(p) for p in driver.split(".")]
    if len(parts) == 1 or all(p == 0 for p in parts[1:]):
        return f"{parts[0] - 1}.99"
    return f"{parts[0]}.{parts[1] - 1}" if parts[1] else f"{parts[0] - 1}.99"


VARIANTS = sorted({(v, os) for r in T.torch for v in r.pip for os in ("linux", "windows")})


@pytest.mark.parametrize(("variant", "os"), VARIANTS, ids=[f"{v}-{o}" for v, o in VARIANTS])
def test_every_variant_runs_from_its_floor_and_not_below(variant: str, os: str) -> None:
    cuda = variant_cuda(variant)
    floor = driver_floor(T, cuda, os)
    assert floor, f"no driver floor for {variant} on {os}"
    assert supports(T, HostCuda(driver=floor), cuda, os)
    assert not supports(T, HostCuda(driver=_below(floor)), cuda, os)


RELEASES = [(r.versions[-1], r) for r in T.torch]


@pytest.mark.parametrize(("release", "row"), RELEASES, ids=[r for r, _ in RELEASES])
def test_newest_driver_gets_the_newest_variant_and_an_ancient_one_an_error(release, row) -> None:
    newest = max(row.pip, key=lambda v: Version(variant_cuda(v)))
    got = choose_torch(T, HostCuda(driver="999.99"), spec=f"=={release}")
    assert (got.release, got.variant) == (release, newest)
    with pytest.raises(CudaMismatch) as info:  # pinned, nothing runs: never a silent CPU build
        choose_torch(T, HostCuda(driver="300.10"), spec=f"=={release}")
    assert "no CUDA build of torch" in info.value.message
    unpinned = choose_torch(T, HostCuda(driver="300.10"))
    assert unpinned.variant == "cpu" and "no CUDA build of any torch release" in unpinned.reason


def test_the_seed_driver_535_and_the_mvc_floors() -> None:
    host = HostCuda(driver="535.104.05")
    assert choose_torch(T, host, spec="==2.5.1").variant == "cu124"  # MVC: 12.x runs on 525.60.13+
    assert choose_torch(T, host).variant == "cu126"  # newest release; cu130/cu132 need 580
    assert (
        driver_floor(T, "10.1", "linux") == "418.39"
        and driver_floor(T, "12.4", "windows") == "528.33"
    )


def test_windows_thresholds_differ() -> None:
    host = HostCuda(driver="527.41")  # Linux would run 12.x from 525.60.13
    assert choose_torch(T, host, spec="==2.5.1", os="linux").variant == "cu124"
    assert choose_torch(T, host, spec="==2.5.1", os="windows").variant == "cu118"


def test_gpu_architectures() -> None:
    gtx1080ti = HostCuda(driver="580.65.06", gpus=(Gpu("NVIDIA GeForce GTX 1080 Ti", "6.1"),))
    got = choose_torch(T, gtx1080ti, spec="==2.8.0")
    assert got.variant == "cu126"  # cu128/cu129 dropped Pascal in 2.8
    assert any("no kernels for NVIDIA GeForce GTX 1080 Ti" in n for n in got.notes)
    rtx5090 = HostCuda(driver="580.65.06", gpus=(Gpu("NVIDIA GeForce RTX 5090", "12.0"),))
    assert choose_torch(T, rtx5090, spec="==2.7.1").variant == "cu128"  # Blackwell needs cu128+
    with pytest.raises(CudaMismatch) as none:  # 2.6.0 has no Blackwell kernels: not CPU
        choose_torch(T, rtx5090, spec="==2.6.0")
    # the nearest newer release with Blackwell kernels: 2.7.0, its cu128 build (ARCH)
    assert none.value.instead == ("torch", "torch==2.7.0")
    volta = HostCuda(driver="580.65.06", gpus=(Gpu("Tesla V100", "7.0"),))
    assert choose_torch(T, volta, spec="==2.11.0").variant == "cu126"
    h200 = HostCuda(driver="580.159.04", gpus=(Gpu("NVIDIA H200", "9.0"),))  # recorded host
    assert choose_torch(T, h200).variant == "cu132"
    assert covers(T, "cu118", "2.5.1", "8.9") and not covers(T, "cu102", "1.12.1", "8.6")


def test_every_gpu_must_be_covered() -> None:
    mixed = HostCuda(driver="580.65.06", gpus=(Gpu("GTX 1080", "6.1"), Gpu("RTX 5090", "12.0")))
    with pytest.raises(CudaMismatch):
        choose_torch(T, mixed, spec="==2.8.0")
    # no release has kernels for both sm 6.1 and sm 12.0 (3c: cu126 lacks Blackwell, cu128+
    # lacks Pascal), so the unpinned answer is the CPU build, with the reason
    anything = choose_torch(T, mixed)
    assert (
        anything.variant == "cpu" and "no build of torch 2.13.0 has kernels" in anything.notes[-1]
    )


def test_no_driver_detection_failure_cpu_and_macos() -> None:
    assert "no NVIDIA driver found" in choose_torch(T, HostCuda(how="no nvidia-smi")).reason
    failed = choose_torch(T, HostCuda(how="nvidia-smi", error="nvidia-smi crashed"))
    assert (
        failed.variant == "cpu" and "driver detection failed: nvidia-smi crashed" in failed.reason
    )
    assert choose_torch(T, HostCuda(driver="999.0"), want="cpu").variant == "cpu"
    # macOS: PyPI's wheels, which carry no "+cpu" tag (see test_accel.py, MAC_CASES)
    assert choose_torch(T, HostCuda(driver="999.0"), os="macos").variant == "pypi"


def test_conda_override_cuda_is_a_cuda_version() -> None:
    host = HostCuda(cuda="11.8", how="CONDA_OVERRIDE_CUDA")
    assert choose_torch(T, host, spec="==2.5.1").variant == "cu118"
    assert choose_torch(T, HostCuda(cuda="12.0"), spec="==2.5.1").variant == "cu124"


def test_pinned_cuda_the_driver_cannot_run_is_an_error() -> None:
    with pytest.raises(CudaMismatch) as info:
        choose_torch(T, HostCuda(driver="470.82.01"), spec="==2.5.1", want="12.1")
    assert "needs NVIDIA driver >= 525.60.13" in info.value.message
    assert "insufficient for CUDA runtime version" in info.value.message
    with pytest.raises(CudaMismatch):
        choose_torch(T, HostCuda(driver="999.0"), spec="==2.5.1", want="cu130")
    assert (
        choose_torch(T, HostCuda(driver="999.0"), spec="==2.5.1", want="cu121").variant == "cu121"
    )


def test_python_version_limits_the_release() -> None:
    assert choose_torch(T, HostCuda(driver="999.0"), python="3.8").release == "2.4.1"
    assert choose_torch(T, HostCuda(driver="999.0"), spec=">=2.0,<2.6").release == "2.5.1"
    assert choose_torch(T, HostCuda(driver="999.0"), spec="==2.5.1").torchvision == "0.20.1"


def test_every_row_has_a_source() -> None:
    rows = [*T.mvc, *T.toolkits, *T.torch, *T.archs, *T.tensorflow]
    assert all(r.source.startswith("https://") for r in rows)
    assert all(src.startswith("https://") for _, _, src in T.toolkit_max_cc)


def test_tensorflow_tested_configurations() -> None:
    from mirrorinstall.cuda.choose import choose_tensorflow

    new = choose_tensorflow(T, HostCuda(driver="535.104.05"), python="3.11")
    assert (new.version, new.cuda, new.runnable) == ("2.21.0", "12.5", True)
    old = choose_tensorflow(T, HostCuda(driver="470.82.01"), python="3.10")
    assert (old.version, old.cuda) == ("2.14.0", "11.8")
    assert "a driver >= 525.60.13 would run tensorflow 2.21.0 (CUDA 12.5)" in old.notes
    win = choose_tensorflow(T, HostCuda(driver="531.14"), os="windows", python="3.10")
    assert win.version == "2.10.0"
    seed = choose_tensorflow(T, HostCuda(driver="390.46"))  # CUDA 9.0 needs 384.81: TF 1.12
    assert (seed.version, seed.cuda, seed.runnable) == ("1.12.0", "9.0", True)
    none = choose_tensorflow(T, HostCuda(driver="375.26"))
    assert not none.runnable and "no TensorFlow GPU build in the range runs" in none.reason
