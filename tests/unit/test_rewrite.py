"""The command rewriter (pure): every flag form, CUDA pins, files, and token preservation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirrorinstall.context.facts import Facts, Ranking
from mirrorinstall.core.argv import parse_command
from mirrorinstall.core.catalog import build_catalog
from mirrorinstall.core.errors import UsageError
from mirrorinstall.cuda.choose import CudaMismatch, HostCuda
from mirrorinstall.cuda.packaged import load_tables
from mirrorinstall.rewrite import Context, rewrite

ROOT = Path(__file__).resolve().parents[2]
CATALOG = build_catalog([("mirrors.toml", (ROOT / "mirrors.toml").read_text())])
TUNA_CF = "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/conda-forge"
TUNA_PT = "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/pytorch"
TUNA_MAIN = "https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main"
TUNA_R = "https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/r"
TUNA_PYPI = "https://pypi.tuna.tsinghua.edu.cn/simple"
ORDER = {
    "conda": ["tuna", "ustc", "sustech"],
    "pypi": ["tuna", "aliyun"],
    "pytorch": ["aliyun", "nju"],
}


def ctx(
    order=ORDER,
    cuda_mode: str = "keep",
    strip_channels: bool = False,
    copy_path=None,
    **facts,
) -> Context:
    """A context as ``gather`` would make it; a normal user's condarc (channels: [defaults])
    unless ``conda_channels`` says otherwise."""
    files = facts.get("files", {})
    copies = {p: copy_path(p) for p in files} if copy_path else {}
    ranking = Ranking(order={k: tuple(v) for k, v in order.items()})
    base = {"catalog": CATALOG, "ranking": ranking, "tables": load_tables(), "copies": copies}
    return Context(Facts(**{**base, **facts}), cuda_mode, strip_channels)


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
    plan = run(["conda", "install", *args], conda_channels=())  # a condarc with no channels
    assert plan.argv == ["conda", "install", *expected, "--override-channels"]


def test_the_channels_conda_adds_by_itself_are_listed_after_the_commands_own() -> None:
    """conda searches -c channels first, then the .condarc ones (conda's docs, "Managing
    channels"); with --override-channels the rewrite must list both, in that order."""
    plan = run(
        ["conda", "install", "-c", "pytorch", "x"], conda_channels=("conda-forge", "defaults")
    )
    assert plan.argv == [
        "conda",
        "install",
        "-c",
        TUNA_PT,
        "-c",
        TUNA_CF,
        "-c",
        TUNA_MAIN,
        "-c",
        TUNA_R,
        "x",
        "--override-channels",
    ]
    assert any("conda adds conda-forge, defaults by itself" in n for n in plan.notes)
    told = run(["conda", "install", "--override-channels", "-c", "pytorch", "x"])
    assert told.argv == ["conda", "install", "--override-channels", "-c", TUNA_PT, "x"]


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
    plan = run(
        ["conda", "install", "-c", "nvidia", "-c", "some-lab", "cuda-runtime"], conda_channels=()
    )
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
    # cudatoolkit comes from defaults (main), which conda adds by itself: kept, via the mirror;
    # pytorch held to the channel's CUDA builds (their build strings read py3.8_cuda10.1_...)
    assert plan.argv == [
        "conda",
        "install",
        "pytorch=*=*cuda*",
        "torchvision",
        "cudatoolkit=10.1",
        "-c",
        TUNA_PT,
        "-c",
        TUNA_MAIN,
        "-c",
        TUNA_R,
        "--override-channels",
    ]
    assert any("publishes nothing after PyTorch 2.5" in n for n in plan.notes)
    old = HostCuda(driver="410.48", how="MINSTALL_CUDA_DRIVER")
    with pytest.raises(CudaMismatch) as info:
        run(line, host=old)
    assert "cudatoolkit=10.1 needs NVIDIA driver >= 418.39" in info.value.message
    fixed = run(line, host=old, cuda_mode="auto")
    assert "cudatoolkit=9.2" in fixed.argv and "pytorch=1.7.1[build=*cuda*]" in fixed.argv
    assert fixed.cuda["replaced"] == "cudatoolkit=10.1"


def test_conda_auto_adds_pytorch_cuda() -> None:
    plan = run(
        ["conda", "install", "pytorch=2.5.1", "-c", "pytorch", "-c", "nvidia"],
        host=HostCuda(driver="535.104.05"),
        cuda_mode="auto",
    )
    # right after the user's specs: conda's argparse takes one run of positionals; pytorch
    # held to the channel's CUDA builds
    assert plan.argv == [
        "conda",
        "install",
        "pytorch=2.5.1[build=*cuda*]",
        "pytorch-cuda=12.4",
        "-c",
        TUNA_PT,
        "-c",
        "https://mirrors.sustech.edu.cn/anaconda-extra/cloud/nvidia",
        "-c",
        TUNA_MAIN,
        "-c",
        TUNA_R,
        "--override-channels",
    ]


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
    assert both.argv.count(TUNA_CF) == 1 and TUNA_PT not in both.argv


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
    # conda env create has no --override-channels and adds the condarc's channels itself
    # (conda 26: before the file's); conda's own variables send them to the mirror
    assert plan.env == {"CONDA_DEFAULT_CHANNELS": f"{TUNA_MAIN},{TUNA_R}"}


def test_env_yml_condarc_channels_and_pip_sections_go_through_mirrors() -> None:
    env_yml = "name: x  # no channels\ndependencies:\n  - conda-forge::numpy\n  - pip:\n    - six\n"
    plan = run(
        ["conda", "env", "create", "--file=env.yml"],
        files={"env.yml": env_yml},
        copy_path=lambda p: f"/c/{p}",
        conda_channels=("conda-forge", "bioconda", "defaults"),
    )
    assert plan.argv == ["conda", "env", "create", "--file=/c/env.yml"]
    assert plan.writes["/c/env.yml"] == env_yml.replace("conda-forge::", f"{TUNA_CF}::")
    assert plan.env == {
        "CONDA_DEFAULT_CHANNELS": f"{TUNA_MAIN},{TUNA_R}",
        # TUNA serves both as <prefix>/<name> (mirrors.toml: tuna)
        "CONDA_CHANNEL_ALIAS": "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud",
        "PIP_INDEX_URL": TUNA_PYPI,
    }
    mine = run(
        ["conda", "env", "create", "-f", "env.yml"],
        files={"env.yml": env_yml},
        copy_path=lambda p: f"/c/{p}",
        environ={"CONDA_CHANNEL_ALIAS": "https://example.org/conda"},
        conda_channels=("conda-forge",),
    )
    assert "CONDA_CHANNEL_ALIAS" not in mine.env  # what the user set wins


# ------------------------------------------------------------------ pip and uv

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


NJU_TORCH = "https://mirror.nju.edu.cn/pytorch/whl"
CU121 = "https://download.pytorch.org/whl/cu121"


def _listing(*names: str):
    return lambda mirror_id, variant: tuple(names)


LISTING = _listing(
    "torch-2.4.1+cu121-cp311-cp311-linux_x86_64.whl",
    "torch-2.5.1+cu121-cp311-cp311-linux_x86_64.whl",
    "torch-2.5.1+cu121-cp311-cp311-win_amd64.whl",
    "torch-2.5.1+cu121-cp312-cp312-linux_x86_64.whl",
    "torchvision-0.19.1+cu121-cp311-cp311-linux_x86_64.whl",
    "torchvision-0.20.1+cu121-cp311-cp311-linux_x86_64.whl",
    "torchaudio-2.4.1+cu121-cp311-cp311-linux_x86_64.whl",
    "torchaudio-2.5.1+cu121-cp311-cp311-linux_x86_64.whl",
)


def test_a_variant_index_keeps_its_role_on_a_copy_in_the_index_layout() -> None:
    """pip takes the newest version across all its indexes: the rewrite must not add PyPI
    beside a variant index that was the only one (that gave PyPI's newest torch)."""
    nju = {**ORDER, "pytorch": ["nju"]}
    only = run(["pip", "install", "torch", "--index-url", CU121], order=nju)
    assert only.argv == ["pip", "install", "torch", "--index-url", f"{NJU_TORCH}/cu121"]
    short = run(["pip", "install", "torch", "-i", CU121], order=nju)
    assert short.argv == ["pip", "install", "torch", "-i", f"{NJU_TORCH}/cu121"]
    extra = run(["pip", "install", "torch", "--extra-index-url", CU121], order=nju)
    assert extra.argv == [
        "pip",
        "install",
        "torch",
        "--extra-index-url",
        f"{NJU_TORCH}/cu121",
        "--index-url",
        TUNA_PYPI,
    ]


def test_a_flat_copy_of_the_only_index_pins_what_that_index_would_give() -> None:
    line = ["pip", "install", "torch", "torchvision", "torchaudio", "--index-url", CU121]
    plan = run(line, wheels=LISTING, python="3.11")
    # newest cu121 torch for cp311 linux in the listing is 2.5.1; its torchvision is 0.20.1
    # and its torchaudio 2.5.1 (pytorch.org/get-started/previous-versions)
    assert plan.argv == [
        "pip",
        "install",
        "torch==2.5.1+cu121",
        "torchvision==0.20.1+cu121",
        "torchaudio==2.5.1+cu121",
        "--index-url",
        TUNA_PYPI,
        "--find-links",
        f"{ALIYUN_TORCH}/cu121/",
    ]
    ranged = run(
        ["pip", "install", "torch<2.5", "torchvision", "-i", CU121], wheels=LISTING, python="3.11"
    )
    assert ranged.argv[2:4] == ["torch==2.4.1+cu121", "torchvision==0.19.1+cu121"]
    alone = run(["pip", "install", "torchvision", "-i", CU121], wheels=LISTING, python="3.11")
    assert alone.argv[2] == "torchvision==0.20.1+cu121"
    uv = run(
        ["uv", "pip", "install", "torch", "--extra-index-url", CU121],
        wheels=LISTING,
        python="3.11",
    )
    # uv takes a package from the first index that has it, extra indexes first: exclusive too
    assert uv.argv[3] == "torch==2.5.1+cu121" and f"{ALIYUN_TORCH}/cu121/" in uv.argv
    pip_extra = run(["pip", "install", "torch", "--extra-index-url", CU121], wheels=LISTING)
    assert pip_extra.argv[2] == "torch"  # pip merged both before: newest across both stays
    # no driver: the index's variant and the pin read from the listing are one build, one note
    bare = run(line, wheels=LISTING, python="3.11", host=HostCuda(how="no NVIDIA driver"))
    notes = [n for n in bare.notes if n.startswith("CUDA: the cu121 build will not run here")]
    assert len(notes) == 1, bare.notes


def test_no_exact_pin_means_the_next_mirror_or_the_official_host() -> None:
    line = ["pip", "install", "torch==2.6.0", "--index-url", CU121]
    next_mirror = run(line, wheels=LISTING, python="3.11")
    assert next_mirror.argv == [
        "pip",
        "install",
        "torch==2.6.0",
        "--index-url",
        f"{NJU_TORCH}/cu121",
    ]
    kept = run(line, order={**ORDER, "pytorch": ["aliyun"]}, wheels=LISTING, python="3.11")
    assert kept.argv == ["pip", "install", "torch==2.6.0", "--index-url", CU121]
    assert any("left on the official host" in n and "2.6.0" in n for n in kept.notes)
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
    assert win.argv[2] == "tensorflow<2.11" and "needs CUDA and cuDNN" in win.notes[-1]


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
    # 470 runs CUDA 11.x (MVC floor 450.80.02); torch 2.7.1 is the last release with cu118
    # (pytorch.org previous versions): a step down, never torch 2.13.0+cpu
    assert "torch==2.7.1+cu118" in newest.argv
    assert "CUDA: a driver >= 525.60.13 would run torch 2.13.0 (cu126)" in newest.notes


def test_unknown_commands_are_usage_errors() -> None:
    for line in (["conda", "list"], ["pip", "freeze"], ["npm", "install"], []):
        with pytest.raises(UsageError):
            parse_command(line)
    for sub in ("add", "sync", "lock"):  # uv's project commands: named, with the reason
        with pytest.raises(UsageError) as info:
            parse_command(["uv", sub, "torch"])
        assert f"'uv {sub}'" in info.value.message and "uv.lock" in info.value.message


@pytest.mark.parametrize(
    "line",
    [
        ["pip", "download", "six", "-d", "wheels"],
        ["pip", "wheel", "six", "-w", "wheels"],
        ["python", "-m", "pip", "download", "six"],
    ],
)
def test_pip_download_and_wheel_go_through_the_mirror(line) -> None:
    plan = run(line)
    assert plan.argv[: len(line)] == line and plan.argv[-2:] == ["--index-url", TUNA_PYPI]


def test_conda_offline_runs_as_typed() -> None:
    line = ["conda", "install", "--offline", "numpy", "-c", "conda-forge"]
    cmd = parse_command(line)
    assert cmd.kinds == []  # nothing to bench
    plan = rewrite(cmd, ctx())
    assert plan.argv == line and "--offline" in plan.notes[0]


def test_conda_remove_gets_the_mirror_channels_and_no_build_choice() -> None:
    """conda remove solves again against the channels: an environment minstall installed
    names the mirror's, so remove needs them too (real conda: tests/cli/test_conda_real.py)."""
    plan = run(
        ["conda", "remove", "pytorch", "-c", "pytorch"],
        host=HostCuda(driver="535.104.05"),
        cuda_mode="auto",
        conda_channels=(),
    )
    assert plan.argv == ["conda", "remove", "pytorch", "-c", TUNA_PT, "--override-channels"]


def test_conda_env_update_is_rewritten_like_env_create() -> None:
    text = "channels:\n  - conda-forge\ndependencies:\n  - numpy\n"
    plan = run(
        ["conda", "env", "update", "-f", "env.yml", "--prune"],
        files={"env.yml": text},
        copy_path=lambda p: "/c/" + p,
    )
    assert plan.argv == ["conda", "env", "update", "-f", "/c/env.yml", "--prune"]
    assert TUNA_CF in plan.writes["/c/env.yml"]


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
    assert auto.argv[2] == "tensorflow[and-cuda]==2.14.*"
    with pytest.raises(CudaMismatch):
        run(["pip", "install", "tensorflow==2.18.0"], host=old)


def test_a_cuda_pin_on_a_host_without_a_driver_gets_a_note_in_both_worlds() -> None:
    none = HostCuda(how="/proc/driver/nvidia/version absent")
    conda = run(["conda", "install", "pytorch", "cudatoolkit=10.1", "-c", "pytorch"], host=none)
    assert any(
        n.startswith("CUDA: cudatoolkit=10.1 will not run here: no NVIDIA driver found")
        for n in conda.notes
    ), conda.notes
    assert conda.cuda["driver"] is None
    pip = run(["pip", "install", "torch"], host=none, cuda_mode="auto")
    assert any("no NVIDIA driver found" in n for n in pip.notes), pip.notes


def test_a_channel_prefixed_pin_replaced_by_cuda_auto_still_points_at_the_mirror() -> None:
    old = HostCuda(driver="410.48", how="MINSTALL_CUDA_DRIVER")
    plan = run(
        ["conda", "install", "pytorch::pytorch", "cudatoolkit=10.1", "-c", "pytorch"],
        host=old,
        cuda_mode="auto",
        conda_channels=(),
    )
    # 410.48 runs CUDA 10.0 at most (NVIDIA: 10.0 needs >= 410.48, 10.1 >= 418.39); pytorch
    # 1.7.1 was built for cudatoolkit 9.2/10.1/10.2/11.0 (pytorch.org previous versions): 9.2
    assert plan.argv[2:4] == [f"{TUNA_PT}::pytorch=1.7.1[build=*cuda*]", "cudatoolkit=9.2"]


def test_defaults_in_an_environment_file_goes_to_the_mirror_as_the_notes_say() -> None:
    """Before: `- defaults` stayed (repo.anaconda.com) while the notes said main and r went to
    the mirror (issue 19). It becomes one line per channel it stands for, where it stood."""
    env_yml = (
        "name: ml\nchannels:\n  - conda-forge\n  - defaults  # last\ndependencies:\n  - numpy\n"
    )
    plan = run(
        ["conda", "env", "create", "-f", "environment.yml"],
        files={"environment.yml": env_yml},
        copy_path=lambda p: f"/tmp/copy-{p}",
        conda_channels=(),
    )
    assert plan.writes["/tmp/copy-environment.yml"] == (
        "name: ml\nchannels:\n"
        f"  - {TUNA_CF}\n  - {TUNA_MAIN}  # last\n  - {TUNA_R}\n"
        "dependencies:\n  - numpy\n"
    )
    assert f"channel main -> {TUNA_MAIN} (mirror tuna, rank 1 of 3 for conda)" in plan.notes
