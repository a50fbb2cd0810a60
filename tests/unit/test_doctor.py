"""minstall doctor's diagnosis (pure): every recorded error in ../shared/recorded, the seed's
classics, and the fix computed for the machine at hand.

The expected fixes are written by hand from the sources the data cites (cuda-facts.md: NVIDIA
driver floors, pytorch.org variants, tensorflow.org tested configurations).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mirrorinstall.context.facts import Ranking
from mirrorinstall.core.catalog import build_catalog
from mirrorinstall.cuda.accel import Accelerators, Device
from mirrorinstall.cuda.choose import Gpu, HostCuda
from mirrorinstall.cuda.packaged import load_tables
from mirrorinstall.doctor.diagnose import (
    EnvCheck,
    Machine,
    Source,
    diagnose_machine,
    diagnose_text,
)
from mirrorinstall.doctor.machine import load_patterns
from mirrorinstall.doctor.patterns import parse_patterns

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
RECORDED = ROOT.parent / "shared" / "recorded"
CATALOG = build_catalog([("mirrors.toml", (ROOT / "mirrors.toml").read_text())])
PATTERNS = load_patterns()
NO_GPU = HostCuda(how="no nvidia-smi")


def machine(host: HostCuda = NO_GPU, os: str = "linux", **kw) -> Machine:
    return Machine(
        host=host,
        tables=load_tables(),
        catalog=CATALOG,
        os=os,
        driver_os=kw.pop("driver_os", os),
        python="3.11",
        **kw,
    )


def _cases() -> list[tuple[str, Path]]:
    """Every recorded run that failed (exit code != 0), and every one that succeeded."""
    out = []
    for meta in sorted(RECORDED.glob("*/*.meta.toml")):
        info = tomllib.loads(meta.read_text())
        if "exit_code" in info:
            out.append((meta.parent.name, meta))
    return out


CASES = _cases()


def _text(meta: Path) -> str:
    stem = meta.name.removesuffix(".meta.toml")
    parts = [meta.with_name(f"{stem}{ext}") for ext in (".stdout", ".stderr", ".log")]
    return "\n".join(p.read_text(errors="replace") for p in parts if p.exists())


@pytest.mark.parametrize(("client", "meta"), CASES, ids=[f"{c}/{m.stem}" for c, m in CASES])
def test_every_recorded_failure_is_recognised_and_no_success_is(client, meta) -> None:
    info = tomllib.loads(meta.read_text())
    findings = diagnose_text(_text(meta), machine(), PATTERNS)
    if info["exit_code"] == 0:
        assert findings == [], findings
        return
    assert findings, f"{meta.name}: {info.get('situation')}"
    finding = findings[0]
    assert finding.fixes and finding.cause
    if finding.id == "mirror-fault":  # a mirror's fault: the way out is another mirror
        assert any("minstall" in fix for fix in finding.fixes)


def test_recorded_cases_cover_every_client() -> None:
    assert {c for c, _ in CASES} >= {"conda", "pip", "pip23", "uv"}
    assert sum(1 for _, m in CASES if tomllib.loads(m.read_text())["exit_code"]) >= 30


# ------------------------------------------------------------------ the classics


CLASSICS = {
    "driver-insufficient": "2018-03-02 W tensorflow/core: cudaGetDevice() failed. Status: "
    "CUDA driver version is insufficient for CUDA runtime version",
    "driver-too-old": "RuntimeError: The NVIDIA driver on your system is too old (found version "
    "11040). Please update your GPU driver by downloading and installing a new version from the "
    "URL: http://www.nvidia.com/Download/index.aspx Alternatively, go to: https://pytorch.org to "
    "install a PyTorch version that has been compiled with your version of the CUDA driver.",
    "gemm-launch": "InternalError: Blas GEMM launch failed : a.shape=(100, 784), b.shape=(784, 10)",
    "no-kernel-image": "RuntimeError: CUDA error: no kernel image is available for execution on "
    "the device",
    "cuda-libs-missing": "W tensorflow/stream_executor/platform/default/dso_loader.cc:64] Could "
    "not load dynamic library 'cudart64_110.dll'; dlerror: cudart64_110.dll not found",
    "torch-cpu-build": 'raise AssertionError("Torch not compiled with CUDA enabled")',
    "cuda-oom": "RuntimeError: CUDA error: out of memory",
    "conda-cuda-unsatisfiable": "UnsatisfiableError: The following specifications were found to "
    "be incompatible with your CUDA driver:\n\n  - feature:/linux-64::__cuda==10.2=0",
    "official-host-slow": "CondaHTTPError: HTTP 000 CONNECTION FAILED for url "
    "<https://conda.anaconda.org/pytorch/win-64/current_repodata.json>",
    # pytorch/pytorch#131662, as a Chinese Windows prints it (hiyouga/LlamaFactory#5132)
    "torch-dll-winerror-126": 'OSError: [WinError 126] 找不到指定的模块。 Error loading "D:\\'
    'mysoft\\anaconda3\\envs\\lf\\Lib\\site-packages\\torch\\lib\\fbgemm.dll" or one '
    "of its dependencies.",
    # ROCm/legacy-rocm-build#2061 (an RX 6600, gfx1032)
    "rocm-no-binary": "hipErrorNoBinaryForGpu: Unable to find code object for all current devices!",
    # intel/intel-xpu-backend-for-triton#5616
    "xpu-older-gpu": "UserWarning: The detected GPU (Intel(R) UHD Graphics 770) is not "
    "officially supported by PyTorch XPU. Running workloads on this device may result in "
    "unexpected behavior.",
    # jax-ml/jax#29068
    "jax-cpu-jaxlib": "WARNING:2025-05-28 18:06:26,600:jax._src.xla_bridge:791: An NVIDIA GPU "
    "may be present on this machine, but a CUDA-enabled jaxlib is not installed. Falling back "
    "to cpu.",
    # Naozumi520/g2pW-Cantonese#1
    "onnxruntime-no-cuda": "UserWarning: Specified provider 'CUDAExecutionProvider' is not in "
    "available provider names.Available providers: 'AzureExecutionProvider, "
    "CPUExecutionProvider'",
    # open-mmlab/mmcv#2059
    "mmcv-ext-missing": "ModuleNotFoundError: No module named 'mmcv._ext'",
    # Dao-AILab/flash-attention#931
    "flash-attn-undefined-symbol": "ImportError: /usr/local/lib/python3.10/dist-packages/"
    "flash_attn_2_cuda.cpython-310-x86_64-linux-gnu.so: undefined symbol: _ZN3c104cuda9SetDeviceEi",
}


@pytest.mark.parametrize("pattern_id", sorted(CLASSICS))
def test_each_classic_is_recognised(pattern_id) -> None:
    found = diagnose_text(CLASSICS[pattern_id], machine(), PATTERNS)
    assert [f.id for f in found][:1] == [pattern_id]
    assert found[0].sources and all(s.startswith("https://") for s in found[0].sources)


def test_libcudnn_on_linux_too() -> None:
    text = "ImportError: libcudnn.so.8: cannot open shared object file: No such file or directory"
    assert diagnose_text(text, machine(), PATTERNS)[0].id == "cuda-libs-missing"


def test_the_seeds_first_message_gets_the_build_its_driver_runs() -> None:
    """The seed's TensorFlow user: a GTX 1060 on Windows driver 388.73 (CUDA 9.0 needs 385.54,
    10.0 needs 411.31: NVIDIA); TF 1.12 was tested with CUDA 9.0 (tensorflow.org, Windows)."""
    host = HostCuda(driver="388.73", gpus=(Gpu("GeForce GTX 1060", "6.1"),), how="nvidia-smi")
    found = diagnose_text(CLASSICS["driver-insufficient"], machine(host, "windows"), PATTERNS)
    fixes = " | ".join(found[0].fixes)
    assert "minstall pip install tensorflow --cuda auto" in fixes
    assert "CUDA 9.0" in fixes and "tensorflow 1.12" in fixes
    assert "minstall conda install tensorflow-gpu --cuda auto  (adds cudatoolkit=9.0" in fixes


def test_a_torch_message_gets_the_torch_build_and_the_driver_for_the_newest() -> None:
    # R470 runs CUDA 11.x; torch 2.7.1 is the last release with cu118 (pytorch.org); the newest
    # (2.13) needs 525.60.13 for its cu126 build
    host = HostCuda(driver="470.82.01", how="nvidia-smi")
    found = diagnose_text(CLASSICS["driver-too-old"], machine(host), PATTERNS)[0]
    assert found.data["driver_cuda"] == "11.4"
    assert any("torch 2.7.1+cu118" in fix for fix in found.fixes)
    assert any(
        "upgrade the NVIDIA driver to >= 525.60.13 for torch 2.13.0" in f for f in found.fixes
    )
    assert not any("TensorFlow" in fix for fix in found.fixes)


def test_no_kernel_image_on_blackwell_names_the_build_with_its_kernels() -> None:
    # sm 12.0 needs cu128+ (pytorch#150733); R575 runs 12.x, not 13.x (580): 2.11 cu128
    host = HostCuda(driver="575.51.03", gpus=(Gpu("RTX 5090", "12.0"),), how="nvidia-smi")
    text = "torch: " + CLASSICS["no-kernel-image"]
    found = diagnose_text(text, machine(host), PATTERNS)[0]
    assert any("torch 2.11.0+cu128" in fix for fix in found.fixes)


def test_gemm_on_an_ampere_card_also_names_a_cuda_11_tensorflow() -> None:
    host = HostCuda(driver="535.104.05", gpus=(Gpu("RTX 3080", "8.6"),), how="nvidia-smi")
    found = diagnose_text("tensorflow " + CLASSICS["gemm-launch"], machine(host), PATTERNS)[0]
    fixes = " | ".join(found.fixes)
    assert "TF_FORCE_GPU_ALLOW_GROWTH=true" in fixes
    assert "RTX 3080 needs a TensorFlow built for CUDA 11 or newer" in fixes


def test_a_slow_official_host_gets_the_best_measured_mirror() -> None:
    ranking = Ranking(order={"conda": ("tuna", "ustc")})
    found = diagnose_text(
        CLASSICS["official-host-slow"], machine(ranking=ranking, ranking_age="3 min ago"), PATTERNS
    )[0]
    assert (
        "mirror tuna, the fastest for conda on this network, measured 3 min ago" in (found.fixes[0])
    )
    unmeasured = diagnose_text(CLASSICS["official-host-slow"], machine(), PATTERNS)[0]
    assert unmeasured.fixes[0].startswith("minstall bench --kind conda")


def test_an_unknown_text_is_not_recognised() -> None:
    assert diagnose_text("Segmentation fault (core dumped)", machine(), PATTERNS) == []


def test_a_broken_pattern_file_names_the_row_and_the_key() -> None:
    text = '[[pattern]]\nid = "x"\ntitle = "t"\nregex = "("\ncause = "c"\nfix = "gpu-memory"\n'
    with pytest.raises(ValueError, match=r"pattern 1 \(x\): regex"):
        parse_patterns(text + 'sources = ["https://e.org"]\n')
    with pytest.raises(ValueError, match="sources"):
        parse_patterns(text.replace('"("', '"a"'))


# ------------------------------------------------------------------ the machine


@pytest.mark.parametrize(
    ("host", "title", "cause"),
    [
        (
            HostCuda(driver="580.159.04", gpus=(Gpu("NVIDIA H200", "9.0"),), how="nvidia-smi"),
            "NVIDIA driver 580.159.04, CUDA 13.x builds",
            "NVIDIA H200 (sm 9.0, Hopper)",
        ),
        (
            HostCuda(driver="470.82.01", gpus=(Gpu("Tesla K80", None),), how="nvidia-smi"),
            "NVIDIA driver 470.82.01, CUDA 11.x builds",
            "Tesla K80",
        ),
        (
            HostCuda(driver="575.51.03", gpus=(Gpu("RTX 5090", "12.0"),), how="nvidia-smi"),
            "NVIDIA driver 575.51.03, CUDA 12.x builds",
            "RTX 5090 (sm 12.0, Blackwell)",
        ),
        (
            HostCuda(driver="384.81", gpus=(Gpu("GTX 1080", "6.1"),), how="nvidia-smi"),
            "NVIDIA driver 384.81",
            "GTX 1080 (sm 6.1, Pascal)",
        ),
    ],
    ids=["R580 Hopper", "R470 no cc", "R575 Blackwell", "R384 Pascal"],
)
def test_the_driver_and_every_gpu_with_its_architecture(host, title, cause) -> None:
    first = diagnose_machine(machine(host))[0]
    assert first.title == title and cause in first.cause


def test_an_environment_with_a_cpu_torch_on_a_gpu_machine_is_an_error_with_the_fix() -> None:
    host = HostCuda(driver="535.104.05", gpus=(Gpu("RTX 3080", "8.6"),), how="nvidia-smi")
    env = EnvCheck("/venv/bin/python", "torch", True, False, "torch 2.6.0 is a CPU build", "cpu")
    found = diagnose_machine(machine(host, envs=(env,)))
    bad = next(f for f in found if f.id == "env-torch")
    assert bad.severity == "error"
    # 535 runs 12.x (525.60.13), not 13.x (580): torch 2.13.0 cu126 (pytorch.org)
    assert "torch 2.13.0+cu126" in bad.fixes[0]


def test_configured_official_hosts_and_failed_mirrors_are_named() -> None:
    ranking = Ranking(
        order={"pypi": ("tuna",)}, failed={"conda": {"ustc": "HTTP 403 from the mirror"}}
    )
    sources = (
        Source("pip", "https://pypi.org/simple", "pip's default"),
        Source("conda", "https://mirrors.ustc.edu.cn/anaconda/pkgs/main", "condarc"),
        Source("conda", "https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main", "condarc"),
        Source("conda", "defaults", "condarc"),
    )
    found = {f.id: f for f in diagnose_machine(machine(sources=sources, ranking=ranking))}
    assert "mirror tuna, the fastest for pypi" in found["pip-official"].fixes[0]
    assert "ustc, which failed the bench: HTTP 403" in found["conda-mirror-failed"].title
    assert found["conda-official"].data["value"] == "defaults"


def test_winerror_126_in_english_names_the_fix_as_written() -> None:
    text = (
        "OSError: [WinError 126] The specified module could not be found. Error loading "
        '"C:\\Users\\Noor\\anaconda3\\envs\\DL\\Lib\\site-packages\\torch\\lib\\'
        'fbgemm.dll" or one of its dependencies.'
    )
    [found] = diagnose_text(text, machine(), PATTERNS)
    assert found.id == "torch-dll-winerror-126"
    assert found.fixes[0].startswith(
        'Install torch 2.4.1 or newer (minstall pip install "torch>=2.4.1"'
    )


ADVERSARIAL = {
    "blank lines": "\n" * 100_000,
    "blank lines, mixed": " \n\t\n" * 50_000,
    "one ReadTimeout line": "ReadTimeout" * 10_000,
    "ReadTimeout lines": ("ReadTimeout" * 300 + "\n") * 2_000,
    "varied long lines": "".join(f"ReadTimeout{'x' * (k % 7)}" * 200 + "\n" for k in range(3_000)),
    "a long URL": "https://pypi.org/" + "a:" * 50_000 + "@x",
    "y lines": "y\n" * 4_000_000,
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_text_is_read_in_bounded_time(name) -> None:
    """Issue 21: 100 KB of blank lines, or a 100 KB line of ReadTimeout, ran doctor past 65 s
    (patterns like ``A.*B`` take time in the square of a line's length). Bounded input keeps
    every one well under a second; 2 s here leaves room for a loaded CI machine."""
    import time

    started = time.perf_counter()
    diagnose_text(ADVERSARIAL[name], machine(), PATTERNS)
    assert time.perf_counter() - started < 2.0


def test_the_window_keeps_an_error_at_the_end_of_a_long_log() -> None:
    from mirrorinstall.doctor.diagnose import scan_window

    log = "noise line\n" * 100_000 + "RuntimeError: CUDA error: no kernel image is available\n"
    window = scan_window(log)
    assert window.endswith("no kernel image is available") and len(window) < 200_001
    assert scan_window("x" * 1000).startswith("x" * 200 + " ... ")


def _amd(arch: str) -> Accelerators:
    return Accelerators((Device("amd", "AMD Radeon", arch),), machine="x86_64", how="test")


def test_hip_no_binary_names_the_rocm_build_with_code_for_the_card() -> None:
    # gfx1100 (RX 7900 XTX) is in the ROCm builds' target list from torch 2.1 on (ROCm docs,
    # PyTorch's rocm builds); the newest release in the table has a ROCm build for it
    found = diagnose_text(CLASSICS["rocm-no-binary"], machine(accel=_amd("gfx1100")), PATTERNS)
    assert found[0].id == "rocm-no-binary"
    assert "+rocm" in found[0].fixes[0] and "gfx1100" in found[0].fixes[0], found[0].fixes
    assert "gfx1100" in found[0].cause  # the machine line names the card


def test_hip_no_binary_on_an_rdna2_card_outside_the_list_names_the_override() -> None:
    # RX 6600 = gfx1032: no wheel lists it; HSA_OVERRIDE_GFX_VERSION=10.3.0 runs gfx1030's
    # code (ROCm/legacy-rocm-build#2061), unsupported by AMD
    found = diagnose_text(CLASSICS["rocm-no-binary"], machine(accel=_amd("gfx1032")), PATTERNS)
    fix = found[0].fixes[0]
    assert "only the CPU build runs" in fix and "HSA_OVERRIDE_GFX_VERSION=10.3.0" in fix, fix


def test_torch_xpu_on_older_graphics_names_the_build_for_this_machine() -> None:
    # the machine of the warning: a UHD 770 (12.2.0, Alder Lake-S in SYCL's architecture list)
    # alone: the CPU build; beside an Arc A770 (12.55.8): the XPU build, and the device to use
    uhd = Device("intel", "Intel(R) UHD Graphics 770", "12.2.0")
    alone = Accelerators((uhd,), machine="x86_64", how="test")
    found = diagnose_text(CLASSICS["xpu-older-gpu"], machine(accel=alone), PATTERNS)[0]
    assert found.id == "xpu-older-gpu"
    assert "only the CPU build runs" in found.fixes[0], found.fixes
    arc = Device("intel", "Intel(R) Arc(TM) A770 Graphics", "12.55.8")
    both = Accelerators((arc, uhd), machine="x86_64", how="test")
    fix = diagnose_text(CLASSICS["xpu-older-gpu"], machine(accel=both), PATTERNS)[0].fixes[0]
    assert "+xpu" in fix and "ONEAPI_DEVICE_SELECTOR" in fix, fix


@pytest.mark.parametrize(
    ("driver", "os", "wanted"),
    [
        ("550.54.14", "linux", 'minstall pip install "jax[cuda12]"'),  # 13 needs 580
        ("580.65.06", "linux", 'minstall pip install "jax[cuda13]"'),
        ("560.94", "windows", "for linux only"),  # JAX's CUDA wheels: Linux (its install page)
        ("470.82.01", "linux", "Upgrade the NVIDIA driver to >= 525.60.13"),  # no cuda11 build
    ],
)
def test_jax_on_the_cpu_gets_the_extra_this_driver_runs(driver: str, os: str, wanted: str):
    host = HostCuda(driver=driver, how="nvidia-smi")
    found = diagnose_text(CLASSICS["jax-cpu-jaxlib"], machine(host, os), PATTERNS)[0]
    assert found.id == "jax-cpu-jaxlib"
    assert any(wanted in fix for fix in found.fixes), found.fixes


def test_onnxruntime_without_cuda_on_a_cuda_11_driver_gets_the_cuda_11_feed() -> None:
    # R470 runs CUDA 11.x only; PyPI's onnxruntime-gpu is CUDA 12 since 1.19, the CUDA 11.8
    # builds are on the onnxruntime-cuda-11 feed (onnxruntime.ai, install page)
    host = HostCuda(driver="470.82.01", how="nvidia-smi")
    found = diagnose_text(CLASSICS["onnxruntime-no-cuda"], machine(host), PATTERNS)[0]
    fixes = " | ".join(found.fixes)
    assert "pip uninstall -y onnxruntime onnxruntime-gpu" in fixes
    assert "_packaging/onnxruntime-cuda-11/pypi/simple/" in fixes, fixes
    on_12 = diagnose_text(
        CLASSICS["onnxruntime-no-cuda"], machine(HostCuda(driver="550.54.14")), PATTERNS
    )[0]
    assert 'minstall pip install "onnxruntime-gpu"  (built for CUDA 12' in " | ".join(on_12.fixes)


def test_a_cuda_11_onnxruntime_missing_its_libraries_is_recognised() -> None:
    text = (  # commaai/openpilot#31708
        "[E:onnxruntime:Default, provider_bridge_ort.cc:1548 TryGetProviderInfo_CUDA] "
        "Failed to load library libonnxruntime_providers_cuda.so with error: libcublasLt.so.11: "
        "cannot open shared object file: No such file or directory"
    )
    found = diagnose_text(text, machine(HostCuda(driver="550.54.14")), PATTERNS)[0]
    assert found.id == "onnxruntime-no-cuda"


def test_cuda_error_no_binary_for_gpu_is_the_no_kernel_image_case() -> None:
    text = "SystemError: CUDA_ERROR_NO_BINARY_FOR_GPU"  # JPaulMora/Pyrit#460
    assert diagnose_text(text, machine(), PATTERNS)[0].id == "no-kernel-image"


def test_a_build_from_pypis_own_wheels_is_named_without_a_tag() -> None:
    # Ascend on aarch64: torch-npu 2.5.1 pairs torch 2.5.1 from PyPI (Ascend/pytorch's
    # compatibility table), whose aarch64 wheel has no build tag: "torch 2.5.1", not "+pypi"
    ascend = Accelerators((Device("ascend", "Ascend 910B3"),), "8.1.RC1", machine="aarch64")
    found = diagnose_text(CLASSICS["rocm-no-binary"], machine(accel=ascend), PATTERNS)
    fix = found[0].fixes[0]
    assert "+pypi" not in fix and "(torch 2." in fix, fix
