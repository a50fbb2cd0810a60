"""Issue 9's rules, case by case: a GPU owner never silently gets a CPU build (pure rewrite).

Every expected answer is written by hand from the source named beside it, never computed
from minstall's tables: NV = NVIDIA's driver floors (cuda-facts.md 1a/1b: CUDA 11.x needs
Linux 450.80.02 / Windows 452.39, 12.x 525.60.13 / 528.33, 13.x 580; 11.0 450.36.06 / 451.22;
10.1 418.39 / 418.96; 10.0 410.48 / 411.31; 9.2 396.26 / 397.44; 9.0 384.81 / 385.54),
PT = pytorch.org's previous versions (variants per release, 3a), ARCH = the architecture rows
of 3c, TF = tensorflow.org's tested configurations (5a Linux, 5b Windows), TFPKG = 5c
(and-cuda from 2.14, tensorflow-gpu empty from 2.12, GPU in tensorflow from 2.1),
ANACONDA = Anaconda's TensorFlow page (defaults' GPU TensorFlow ends at 2.4.1), CF = 4
(conda-forge's CUDA builds need __cuda; force one with "pytorch=*=cuda*").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mirrorinstall.context.facts import Facts, Ranking
from mirrorinstall.core.argv import parse_command
from mirrorinstall.core.catalog import build_catalog
from mirrorinstall.cuda.choose import CudaMismatch, Gpu, HostCuda
from mirrorinstall.cuda.packaged import load_tables
from mirrorinstall.rewrite import Context, rewrite

ROOT = Path(__file__).resolve().parents[2]
CATALOG = build_catalog([("mirrors.toml", (ROOT / "mirrors.toml").read_text())])
ORDER = {"conda": ["tuna"], "pypi": ["tuna"], "pytorch": ["aliyun"]}
TUNA = "https://mirrors.tuna.tsinghua.edu.cn/anaconda"


def plan_for(line: str, host: HostCuda | None, *, mode="auto", platform="linux-64", **facts):
    ranking = Ranking(order={k: tuple(v) for k, v in ORDER.items()})
    base = {"conda_channels": ()}  # a condarc with no channels, unless a case says otherwise
    ctx = Context(
        Facts(
            catalog=CATALOG,
            ranking=ranking,
            tables=load_tables(),
            host=host,
            platform=platform,
            **{**base, **facts},
        ),
        mode,
    )
    return rewrite(parse_command(line.split()), ctx)


def specs(plan) -> list[str]:
    """The requirement/spec tokens of a plan's argv (no options, no URLs)."""
    out, skip = [], False
    for token in plan.argv[2:]:
        if skip:
            skip = False
            continue
        if token.startswith("-"):
            skip = token in ("-c", "--index-url", "--extra-index-url", "--find-links", "--prefix")
            continue
        out.append(token)
    return out


def linux(driver: str, *ccs: str) -> HostCuda:
    return HostCuda(driver=driver, gpus=tuple(Gpu(f"sm {c}", c) for c in ccs), how="test")


# ------------------------------------------------------------------ PyTorch, pip


@pytest.mark.parametrize(
    ("line", "host", "platform", "facts", "expected"),
    [
        pytest.param(
            # 13.x needs 580 (NV); 2.12/2.13 offer cu126 (no Blackwell, ARCH) and cu130/cu132;
            # 2.11 has cu128 (PT), which has sm 12.0 kernels (ARCH: 2.10/2.11 cu128)
            "pip install torch",
            linux("575.51.03", "12.0"),
            "linux-64",
            {},
            ["torch==2.11.0+cu128"],
            id="RTX 5090 on R575: torch 2.11 cu128, not 2.13 cpu",
        ),
        pytest.param(
            # R470 runs CUDA 11.x (450.80.02); cu118 ends with 2.7 (PT: 2.7.x cu118/126/128)
            "pip install torch torchvision",
            linux("470.82.01"),
            "linux-64",
            {},
            ["torch==2.7.1+cu118", "torchvision==0.22.1+cu118"],
            id="R470 unpinned: step down to 2.7.1 cu118",
        ),
        pytest.param(
            # Windows 11.x floor 452.39, 12.x 528.33 (NV); 2.5 has cu118 (PT)
            "pip install torch>=2.0,<2.6",
            HostCuda(driver="452.39", how="test"),
            "win-64",
            {},
            ["torch==2.5.1+cu118"],
            id="Windows at the 11.x floor, ranged",
        ),
        pytest.param(
            # WSL2: the Windows driver, so 527.41 < 528.33 rules out 12.x (NV)
            "pip install torch==2.5.1",
            HostCuda(driver="527.41", how="test"),
            "linux-64",
            {"windows_driver": True},
            ["torch==2.5.1+cu118"],
            id="WSL2 527.41: Windows thresholds, cu118",
        ),
        pytest.param(
            # the same number on Linux is past 525.60.13: cu124 (PT 2.5: cu118/121/124)
            "pip install torch==2.5.1",
            HostCuda(driver="527.41", how="test"),
            "linux-64",
            {},
            ["torch==2.5.1+cu124"],
            id="Linux 527.41: cu124",
        ),
        pytest.param(
            # Pascal: cu130/cu132 start at Turing (ARCH); cu126 keeps Pascal until 2.15
            "pip install torch",
            linux("580.65.06", "6.1"),
            "linux-64",
            {},
            ["torch==2.13.0+cu126"],
            id="GTX 1080 Ti on R580: cu126",
        ),
        pytest.param(
            # R418: 10.1 needs 418.39, 10.2 440.33 (NV); 1.8.1 is the last with cu101 (PT)
            "pip install torch",
            linux("418.39"),
            "linux-64",
            {},
            ["torch==1.8.1+cu101"],
            id="R418: torch 1.8.1 cu101",
        ),
        pytest.param(
            # Volta: 2.11 cu128 dropped sm 7.0, cu126 keeps it (ARCH, RFC #172352)
            "pip install torch==2.11.0",
            linux("580.65.06", "7.0"),
            "linux-64",
            {},
            ["torch==2.11.0+cu126"],
            id="V100 pinned 2.11: cu126",
        ),
    ],
)
def test_pip_torch_gets_a_build_the_gpu_runs(line, host, platform, facts, expected) -> None:
    plan = plan_for(line, host, platform=platform, **facts)
    assert specs(plan) == expected
    assert "+cpu" not in " ".join(plan.argv)


def test_a_pinned_torch_no_build_of_which_runs_is_an_error_naming_what_runs() -> None:
    # 2.6.0: cu118/cu124/cu126 (PT), none with Blackwell kernels (ARCH)
    with pytest.raises(CudaMismatch) as info:
        plan_for("pip install torch==2.6.0", linux("575.51.03", "12.0"))
    assert "no CUDA build of torch==2.6.0 runs" in info.value.message
    # the nearest newer release with Blackwell kernels: 2.7.0, its cu128 build (ARCH)
    assert "use torch==2.7.0 (cu128)" in info.value.hint.lower()
    assert info.value.instead == ("torch", "torch==2.7.0")
    # 2.5.1 needs 450.80.02 at least (cu118); R418 gets told which driver runs it
    with pytest.raises(CudaMismatch) as old:
        plan_for("pip install torch==2.5.1", linux("418.39"))
    assert "a driver >= 450.80.02 runs torch 2.5.1 (cu118)" in old.value.hint


def test_a_gpu_no_release_serves_gets_the_cpu_build_with_the_reason() -> None:
    # R384 (384.81): the oldest variant in the table, cu92, needs 396.26 (NV)
    plan = plan_for("pip install torch", linux("384.81"))
    assert specs(plan)[0].endswith("+cpu")
    assert any("a driver >= 396.26" in n or "no CUDA build of any torch" in n for n in plan.notes)


def test_no_gpu_keeps_the_cpu_build_and_notes_each_cuda_pin() -> None:
    none = HostCuda(how="no nvidia-smi")
    auto = plan_for("pip install torch", none)
    assert specs(auto) == ["torch==2.13.0+cpu"]
    keep = plan_for(
        "pip install torch==2.5.1+cu121 --extra-index-url https://download.pytorch.org/whl/cu121",
        none,
        mode="keep",
    )
    assert any(n.startswith("CUDA: the cu121 build will not run here") for n in keep.notes)
    failed = plan_for("pip install torch", HostCuda(how="nvidia-smi", error="exit 9"))
    assert specs(failed) == ["torch==2.13.0+cpu"]
    assert "driver detection failed" in failed.cuda["reason"]


def test_cuda_cpu_is_how_a_cpu_build_is_asked_for() -> None:
    plan = plan_for("pip install torch", linux("575.51.03", "12.0"), mode="cpu")
    assert specs(plan) == ["torch==2.13.0+cpu"]


# ------------------------------------------------------------------ PyTorch, conda


def test_conda_forge_pytorch_pins_a_cuda_build_on_a_gpu_host() -> None:
    # CF: conda's __cuda comes from the driver or CONDA_OVERRIDE_CUDA (host.cuda here)
    gpu = HostCuda(cuda="12.4", how="CONDA_OVERRIDE_CUDA")
    plan = plan_for("conda install -c conda-forge pytorch", gpu)
    assert specs(plan) == ["pytorch=*=cuda*"]
    versioned = plan_for("conda install -c conda-forge pytorch=2.6.0 numpy", gpu)
    assert specs(versioned) == ["pytorch=2.6.0[build=cuda*]", "numpy"]
    chosen = plan_for("conda install -c conda-forge pytorch=2.6.0=cpu*", gpu)
    assert specs(chosen) == ["pytorch=2.6.0=cpu*"]  # the user's own build string stays
    cpu = plan_for("conda install -c conda-forge pytorch", gpu, mode="cpu")
    assert specs(cpu) == ["pytorch=*=cpu*"]
    # CONDA_OVERRIDE_CUDA="" means no __cuda: no GPU, so no pin (host detection reads it so)
    empty = plan_for("conda install -c conda-forge pytorch", HostCuda(how="empty override"))
    assert specs(empty) == ["pytorch"]
    keep = plan_for("conda install -c conda-forge pytorch", gpu, mode="keep")
    assert specs(keep) == ["pytorch"]


def test_pytorch_channel_pinned_release_no_cuda_of_which_runs_is_an_error() -> None:
    # 2.5.1 on -c pytorch: pytorch-cuda 11.8/12.1/12.4 (PT); R418 runs none (11.x: 450.80.02)
    with pytest.raises(CudaMismatch) as info:
        plan_for("conda install pytorch=2.5.1 -c pytorch -c nvidia", linux("418.39"))
    assert "no CUDA build of pytorch=2.5.1 on the pytorch channel" in info.value.message
    # unpinned: 1.7.1 has cudatoolkit 10.1 (PT), which 418.39 runs
    plan = plan_for("conda install pytorch -c pytorch", linux("418.39"))
    assert "cudatoolkit=10.1" in specs(plan)


# ------------------------------------------------------------------ TensorFlow, pip


@pytest.mark.parametrize(
    ("line", "host", "platform", "facts", "expected"),
    [
        pytest.param(
            # TF 2.21: CUDA 12.5 (TF), 12.x floor 525.60.13 (NV); and-cuda from 2.14 (TFPKG)
            "pip install tensorflow",
            linux("535.104.05"),
            "linux-64",
            {},
            ["tensorflow[and-cuda]==2.21.*"],
            id="Linux 535 unpinned: and-cuda 2.21",
        ),
        pytest.param(
            # tensorflow-gpu 2.12.0 is the empty package; tensorflow 2.12.0 is the same
            # release with GPU support; no and-cuda extra before 2.14 (TFPKG)
            "pip install tensorflow-gpu==2.12.0",
            linux("535.104.05"),
            "linux-64",
            {},
            ["tensorflow==2.12.0"],
            id="tensorflow-gpu==2.12.0 keeps its pin",
        ),
        pytest.param(
            # R470: 2.15+ need CUDA 12.2+ (525.60.13); 2.14 was tested with 11.8 (TF)
            "pip install tensorflow",
            linux("470.82.01"),
            "linux-64",
            {},
            ["tensorflow[and-cuda]==2.14.*"],
            id="R470 unpinned: and-cuda 2.14",
        ),
        pytest.param(
            # WSL2 527.41 < 528.33 (Windows 12.x floor, NV and TF pip.md): 2.14 (11.8)
            "pip install tensorflow",
            HostCuda(driver="527.41", how="test"),
            "linux-64",
            {"windows_driver": True},
            ["tensorflow[and-cuda]==2.14.*"],
            id="WSL2 527.41: 2.14",
        ),
        pytest.param(
            # TF 1.5-1.12 on CUDA 9 (TF); before 2.1 the GPU build is tensorflow-gpu (TFPKG)
            "pip install tensorflow-gpu==1.12.0",
            linux("390.46"),
            "linux-64",
            {},
            ["tensorflow-gpu==1.12.0"],
            id="tensorflow-gpu 1.12 stays tensorflow-gpu",
        ),
    ],
)
def test_pip_tensorflow_routes(line, host, platform, facts, expected) -> None:
    assert specs(plan_for(line, host, platform=platform, **facts)) == expected


def test_tensorflow_before_and_cuda_says_which_cuda_it_needs() -> None:
    plan = plan_for("pip install tensorflow-gpu==2.12.0", linux("535.104.05"))
    # TF: 2.12 was tested with CUDA 11.8 and cuDNN 8.6
    assert any("needs CUDA 11.8 and cuDNN 8.6" in n for n in plan.notes), plan.notes
    assert plan.before == []


def test_a_tensorflow_range_no_release_of_which_runs_is_an_error() -> None:
    # 2.16+ need CUDA 12.3+ (TF) -> driver 525.60.13 (NV); R470 runs 2.14 at most
    with pytest.raises(CudaMismatch) as info:
        plan_for("pip install tensorflow>=2.16", linux("470.82.01"))
    assert info.value.instead == ("tensorflow", "tensorflow==2.14.*")


def test_native_windows_tensorflow_is_two_steps_conda_then_pip() -> None:
    """TF pip.md's Windows recipe: conda-forge cudatoolkit=11.2 cudnn=8.1, then pip
    tensorflow<2.11 (2.10 is the last native-Windows GPU release; 5b: CUDA 11.2, cuDNN 8.1;
    Windows 11.x floor 452.39)."""
    env = {"CONDA_PREFIX": r"C:\envs\tf"}
    plan = plan_for(
        "pip install tensorflow==2.10.*",
        HostCuda(driver="531.14", how="test"),
        platform="win-64",
        environ=env,
    )
    assert len(plan.before) == 1
    conda = plan.before[0]
    assert conda.argv[:4] == ["conda", "install", "--prefix", r"C:\envs\tf"]
    assert specs(conda) == ["cudatoolkit=11.2", "cudnn=8.1"]
    assert f"{TUNA}/cloud/conda-forge" in conda.argv and "--override-channels" in conda.argv
    assert specs(plan) == ["tensorflow==2.10.*"]
    assert any("need WSL2" in n for n in plan.notes)
    # the seed: a GTX 1060 on Windows driver 388.73 runs CUDA 9.0 (385.54), not 10.0 (411.31);
    # TF 1.12 on Windows: CUDA 9.0, cuDNN 7.2 (5b); before 2.1 the project is tensorflow-gpu
    seed = plan_for(
        "pip install tensorflow-gpu",
        HostCuda(driver="388.73", gpus=(Gpu("GeForce GTX 1060", "6.1"),), how="test"),
        platform="win-64",
        environ=env,
    )
    assert specs(seed.before[0]) == ["cudatoolkit=9.0", "cudnn=7"]
    assert f"{TUNA}/pkgs/main" in seed.before[0].argv
    assert specs(seed) == ["tensorflow-gpu==1.12.*"]
    # 2.11+ on native Windows has no GPU build: an error naming 2.10 and WSL2
    with pytest.raises(CudaMismatch) as info:
        plan_for(
            "pip install tensorflow==2.15.0",
            HostCuda(driver="531.14", how="test"),
            platform="win-64",
            environ=env,
        )
    assert "WSL2" in info.value.hint and info.value.instead == ("tensorflow", "tensorflow==2.10.*")
    # no conda environment to put CUDA into: an error that says how to get one
    with pytest.raises(CudaMismatch) as none:
        plan_for("pip install tensorflow-gpu", HostCuda(driver="531.14"), platform="win-64")
    assert "no conda environment is active" in none.value.message


def test_linux_tensorflow_without_and_cuda_gets_its_cuda_from_conda_in_a_conda_env() -> None:
    # R418: TF 2.3 was tested with CUDA 10.1 and cuDNN 7.6 (TF); defaults carry cudatoolkit 10.1
    plan = plan_for(
        "pip install tensorflow", linux("418.39"), environ={"CONDA_PREFIX": "/opt/envs/tf"}
    )
    assert specs(plan) == ["tensorflow==2.3.*"]
    assert specs(plan.before[0]) == ["cudatoolkit=10.1", "cudnn=7.6"]
    without = plan_for("pip install tensorflow", linux("418.39"))
    assert without.before == [] and any("needs CUDA 10.1 and cuDNN 7.6" in n for n in without.notes)


# ------------------------------------------------------------------ TensorFlow, conda


@pytest.mark.parametrize(
    ("line", "host", "platform", "added"),
    [
        # the seed: Windows 388.73 runs CUDA 9.0 (385.54) but not 10.0 (411.31, NV);
        # TF 1.12 on CUDA 9.0 (5b): the user's own fix, cudatoolkit 9.0
        ("conda install tensorflow-gpu", HostCuda(driver="388.73"), "win-64", "cudatoolkit=9.0"),
        # R418 Linux: 10.1 (418.39); TF 2.3 on 10.1 (5a), within defaults' 2.4.1 (ANACONDA)
        ("conda install tensorflow-gpu", linux("418.39"), "linux-64", "cudatoolkit=10.1"),
        # R460 Linux: 11.0 (450.36.06); TF 2.4 on 11.0 (5a); 2.5+ is past defaults' 2.4.1
        ("conda install tensorflow", linux("460.32.03"), "linux-64", "cudatoolkit=11.0"),
    ],
)
def test_conda_defaults_tensorflow_gets_the_cudatoolkit_the_driver_runs(
    line, host, platform, added
) -> None:
    plan = plan_for(line, host, platform=platform, conda_channels=("defaults",))
    assert added in specs(plan)


def test_conda_tensorflow_elsewhere() -> None:
    gpu = linux("535.104.05")
    forge = plan_for("conda install -c conda-forge tensorflow", gpu)
    assert specs(forge) == ["tensorflow=*=cuda*"]  # CF
    with pytest.raises(CudaMismatch):  # conda-forge has no win-64 CUDA TensorFlow (CF, 6)
        plan_for("conda install -c conda-forge tensorflow", gpu, platform="win-64")
    none = plan_for(
        "conda install tensorflow-gpu", HostCuda(how="no driver"), conda_channels=("defaults",)
    )
    assert any("tensorflow-gpu will run on the CPU here" in n for n in none.notes)
    with pytest.raises(CudaMismatch) as pinned:  # 2.4 needs 11.0 (450.36.06); 418 runs 2.3
        plan_for("conda install tensorflow-gpu=2.4", linux("418.39"), conda_channels=("defaults",))
    assert pinned.value.instead == ("tensorflow-gpu", "tensorflow-gpu=2.3")


def test_tensorflow_tokens_with_nothing_to_choose_stay_verbatim() -> None:
    keep = plan_for("pip install tensorflow>=2.0,<3", linux("535.104.05"), mode="keep")
    assert specs(keep) == ["tensorflow>=2.0,<3"]
    url = "tensorflow@https://example.org/tensorflow-2.15.0-py3-none-any.whl"
    direct = plan_for(f"pip install {url}", linux("535.104.05"))
    assert specs(direct) == [url]
