"""flash-attn's release wheel chosen for the torch beside it (cuda/flashattn.py,
rewrite/flashattn.py), as hand-written cases: a machine and a command in, the command out.

Every expected file name is written by hand from flash-attn's sources, never from the table the
code reads: the build matrix of each release (.github/workflows/publish.yml at its tag: v2.5.8
9a11f44, v2.6.3 418d677, v2.7.3 89c5a7d, v2.7.4.post1 5231d95, v2.8.3 060c918) and the name
its setup.py's get_wheel_url and the workflow's rename give a wheel:
``flash_attn-{v}+cu{CUDA}torch{X.Y}cxx11abi{ABI}-cp{XY}-cp{XY}-linux_x86_64.whl``, CUDA as
major and minor before 2.7.0 (cu118, cu122, cu123), the major alone from 2.7.0 (cu11, cu12).
torch's C++ ABI: TRUE from 2.7 (pytorch#143962) and for 2.6+cu126 (pytorch#142064), else
FALSE. PyPI's untagged torch: 2.0 is CUDA 11.7 (pytorch.org previous versions), 2.6 is 12.4
(rapidsai/cugraph-gnn#155), 2.7 is 12.6 (pytorch.github.io#1998)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirrorinstall.context.facts import Facts, Ranking
from mirrorinstall.core.argv import parse_command
from mirrorinstall.core.catalog import build_catalog
from mirrorinstall.cuda.choose import Gpu, HostCuda
from mirrorinstall.cuda.packaged import load_tables
from mirrorinstall.rewrite import Context, rewrite

ROOT = Path(__file__).resolve().parents[2]
CATALOG = build_catalog([("mirrors.toml", (ROOT / "mirrors.toml").read_text())])
ORDER = Ranking(order={"pypi": ("tuna",), "conda": ("tuna",), "pytorch": ("nju",)})
REL = "https://github.com/Dao-AILab/flash-attention/releases/download"
M258 = "https://github.com/Dao-AILab/flash-attention/blob/9a11f44/.github/workflows/publish.yml"
M263 = "https://github.com/Dao-AILab/flash-attention/blob/418d677/.github/workflows/publish.yml"
M273 = "https://github.com/Dao-AILab/flash-attention/blob/89c5a7d/.github/workflows/publish.yml"
M274 = "https://github.com/Dao-AILab/flash-attention/blob/5231d95/.github/workflows/publish.yml"
M283 = "https://github.com/Dao-AILab/flash-attention/blob/060c918/.github/workflows/publish.yml"


def plan(
    line: str,
    mode: str = "keep",
    *,
    python: str = "3.11",
    driver: str = "550.54.14",
    platform: str = "linux-64",
    installed: str | None = None,
    cuda: str | None = None,
    abi: bool | None = None,
    gpus: tuple[Gpu, ...] = (),
    environ: dict[str, str] | None = None,
    files: dict[str, str] | None = None,
):
    files = files or {}
    facts = Facts(
        catalog=CATALOG,
        ranking=ORDER,
        tables=load_tables(),
        host=HostCuda(driver=driver, gpus=gpus),
        platform=platform,
        python=python,
        installed_torch=installed,
        installed_torch_cuda=cuda,
        installed_torch_abi=abi,
        environ=environ or {},
        files=files,
        copies={name: f"/c/{name}" for name in files},
    )
    return rewrite(parse_command(line.split()), Context(facts, mode, False))


def _wheel(version: str, name: str) -> str:
    return f"flash-attn @ {REL}/v{version}/{name}"


# (command, mode, python, driver, the flash-attn token expected, source of the expectation)
CHOSEN = [
    # 2.8.3 builds torch 2.6 with CUDA 12.9 (named cu12); torch 2.6+cu124 has the old ABI
    ("pip install torch==2.6.0+cu124 flash-attn", "keep", "3.11", "550.54.14",
     _wheel("2.8.3", "flash_attn-2.8.3+cu12torch2.6cxx11abiFALSE-cp311-cp311-linux_x86_64.whl"),
     M283),
    # ... and 2.6+cu126 the new one
    ("pip install torch==2.6.0+cu126 flash-attn", "keep", "3.11", "550.54.14",
     _wheel("2.8.3", "flash_attn-2.8.3+cu12torch2.6cxx11abiTRUE-cp311-cp311-linux_x86_64.whl"),
     M283),
    # torch 2.7 is the new ABI whatever its build; Python 3.13 is in 2.8.3's matrix
    ("pip install torch==2.7.1+cu128 flash-attn", "keep", "3.13", "550.54.14",
     _wheel("2.8.3", "flash_attn-2.8.3+cu12torch2.7cxx11abiTRUE-cp313-cp313-linux_x86_64.whl"),
     M283),
    # PyPI's torch 2.6.0 (no build named) is CUDA 12.4
    ("pip install torch==2.6.0 flash-attn==2.7.4.post1 --no-build-isolation", "keep", "3.10",
     "550.54.14",
     _wheel("2.7.4.post1",
            "flash_attn-2.7.4.post1+cu12torch2.6cxx11abiFALSE-cp310-cp310-linux_x86_64.whl"),
     M274),
    # before 2.7.0 the CUDA is major and minor: 2.6.3 built CUDA 12 as 12.3
    ("pip install torch==2.4.1+cu121 flash-attn==2.6.3", "keep", "3.12", "550.54.14",
     _wheel("2.6.3", "flash_attn-2.6.3+cu123torch2.4cxx11abiFALSE-cp312-cp312-linux_x86_64.whl"),
     M263),
    # a range: the newest release it allows
    ("pip install torch==2.3.1+cu121 flash-attn>=2.6,<2.7", "keep", "3.11", "550.54.14",
     _wheel("2.6.3", "flash_attn-2.6.3+cu123torch2.3cxx11abiFALSE-cp311-cp311-linux_x86_64.whl"),
     M263),
    # 2.5.8: CUDA 11 as 11.8; PyPI's torch 2.0 is CUDA 11.7, so the cu118 wheel
    ("pip install torch==2.0.1 flash-attn==2.5.8", "keep", "3.10", "550.54.14",
     _wheel("2.5.8", "flash_attn-2.5.8+cu118torch2.0cxx11abiFALSE-cp310-cp310-linux_x86_64.whl"),
     M258),
    # driver 470 runs CUDA 11 only: auto takes torch 2.4.1+cu118, and the newest flash-attn
    # with a CUDA 11 wheel for torch 2.4 is 2.7.3 (2.7.4 on are CUDA 12 only)
    ("pip install torch==2.4.1 flash-attn", "auto", "3.11", "470.82.01",
     _wheel("2.7.3", "flash_attn-2.7.3+cu11torch2.4cxx11abiFALSE-cp311-cp311-linux_x86_64.whl"),
     M273),
    # uv reads the same requirement
    ("uv pip install torch==2.5.1+cu124 flash-attn", "keep", "3.12", "550.54.14",
     _wheel("2.8.3", "flash_attn-2.8.3+cu12torch2.5cxx11abiFALSE-cp312-cp312-linux_x86_64.whl"),
     M283),
]  # fmt: skip


@pytest.mark.parametrize(("line", "mode", "python", "driver", "token", "source"), CHOSEN)
def test_the_release_wheel_for_the_torch_in_the_command(
    line: str, mode: str, python: str, driver: str, token: str, source: str
) -> None:
    """``source``: the release matrix the expected file was read from (kept with the case)."""
    got = plan(line, mode, python=python, driver=driver)
    assert token in got.argv, (got.argv, got.notes)
    assert any("release wheel" in n for n in got.notes), got.notes


@pytest.mark.parametrize(
    ("installed", "cuda", "token"),
    [
        ("2.5.1+cu124", "12.4",
         _wheel("2.8.3",
                "flash_attn-2.8.3+cu12torch2.5cxx11abiFALSE-cp311-cp311-linux_x86_64.whl")),
        # PyPI's torch has no build tag: torch/version.py's CUDA names it
        ("2.7.1", "12.6",
         _wheel("2.8.3", "flash_attn-2.8.3+cu12torch2.7cxx11abiTRUE-cp311-cp311-linux_x86_64.whl")),
        ("2.6.0", "12.6",
         _wheel("2.8.3", "flash_attn-2.8.3+cu12torch2.6cxx11abiTRUE-cp311-cp311-linux_x86_64.whl")),
    ],
)  # fmt: skip
def test_the_wheel_for_the_torch_already_in_the_target(installed, cuda, token) -> None:
    got = plan("pip install flash-attn --no-build-isolation", installed=installed, cuda=cuda)
    assert token in got.argv, (got.argv, got.notes)


def test_the_abi_the_targets_torch_was_built_with_chooses_the_wheel() -> None:
    """conda-forge's torch 2.5.1 (untagged, CUDA 12.4 in its version.py) is built with the new
    C++ ABI, as every conda-forge build (OpenVDB's fvdb refuses a torch without it: "Please
    install PyTorch with the C++11 ABI (e.g. conda-forge package)"); PyPI's 2.5.1 is FALSE. The
    target's TorchConfig.cmake says which (-D_GLIBCXX_USE_CXX11_ABI=1)."""
    line = "pip install flash-attn --no-build-isolation"
    forge = plan(line, installed="2.5.1", cuda="12.4", abi=True)
    name = "flash_attn-2.8.3+cu12torch2.5cxx11abiTRUE-cp311-cp311-linux_x86_64.whl"
    assert _wheel("2.8.3", name) in forge.argv, (forge.argv, forge.notes)
    assert any("as its TorchConfig.cmake says" in n for n in forge.notes), forge.notes
    # a command that installs its own torch: that torch's ABI, not the target's
    pypi = plan(
        "pip install torch==2.5.1+cu124 flash-attn", installed="2.5.1", cuda="12.4", abi=True
    )
    name = "flash_attn-2.8.3+cu12torch2.5cxx11abiFALSE-cp311-cp311-linux_x86_64.whl"
    assert _wheel("2.8.3", name) in pypi.argv, (pypi.argv, pypi.notes)


# (command, keyword arguments of the machine, a note must contain) with flash-attn left as is
KEPT = [
    # no torch anywhere: its setup.py needs one (pip's isolated build: "No module named torch")
    ("pip install flash-attn", {}, "install torch first"),
    ("pip install torch flash-attn", {}, "pins no torch release"),
    # 2.8.3 (newest) builds CUDA 12 only; no release builds torch 2.7 for CUDA 11
    ("pip install torch==2.7.1+cu118 flash-attn", {}, "no release in the table has one"),
    # keep: the newest release has no CUDA 11 wheel for torch 2.4, 2.7.3 has (auto takes it)
    ("pip install torch==2.4.1+cu118 flash-attn", {}, "flash-attn 2.7.3 has one (--cuda auto"),
    # 2.6.3's matrix excludes torch 2.1 on Python 3.12
    ("pip install torch==2.1.2+cu121 flash-attn==2.6.3", {"python": "3.12"},
     "2.6.3 has no release wheel"),
    # no release in the table builds torch 2.9
    ("pip install torch==2.9.0+cu128 flash-attn", {}, "has wheels for torch 2.9"),
    # a release the table lacks: setup.py looks for its wheel itself
    ("pip install torch==2.4.1+cu121 flash-attn==2.5.6", {}, "no release it allows"),
    # only Linux x86_64 wheels are built
    ("pip install torch==2.6.0 flash-attn", {"platform": "win-64", "driver": "560.94"},
     "linux_x86_64 only"),
    ("pip install torch==2.6.0 flash-attn", {"platform": "osx-arm64"}, "linux_x86_64 only"),
    ("pip install torch==2.6.0 flash-attn", {"platform": "linux-aarch64"}, "linux_x86_64 only"),
    # CPU and ROCm torch: flash-attn's release wheels are CUDA builds
    ("pip install torch==2.3.1+cpu flash-attn", {}, "not a CUDA build"),
    ("pip install torch==2.5.1+rocm6.2 flash-attn", {}, "not a CUDA build"),
    # the user asked for a build from source
    ("pip install torch==2.6.0+cu124 flash-attn",
     {"environ": {"FLASH_ATTENTION_FORCE_BUILD": "TRUE"}}, "FLASH_ATTENTION_FORCE_BUILD"),
    # hash-checking mode: a URL without its hash would fail it
    ("pip install --require-hashes torch==2.6.0+cu124 flash-attn", {}, None),
]  # fmt: skip


@pytest.mark.parametrize(("line", "machine", "note"), KEPT)
def test_flash_attn_is_left_as_written_with_the_reason(line: str, machine: dict, note) -> None:
    got = plan(line, **machine)
    assert not any("flash-attn @" in a or "/flash_attn-" in a for a in got.argv), got.argv
    token = next(a for a in got.argv if a.startswith("flash-attn") or a.startswith("flash_attn"))
    assert token in line.split(), got.argv
    if note is not None:
        assert any(note in n for n in got.notes), got.notes


def test_cuda_cpu_leaves_it_with_the_reason() -> None:
    got = plan("pip install torch==2.6.0 flash-attn", "cpu")
    assert "flash-attn" in got.argv
    assert any("no CPU build" in n for n in got.notes), got.notes


WRONG = f"{REL}/v2.6.3/flash_attn-2.6.3+cu123torch2.3cxx11abiTRUE-cp310-cp310-linux_x86_64.whl"


def test_a_wheel_url_for_another_torch_is_named_in_a_warning() -> None:
    got = plan(f"pip install torch==2.4.1+cu121 {WRONG}", python="3.11")
    assert WRONG in got.argv
    warning = next(n for n in got.notes if "undefined symbol" in n)
    assert "torch 2.3" in warning and "C++ ABI TRUE" in warning and "Python 3.10" in warning
    # 2.6.3's own wheel for torch 2.4, CUDA 12 (named 12.3), the old ABI, Python 3.11
    assert "flash_attn-2.6.3+cu123torch2.4cxx11abiFALSE-cp311-cp311-linux_x86_64.whl" in warning


def test_auto_swaps_a_wheel_url_for_the_same_releases_wheel_for_this_torch() -> None:
    got = plan(f"pip install torch==2.4.1+cu118 {WRONG}", "auto", driver="470.82.01")
    want = f"{REL}/v2.6.3/flash_attn-2.6.3+cu118torch2.4cxx11abiFALSE-cp311-cp311-linux_x86_64.whl"
    assert want in got.argv, (got.argv, got.notes)


def test_a_wheel_url_that_fits_is_left_without_a_warning() -> None:
    fits = f"{REL}/v2.8.3/flash_attn-2.8.3+cu12torch2.6cxx11abiFALSE-cp311-cp311-linux_x86_64.whl"
    got = plan(f"pip install torch==2.6.0+cu124 flash-attn@{fits}")
    assert f"flash-attn@{fits}" in got.argv, got.argv
    assert not [n for n in got.notes if "flash" in n], got.notes


def test_a_gpu_older_than_ampere_gets_a_warning() -> None:
    """FlashAttention-2: "Ampere, Ada, or Hopper GPUs ... use FlashAttention 1.x for Turing"
    (README at 060c918); a T4 is sm 7.5."""
    got = plan("pip install torch==2.6.0+cu124 flash-attn", gpus=(Gpu("Tesla T4", "7.5"),))
    assert any("Tesla T4 (sm 7.5)" in n and "8.0" in n for n in got.notes), got.notes
    ampere = plan("pip install torch==2.6.0+cu124 flash-attn", gpus=(Gpu("A100", "8.0"),))
    assert not any("compute capability" in n for n in ampere.notes), ampere.notes


def test_a_requirements_file_gets_the_wheel_for_the_commands_torch() -> None:
    """The torch is known only after the whole command is read (here its pin is in the file,
    after flash-attn): the file's copy names the wheel."""
    text = "flash-attn==2.7.4.post1\ntorch==2.6.0+cu124\neinops\n"
    got = plan("pip install -r req.txt", files={"req.txt": text})
    copy = got.writes["/c/req.txt"]
    name = "flash_attn-2.7.4.post1+cu12torch2.6cxx11abiFALSE-cp311-cp311-linux_x86_64.whl"
    assert f"flash-attn @ {REL}/v2.7.4.post1/{name}\n" in copy, copy
    assert "einops\n" in copy


def test_a_marker_stays_with_the_requirement() -> None:
    got = plan("pip install torch==2.6.0+cu124 flash-attn;sys_platform=='linux'")
    token = next(a for a in got.argv if a.startswith("flash-attn @"))
    assert token.endswith('; sys_platform == "linux"'), token


def test_a_github_proxy_in_the_url_is_kept_when_the_wheel_is_swapped() -> None:
    """A Dockerfile's line through a GitHub proxy used in China (ghfast.top, the whole GitHub
    URL after it): the swap stays on the proxy, in the same release's folder."""
    proxied = (
        "https://ghfast.top/github.com/Dao-AILab/flash-attention/releases/download/v2.7.4.post1/"
        "flash_attn-2.7.4.post1+cu12torch2.6cxx11abiFALSE-cp310-cp310-linux_x86_64.whl"
    )
    got = plan(f"pip install torch==2.6.0+cu126 {proxied}", "auto", python="3.10")
    want = proxied.replace("cxx11abiFALSE", "cxx11abiTRUE")  # 2.6+cu126: the new ABI
    assert want in got.argv, (got.argv, got.notes)


def test_an_encoded_plus_is_read_and_a_forks_wheel_is_left_alone() -> None:
    encoded = (
        f"{REL}/v2.8.3/flash_attn-2.8.3%2Bcu12torch2.8cxx11abiTRUE-cp311-cp311-linux_x86_64.whl"
    )
    got = plan(f"pip install torch==2.8.0+cu128 {encoded}")
    assert encoded in got.argv and not [n for n in got.notes if "flash" in n], got.notes
    fork = (
        "https://github.com/lesj0610/flash-attention/releases/download/v2.8.3-cu12-torch2.10-cp312/"
        "flash_attn-2.8.3+cu12torch2.10cxx11abiTRUE-cp312-cp312-linux_x86_64.whl"
    )
    got = plan(f"pip install torch==2.6.0+cu124 {fork}", "auto")
    assert fork in got.argv and not [n for n in got.notes if "flash" in n], got.notes


def test_a_hashed_requirements_file_keeps_flash_attn_as_written() -> None:
    """Any --hash line puts pip in hash-checking mode: a URL without its hash would fail."""
    text = "einops==0.8.0 --hash=sha256:" + "0" * 64 + "\nflash-attn==2.7.4.post1\n"
    got = plan("pip install torch==2.6.0+cu124 -r req.txt", files={"req.txt": text})
    assert "flash-attn @" not in " ".join(got.writes.values()) + " ".join(got.argv)


def test_an_open_requirement_says_the_release_is_the_tables_newest() -> None:
    got = plan("pip install torch==2.6.0+cu124 flash-attn")
    assert any("the newest release in minstall's table" in n for n in got.notes), got.notes
    pinned = plan("pip install torch==2.6.0+cu124 flash-attn==2.7.4.post1")
    assert not any("the newest release in minstall's table" in n for n in pinned.notes)


# ------------------------------------------------------------ environment files' pip: lists
# conda env create runs the new environment's pip on the list: its Python is the file's
# python=, its torch the list's pin or the file's conda pytorch. Expected names from the
# release matrices above; conda-forge's torch has the new C++ ABI (OpenVDB's fvdb
# get_torch.cmake asks for "the C++11 ABI (e.g. conda-forge package)").


def _env_plan(text: str, mode: str = "keep"):
    files = {"environment.yml": text}
    got = plan("conda env create -f environment.yml", mode, python="3.9", files=files)
    return got, got.writes.get("/c/environment.yml", "")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        # PyPI's torch 2.4.1 is CUDA 12.1, ABI FALSE; the environment's Python 3.10, not this 3.9
        (
            "name: llm\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.10\n  - pip\n"
            "  - pip:\n    - torch==2.4.1\n    - flash-attn\n",
            _wheel(
                "2.8.3", "flash_attn-2.8.3+cu12torch2.4cxx11abiFALSE-cp310-cp310-linux_x86_64.whl"
            )
            + "\n",
        ),
        # conda-forge's torch 2.5.1 with CUDA 12.6: the new ABI; the comment stays
        (
            "channels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - pytorch=2.5.1\n"
            "  - cuda-version=12.6\n  - pip\n  - pip:\n    - flash-attn==2.7.3  # attention\n",
            _wheel(
                "2.7.3", "flash_attn-2.7.3+cu12torch2.5cxx11abiTRUE-cp311-cp311-linux_x86_64.whl"
            )
            + "  # attention\n",
        ),
    ],
    ids=["pip-list-torch", "conda-forge-torch"],
)
def test_an_environment_files_pip_list_gets_the_wheel_for_its_python_and_torch(text, line):
    got, written = _env_plan(text)
    assert f"    - {line}" in written, (written, got.notes)


@pytest.mark.parametrize(
    ("text", "note"),
    [
        # a design doc's environment.yml (gwen_tts_rl): the pytorch channel's torch, whose
        # C++ ABI no cited source records: nothing guessed, the way that works is named
        (
            "channels:\n  - pytorch\n  - nvidia\n  - conda-forge\ndependencies:\n"
            "  - python=3.12\n  - pytorch=2.3.0\n  - pytorch-cuda=12.1\n  - pip\n  - pip:\n"
            "    - flash-attn==2.5.8                # for attention efficiency\n",
            "comes from the pytorch channel",
        ),
        # conda-forge's torch with its CUDA left to the driver's __cuda
        (
            "channels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - pytorch=2.5.1\n"
            "  - pip:\n    - flash-attn\n",
            "does not pin (cuda-version=",
        ),
        # no python= in the file: conda takes its newest, so no Python is known
        (
            "dependencies:\n  - pip\n  - pip:\n    - torch==2.4.1\n    - flash-attn\n",
            "the target's Python version is unknown",
        ),
    ],
    ids=["pytorch-channel", "forge-no-cuda-version", "no-python"],
)
def test_an_environment_whose_torch_or_python_is_unknown_keeps_flash_attn(text, note) -> None:
    got, written = _env_plan(text)
    assert "flash-attn @" not in written, written
    assert any(note in n for n in got.notes), got.notes
