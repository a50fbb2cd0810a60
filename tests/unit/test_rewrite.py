"""The command rewriter (pure): every flag form, CUDA pins, files, and token preservation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirrorinstall.argv import parse_command
from mirrorinstall.catalog import build_catalog
from mirrorinstall.cuda import CudaMismatch, HostCuda
from mirrorinstall.cuda_tables import load_tables
from mirrorinstall.errors import UsageError
from mirrorinstall.rewrite import Context, rewrite

ROOT = Path(__file__).resolve().parents[2]
CATALOG = build_catalog([("mirrors.toml", (ROOT / "mirrors.toml").read_text())])
TUNA_CF = "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/conda-forge"
TUNA_PT = "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/pytorch"
TUNA_MAIN = "https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main"
TUNA_R = "https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/r"
ORDER = {
    "conda": ["tuna", "ustc", "sustech"],
    "pypi": ["tuna", "aliyun"],
    "pytorch": ["aliyun", "nju"],
}


def ctx(**kw) -> Context:
    base = {"catalog": CATALOG, "order": ORDER, "tables": load_tables()}
    return Context(**{**base, **kw})


def run(line: list[str], **kw):
    return rewrite(parse_command(line), ctx(**kw))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(["-c", "conda-forge", "numpy"], ["-c", TUNA_CF, "numpy"], id="-c X"),
        pytest.param(
            ["--channel", "conda-forge", "numpy"], ["-c", TUNA_CF, "numpy"], id="--channel X"
        ),
        pytest.param(
            ["--channel=conda-forge", "numpy"], ["-c", TUNA_CF, "numpy"], id="--channel=X"
        ),
        pytest.param(["-cconda-forge", "numpy"], ["-c", TUNA_CF, "numpy"], id="-cX"),
        pytest.param(
            ["numpy", "-c", "https://conda.anaconda.org/conda-forge"],
            ["numpy", "-c", TUNA_CF],
            id="channel URL",
        ),
        pytest.param(["conda-forge::numpy"], [f"{TUNA_CF}::numpy", "-c", TUNA_CF], id="X::pkg"),
        pytest.param(
            ["-c", "defaults", "numpy"], ["-c", TUNA_MAIN, "-c", TUNA_R, "numpy"], id="defaults"
        ),
        pytest.param(
            ["-c", "https://repo.anaconda.com/pkgs/main", "x"],
            ["-c", TUNA_MAIN, "x"],
            id="repo.anaconda.com URL",
        ),
    ],
)
def test_conda_channel_forms(args, expected) -> None:
    plan = run(["conda", "install", *args])
    assert plan.argv == ["conda", "install", *expected, "--override-channels"]


def test_override_channels_not_doubled_and_other_tokens_verbatim() -> None:
    plan = run(
        [
            "mamba",
            "create",
            "-n",
            "ml",
            "--override-channels",
            "-c",
            "conda-forge",
            "python=3.11",
            "--yes",
        ]
    )
    assert plan.argv == [
        "mamba",
        "create",
        "-n",
        "ml",
        "--override-channels",
        "-c",
        TUNA_CF,
        "python=3.11",
        "--yes",
    ]


def test_a_channel_no_mirror_carries_stays_upstream_and_nvidia_goes_to_sustech() -> None:
    plan = run(["conda", "install", "-c", "nvidia", "-c", "some-lab", "cuda-runtime"])
    assert plan.argv[3] == "https://mirrors.sustech.edu.cn/anaconda-extra/cloud/nvidia"
    assert "https://conda.anaconda.org/some-lab" in plan.argv
    assert any("some-lab: no enabled mirror carries it" in n for n in plan.notes)


def test_subdirs_a_mirror_lacks_are_respected() -> None:
    # SJTU has no linux-aarch64 conda-forge: with SJTU ranked first, aarch64 goes elsewhere
    order = {**ORDER, "conda": ["sjtu", "tuna"]}
    x86 = run(["conda", "install", "-c", "conda-forge", "x"], order=order)
    arm = run(["conda", "install", "-c", "conda-forge", "x"], order=order, platform="linux-aarch64")
    assert x86.mirrors["conda:conda-forge"]["mirror"] == "sjtu"
    assert arm.mirrors["conda:conda-forge"]["mirror"] == "tuna"


def test_no_channel_given_makes_defaults_explicit_and_msys2_on_windows() -> None:
    linux = run(["conda", "install", "numpy"])
    assert linux.argv == [
        "conda",
        "install",
        "numpy",
        "-c",
        TUNA_MAIN,
        "-c",
        TUNA_R,
        "--override-channels",
    ]
    win = run(["conda", "install", "numpy"], platform="win-64")
    assert any(a.endswith("/pkgs/msys2") for a in win.argv)


def test_strip_channels() -> None:
    plan = run(["conda", "install", "-c", "pytorch", "pytorch"], strip_channels=True)
    assert plan.argv == ["conda", "install", "pytorch"]


def test_the_seed_command() -> None:
    line = ["conda", "install", "pytorch", "torchvision", "cudatoolkit=10.1", "-c", "pytorch"]
    plan = run(line, host=HostCuda(driver="535.104.05", how="MINSTALL_CUDA_DRIVER"))
    assert plan.argv == [
        "conda",
        "install",
        "pytorch",
        "torchvision",
        "cudatoolkit=10.1",
        "-c",
        TUNA_PT,
        "--override-channels",
    ]
    assert any("publishes nothing after PyTorch 2.5" in n for n in plan.notes)
    old = HostCuda(driver="410.48", how="MINSTALL_CUDA_DRIVER")
    with pytest.raises(CudaMismatch) as info:
        run(line, host=old)
    assert "cudatoolkit=10.1 needs NVIDIA driver >= 418.39" in info.value.message
    fixed = run(line, host=old, cuda_mode="auto")
    assert "cudatoolkit=9.2" in fixed.argv and "pytorch=1.7.1" in fixed.argv
    assert fixed.cuda["replaced"] == "cudatoolkit=10.1"


def test_conda_auto_adds_pytorch_cuda() -> None:
    plan = run(
        ["conda", "install", "pytorch=2.5.1", "-c", "pytorch", "-c", "nvidia"],
        host=HostCuda(driver="535.104.05"),
        cuda_mode="auto",
    )
    assert plan.argv[-1] == "pytorch-cuda=12.4"


def test_a_pytorch_the_frozen_channel_lacks_goes_to_conda_forge() -> None:
    plan = run(
        ["conda", "install", "pytorch=2.6", "pytorch-cuda=12.4", "-c", "pytorch", "-c", "nvidia"]
    )
    assert plan.argv[2:4] == ["pytorch=2.6", "cuda-version=12.4"]
    assert TUNA_CF in plan.argv and TUNA_PT not in plan.argv
    assert any("stops at PyTorch 2.5" in n for n in plan.notes)
    old = run(["conda", "install", "pytorch=2.5.1", "-c", "pytorch"])
    assert TUNA_PT in old.argv  # the channel has 2.5.1
    assert TUNA_PT in run(["conda", "install", "pytorch>=2.5.1", "-c", "pytorch"]).argv
    both = run(["conda", "install", "pytorch>=2.6", "-c", "pytorch", "-c", "conda-forge"])
    assert both.argv.count("-c") == 1 and TUNA_CF in both.argv


def test_spec_file_channel_prefixes_are_rewritten_in_a_copy() -> None:
    specs = "# ml\nconda-forge::numpy\nscipy\n"
    plan = run(
        ["conda", "install", "--file", "specs.txt"],
        files={"specs.txt": specs},
        copy_path=lambda p: "/c/" + p,
    )
    assert plan.argv[2:4] == ["--file", "/c/specs.txt"]
    assert plan.writes["/c/specs.txt"] == f"# ml\n{TUNA_CF}::numpy\nscipy\n"
    assert plan.argv[4:6] == ["-c", TUNA_CF]


def test_env_yml_is_rewritten_in_a_copy(tmp_path: Path) -> None:
    env_yml = "name: ml\nchannels:\n  - pytorch\n  - conda-forge\ndependencies:\n  - pytorch\n"
    plan = run(
        ["conda", "env", "create", "-f", "environment.yml"],
        files={"environment.yml": env_yml},
        copy_path=lambda p: f"/tmp/copy-{p}",
    )
    assert plan.argv == ["conda", "env", "create", "-f", "/tmp/copy-environment.yml"]
    assert plan.writes["/tmp/copy-environment.yml"] == env_yml.replace(
        "  - pytorch\n  - conda-forge", f"  - {TUNA_PT}\n  - {TUNA_CF}", 1
    )


# ------------------------------------------------------------------ pip and uv

TUNA_PYPI = "https://pypi.tuna.tsinghua.edu.cn/simple"
ALIYUN_TORCH = "https://mirrors.aliyun.com/pytorch-wheels"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(
            ["pip", "install", "six"],
            ["pip", "install", "six", "--index-url", TUNA_PYPI],
            id="no index",
        ),
        pytest.param(
            ["pip3", "install", "-i", "https://pypi.org/simple", "six"],
            ["pip3", "install", "-i", TUNA_PYPI, "six"],
            id="-i",
        ),
        pytest.param(
            ["pip", "install", "--index-url=https://pypi.org/simple/", "six"],
            ["pip", "install", f"--index-url={TUNA_PYPI}", "six"],
            id="--index-url=",
        ),
        pytest.param(
            ["python", "-m", "pip", "install", "-ihttps://pypi.org/simple", "six"],
            ["python", "-m", "pip", "install", f"-i{TUNA_PYPI}", "six"],
            id="-iURL",
        ),
        pytest.param(
            ["uv", "pip", "install", "six"],
            ["uv", "pip", "install", "six", "--default-index", TUNA_PYPI],
            id="uv",
        ),
        pytest.param(
            ["pip", "install", "six", "--index-url", "https://my.corp/simple"],
            ["pip", "install", "six", "--index-url", "https://my.corp/simple"],
            id="private index kept",
        ),
        pytest.param(
            ["pip", "install", "--no-index", "-f", "./wheels", "six"],
            ["pip", "install", "--no-index", "-f", "./wheels", "six"],
            id="--no-index",
        ),
    ],
)
def test_pip_index_forms(line, expected) -> None:
    assert run(line).argv == expected


def test_pytorch_index_goes_to_the_mirror_in_its_layout() -> None:
    line = ["pip", "install", "torch", "--index-url", "https://download.pytorch.org/whl/cu121"]
    flat = run(line)
    assert flat.argv == [
        "pip",
        "install",
        "torch",
        "--index-url",
        TUNA_PYPI,
        "--find-links",
        f"{ALIYUN_TORCH}/cu121/",
    ]
    index = run(line, order={**ORDER, "pytorch": ["nju"]})
    assert index.argv[-4:] == [
        "--index-url",
        TUNA_PYPI,
        "--extra-index-url",
        "https://mirror.nju.edu.cn/pytorch/whl/cu121",
    ]
    sjtu = run(
        ["pip", "install", "torch", "-f", "https://download.pytorch.org/whl/torch_stable.html"],
        order={**ORDER, "pytorch": ["sjtu"]},
    )
    assert "https://mirror.sjtu.edu.cn/pytorch-wheels/torch_stable.html" in sjtu.argv


def test_env_index_and_requirements_file(tmp_path: Path) -> None:
    plan = run(["pip", "install", "six"], environ={"PIP_INDEX_URL": "https://pypi.org/simple"})
    assert plan.argv == ["pip", "install", "six"] and plan.env == {"PIP_INDEX_URL": TUNA_PYPI}
    reqs = "--extra-index-url https://download.pytorch.org/whl/cu118\ntorch==2.5.1\n"
    req = run(
        ["pip", "install", "-r", "req.txt"], files={"req.txt": reqs}, copy_path=lambda p: "/c/" + p
    )
    assert req.argv[:4] == ["pip", "install", "-r", "/c/req.txt"]
    assert req.writes["/c/req.txt"] == f"--find-links {ALIYUN_TORCH}/cu118/\ntorch==2.5.1\n"


def test_pip_cuda_auto_and_names_across_worlds() -> None:
    host = HostCuda(driver="535.104.05", how="MINSTALL_CUDA_DRIVER")
    plan = run(["pip", "install", "pytorch", "torchvision"], host=host, cuda_mode="auto")
    assert plan.argv[2:4] == ["torch==2.13.0+cu126", "torchvision==0.28.0+cu126"]
    assert plan.argv[-2:] == ["--find-links", f"{ALIYUN_TORCH}/cu126/"]
    assert plan.cuda["variant"] == "cu126" and plan.cuda["how"] == "MINSTALL_CUDA_DRIVER"
    tf = run(["pip", "install", "tensorflow-gpu"])
    assert tf.argv[2] == "tensorflow[and-cuda]"
    win = run(["pip", "install", "tensorflow-gpu"], platform="win-64")
    assert win.argv[2] == "tensorflow<2.11" and "cudatoolkit=11.2 cudnn=8.1" in win.notes[-1]


def test_pip_variant_the_driver_cannot_run() -> None:
    line = [
        "pip",
        "install",
        "torch==2.5.1",
        "--extra-index-url",
        "https://download.pytorch.org/whl/cu124",
    ]
    host = HostCuda(driver="470.82.01")
    with pytest.raises(CudaMismatch):
        run(line, host=host)
    fixed = run(line, host=host, cuda_mode="auto")
    assert f"{ALIYUN_TORCH}/cu118/" in fixed.argv and "cu124" not in " ".join(fixed.argv)
    assert "torch==2.5.1+cu118" in fixed.argv
    newest = run(["pip", "install", "torch"], host=host, cuda_mode="auto")
    assert "torch==2.13.0+cpu" in newest.argv
    assert "CUDA: torch 2.7.1 has a build this machine runs (cu118)" in newest.notes


def test_unknown_commands_are_usage_errors() -> None:
    for line in (["conda", "remove", "x"], ["pip", "download", "x"], ["npm", "install"], []):
        with pytest.raises(UsageError):
            parse_command(line)


# ------------------------------------------------------------------ property tests

_TOKENS = st.one_of(
    st.sampled_from(
        [
            "numpy",
            "scipy=1.11",
            "python>=3.10",
            "--yes",
            "-q",
            "--dry-run",
            "-v",
            "--json",
            "--no-deps",
            "six==1.16.0",
            "x;python_version<'3.12'",
        ]
    ),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="-:"),
        min_size=1,
        max_size=12,
    ),
)
_REWRITTEN = st.sampled_from([["-c", "conda-forge"], ["--channel=pytorch"], ["-cdefaults"]])


def _name(token: str) -> str:
    return re.split(r"[^A-Za-z0-9_.\-]", token, maxsplit=1)[0].lower()


def _kept(argv: list[str], original: list[str]) -> bool:
    """``original`` appears in ``argv`` as a subsequence (nothing dropped, altered or reordered)."""
    it = iter(argv)
    return all(any(tok == out for out in it) for tok in original)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(_TOKENS, max_size=8), st.lists(_REWRITTEN, max_size=3), st.randoms())
def test_conda_rewrite_keeps_every_other_token(tokens, channels, rnd) -> None:
    args = list(tokens)
    for opt in channels:
        at = rnd.randint(0, len(args))
        args[at:at] = opt
    plan = run(["conda", "install", *args])
    assert plan.argv[:2] == ["conda", "install"]
    assert _kept(plan.argv[2:], [t for t in tokens])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(_TOKENS, max_size=8))
def test_pip_rewrite_keeps_every_other_token(tokens) -> None:
    plan = run(["uv", "pip", "install", *tokens])
    renamed = ("pytorch", "tensorflow-gpu")  # rewritten on purpose, with a note each
    assert _kept(plan.argv[3:], [t for t in tokens if _name(t) not in renamed])


def test_tensorflow_against_the_driver() -> None:
    old = HostCuda(driver="470.82.01", how="MINSTALL_CUDA_DRIVER")
    keep = run(["pip", "install", "tensorflow[and-cuda]"], host=old)
    assert keep.argv[2] == "tensorflow[and-cuda]" and keep.cuda["tensorflow"]["version"] == "2.14.0"
    auto = run(["pip", "install", "tensorflow[and-cuda]"], host=old, cuda_mode="auto")
    assert auto.argv[2] == "tensorflow[and-cuda]==2.14.0"
    with pytest.raises(CudaMismatch):
        run(["pip", "install", "tensorflow==2.18.0"], host=old)
