"""Driver detection against recorded real nvidia-smi outputs.

nvidia-smi cannot exist on this machine (no NVIDIA driver), so a stand-in
(tests/standins/nvidia-smi) replays real recordings: the excerpts in
../shared/recorded/nvidia-smi (from public issue threads) and the full outputs recorded on an
H200 host in tests/data/recorded/gpu-h200. /sys and /proc are read from a fake root.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from farm.content import shared_dir

from mirrorinstall.core.errors import ConfigError
from mirrorinstall.cuda.host import detect_cuda, parse_proc_version

STANDIN = Path(__file__).resolve().parents[1] / "standins"
H200 = Path(__file__).resolve().parents[1] / "data" / "recorded" / "gpu-h200"
R470_ERROR = 'Field "compute_cap" is not a valid field to query.\n'


def recorded(name: str) -> str:
    """A recording from tests/data/recorded/gpu-h200, without its '$ cmd' and '[exit]' lines."""
    lines = (H200 / name).read_text().splitlines(keepends=True)
    return "".join(ln for ln in lines[1:] if not ln.startswith("[exit "))


def standin(
    tmp_path: Path, plain: str, query: str | None = None, query_error: str | None = None
) -> dict[str, str]:
    d = tmp_path / "smi"
    d.mkdir()
    (d / "plain.txt").write_text(plain)
    if query is not None:
        (d / "query.txt").write_text(query)
    if query_error is not None:
        (d / "query-error.txt").write_text(query_error)
    return {"STANDIN_NVIDIA_SMI_DIR": str(d)}


def detect(tmp_path: Path, env: dict[str, str], *, root: Path | None = None, **kwargs):
    os.environ.update(env)  # the stand-in reads its folder from the environment
    empty = tmp_path / "root"
    empty.mkdir(exist_ok=True)
    return detect_cuda(
        env,
        root=root or empty,
        which=lambda name: str(STANDIN / name),
        use_nvml=False,
        use_libcuda=False,
        **kwargs,
    )


CASES = [
    # recorded file, driver, CUDA, GPU names
    ("r331-no-cuda-field.txt", "331.62", None, ()),
    ("r367-no-cuda-field.txt", "367.35", None, ()),
    ("r410-header.txt", "410.72", "10.0", ()),
    ("r450-table.txt", "450.57", "11.0", ("TITAN Xp",)),
    ("r535-header.txt", "535.129.03", "12.2", ()),
    ("r550-table.txt", "550.40.07", "12.4", ("NVIDIA GeForce RTX 4070",)),
    ("r610-kmd-umd.txt", "610.43.02", "13.3", ("NVIDIA B200",)),
    ("wsl2-windows-driver.txt", "572.70", "12.8", ()),
]


@pytest.mark.parametrize(("name", "driver", "cuda", "gpus"), CASES, ids=[c[0] for c in CASES])
def test_plain_nvidia_smi_recordings(tmp_path, monkeypatch, name, driver, cuda, gpus) -> None:
    monkeypatch.setenv("STANDIN_NVIDIA_SMI_DIR", "")
    plain = (shared_dir() / "recorded" / "nvidia-smi" / name).read_text()
    found = detect(tmp_path, standin(tmp_path, plain)).host
    assert (found.driver, found.cuda, tuple(g.name for g in found.gpus)) == (driver, cuda, gpus)
    assert found.error is None and found.how == "nvidia-smi"


def test_h200_query_gives_every_gpu_with_its_compute_capability(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("STANDIN_NVIDIA_SMI_DIR", "")
    env = standin(tmp_path, recorded("nvidia-smi.txt"), recorded("nvidia-smi-query.txt"))
    found = detect(tmp_path, env).host
    assert found.driver == "580.159.04" and found.cuda == "13.0"
    assert [(g.name, g.cc) for g in found.gpus] == [("NVIDIA H200", "9.0")]
    calls = (Path(env["STANDIN_NVIDIA_SMI_DIR"]) / "calls.log").read_text().splitlines()
    assert calls[0] == "--query-gpu=driver_version,name,compute_cap --format=csv,noheader"


def test_several_gpus_and_r470_without_compute_cap(tmp_path, monkeypatch) -> None:
    """R470 rejects compute_cap (its real message); minstall asks again without it."""
    monkeypatch.setenv("STANDIN_NVIDIA_SMI_DIR", "")
    query = "470.82.01, Tesla T4\n470.82.01, Tesla V100-SXM2-16GB\n"
    env = standin(
        tmp_path,
        "| NVIDIA-SMI 470.82.01    Driver Version: 470.82.01    CUDA Version: 11.4     |\n",
        query + "",
        R470_ERROR,
    )
    found = detect(tmp_path, env).host
    assert found.driver == "470.82.01" and [g.name for g in found.gpus] == [
        "Tesla T4",
        "Tesla V100-SXM2-16GB",
    ]
    assert all(g.cc is None for g in found.gpus)


def test_driver_not_loaded_is_no_driver_not_a_failure(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("STANDIN_NVIDIA_SMI_DIR", "")
    plain = (shared_dir() / "recorded" / "nvidia-smi" / "driver-not-loaded.txt").read_text()
    found = detect(tmp_path, standin(tmp_path, plain)).host
    assert not found.has_driver and found.error is None
    assert "couldn't communicate with the NVIDIA driver" in found.describe()


def test_garbage_or_hang_is_detection_failed(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("STANDIN_NVIDIA_SMI_DIR", "")
    found = detect(
        tmp_path, standin(tmp_path, "Failed to initialize NVML: Driver/library version mismatch\n")
    ).host
    assert found.error and "Driver/library version mismatch" in found.error
    assert found.describe().startswith("driver detection failed: ")

    def hang(*args, **kwargs):
        raise subprocess.TimeoutExpired(args[0], kwargs.get("timeout", 1))

    slow = detect_cuda(
        {},
        root=tmp_path,
        which=lambda n: "/usr/bin/nvidia-smi",
        run=hang,
        use_nvml=False,
        use_libcuda=False,
        timeout_s=2,
    )
    assert slow.host.error == "nvidia-smi did not answer within 2 s"


def test_no_nvidia_smi_no_proc_means_no_driver(tmp_path) -> None:
    found = detect_cuda({}, root=tmp_path, which=lambda n: None, use_nvml=False).host
    assert not found.has_driver and found.error is None
    assert found.describe().startswith("no NVIDIA driver found")


def test_sys_and_proc_files_come_first(tmp_path) -> None:
    root = tmp_path / "root"
    (root / "proc/driver/nvidia").mkdir(parents=True)
    (root / "proc/driver/nvidia/version").write_text(recorded("driver-files.txt").split("---")[0])
    found = detect_cuda({}, root=root, which=lambda n: None, use_nvml=False, use_libcuda=False).host
    assert found.driver == "580.159.04" and found.how == "/proc/driver/nvidia/version"
    (root / "sys/module/nvidia").mkdir(parents=True)
    (root / "sys/module/nvidia/version").write_text("550.144.03\n")
    again = detect_cuda({}, root=root, which=lambda n: None, use_nvml=False, use_libcuda=False)
    assert again.host.driver == "550.144.03" and again.host.how == "/sys/module/nvidia/version"


def test_proc_version_formats() -> None:
    old = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  375.74  Wed Jun 14 01:39:39 PDT 2017\n"
    assert parse_proc_version(old) == "375.74"
    assert parse_proc_version(recorded("driver-files.txt")) == "580.159.04"


def test_environment_overrides(tmp_path) -> None:
    none = lambda n: None  # noqa: E731
    env = detect_cuda(
        {"MINSTALL_CUDA_DRIVER": "535.104.05", "MINSTALL_CUDA_ARCH": "6.1,8.6"},
        root=tmp_path,
        which=none,
    ).host
    assert env.driver == "535.104.05" and [g.cc for g in env.gpus] == ["6.1", "8.6"]
    assert env.how == "MINSTALL_CUDA_DRIVER + MINSTALL_CUDA_ARCH"
    short = detect_cuda({"MINSTALL_CUDA_DRIVER": "535"}, root=tmp_path, which=none).host
    assert short.driver == "535" and short.has_driver
    # a mistyped setting is an error (exit 78), never a plan for a machine without a driver
    with pytest.raises(ConfigError, match="not a driver version such as 535"):
        detect_cuda({"MINSTALL_CUDA_DRIVER": "latest"}, root=tmp_path, which=none)
    conda = detect_cuda({"CONDA_OVERRIDE_CUDA": "11.8"}, root=tmp_path, which=none).host
    assert conda.cuda == "11.8" and conda.driver is None and conda.has_driver
    empty = detect_cuda({"CONDA_OVERRIDE_CUDA": "  "}, root=tmp_path, which=none).host
    assert not empty.has_driver and empty.error is None and "means no CUDA" in empty.how


def test_wsl2_reports_the_windows_driver(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("STANDIN_NVIDIA_SMI_DIR", "")
    root = tmp_path / "wsl"
    (root / "proc").mkdir(parents=True)
    (root / "proc/version").write_text("Linux version 5.15.153.1-microsoft-standard-WSL2\n")
    plain = (shared_dir() / "recorded/nvidia-smi/wsl2-windows-driver.txt").read_text()
    found = detect(tmp_path, standin(tmp_path, plain), root=root)
    assert found.windows_driver and found.host.driver == "572.70"
