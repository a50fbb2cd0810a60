"""Corpus items installed for real against the farm, original against rewrite (issue 19).

Each case is one item of tests/data/real_commands/corpus.toml in its farm form: the same shape
(options, files, includes, pins, the kind of PyTorch URL) with the farm's releases (torch
2.4.1/2.5.1 in cpu/cu118/cu121/cu124, PyPI's own 2.6.0, alpha/six/idna). The original runs
against the ``official`` mirror (which stands for pypi.org and download.pytorch.org); the
rewrite, made by ``minstall rewrite`` for a mirror whose PyTorch copy is an index (NJU-like)
or flat (Aliyun-like), runs as printed. Both really install, with the real pip or uv, into a
fresh ``--target`` folder; the installed distributions must be equal. Conda's shapes (the seed,
pytorch-cuda, @EXPLICIT files, env create, remove) are in test_conda_real.py."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .test_cli import SCRIPT
from .test_pip_equivalence import BIN, PYPI, TORCH, _hermetic, torch_farm  # noqa: F401

CORPUS = Path(__file__).resolve().parents[1] / "data" / "real_commands" / "corpus.toml"


def _wheel(name: str, version: str, variant: str) -> str:
    from farm.content import _local_platform_tag

    interp, platform = _local_platform_tag()
    return f"{TORCH}/{variant}/{name}-{version}%2B{variant}-{interp}-{interp}-{platform}.whl"


# (corpus item, tool, arguments, files {name: text}); {T} is the PyTorch host, {P} PyPI
CASES = [
    ("lmf-bat-pip-cu118", "pip", "torch torchvision torchaudio --index-url {T}/cu118", {}),
    (
        "mydream-pip-cu124-force-reinstall",
        "pip",
        "torch torchvision torchaudio --index-url {T}/cu124 --upgrade --force-reinstall",
        {},
    ),
    (
        "insightface-pip-1110-cu113-extra-index",
        "pip",
        "torch==2.4.1+cu121 torchvision==0.19.1+cu121 torchaudio==2.4.1"
        " --extra-index-url {T}/cu121",
        {},
    ),
    (
        "insightface-pip-190-cu111-stable",
        "pip",
        "torch==2.4.1+cu118 torchvision==0.19.1+cu118 torchaudio==2.4.1+cu118"
        " -f {T}/torch_stable.html",
        {},
    ),
    (
        "pytorchorg-prev-1101-cu102-stable-subdir",
        "pip",
        "torch==2.5.1+cu118 torchvision==0.20.1+cu118 -f {T}/cu118/torch_stable.html",
        {},
    ),
    ("d2jvkpn-pip-torch271-cu126-pin", "pip", "torch==2.5.1+cu124 --index-url {T}/cu124", {}),
    (
        "drone-embeddings-pip-cpu-index-no-cache",
        "pip",
        "--no-cache-dir torch torchvision --index-url {T}/cpu",
        {},
    ),
    (
        "gclspan-pip-1131-cu117-extra",
        "pip",
        "torch==2.5.1+cu124 torchvision==0.20.1+cu124 torchaudio==2.5.1"
        " --extra-index-url {T}/cu124",
        {},
    ),
    (
        "pytorch-issue-172926-cu130-index-vs-extra",
        "pip",
        "torch==2.5.1 --extra-index-url {T}/cu124",
        {},
    ),
    (
        "comfyui-issue-2186-pipenv-run-pip",
        "pip",
        "torch torchvision torchaudio --extra-index-url {T}/cu121",
        {},
    ),
    ("vjelic-vllm-ci-rocm62", "python -m pip", "torch torchvision --index-url {T}/cu121", {}),
    ("progrockdiffusion-pip-direct-wheel-urls-cu111", "pip", "{WHEEL}", {}),
    (
        "uv-torch-env-setup-ps1",
        "pip",
        "-r requirements-torch.txt",
        {
            "requirements-torch.txt": "--extra-index-url {T}/cu121\n"
            "torch==2.4.1+cu121\ntorchvision\n"
        },
    ),
    (
        "kohya-requirements-ipex-xpu-extra-index",
        "pip",
        "-r requirements.txt",
        {
            "requirements.txt": "# Custom index URL for specific packages\n"
            "--extra-index-url {T}/cu118\n\ntorch==2.4.1+cu118\ntorchvision==0.19.1+cu118\n"
        },
    ),
    (
        "moss-tts-nano-requirements-gpu-cu126",
        "pip",
        "-r requirements.txt",
        {"requirements.txt": "--extra-index-url {T}/cu124\n\nalpha>=1.0\ntorch\n"},
    ),
    (
        "vrct-requirements-cuda-include-r",
        "pip",
        "-r requirements_cuda.txt",
        {
            "requirements_cuda.txt": "# CUDA build requirements\n-r requirements.txt\n"
            "torch==2.4.1+cu121\n",
            "requirements.txt": "--extra-index-url {T}/cu121\nsix\n",
        },
    ),
    (
        "uv-issue-8344-uv-pip-index-url-cu118",
        "uv",
        "torch torchvision torchaudio --index-url {T}/cu118",
        {},
    ),
    ("andresmpa-windows-venv-cu121", "uv", "torch torchvision --extra-index-url {T}/cu121", {}),
    (
        "uv-torch-env-requirements-torch",
        "uv",
        "-r requirements-torch.txt --extra-index-url {T}/cu121",
        {"requirements-torch.txt": "torch==2.4.1+cu121\ntorchvision\ntorchaudio\n"},
    ),
    (
        "micromamba-issue-452-pip-cu121-pin",
        "pip",
        "torch==2.4.1+cu121 torchvision==0.19.1+cu121 --extra-index-url {T}/cu121",
        {},
    ),
    (
        "hsi-embgcn-cmd-pip3-cu118-pyg",
        "pip",
        "torch torchvision torchaudio --index-url {T}/cu118",
        {},
    ),
]


def _installed(target: Path) -> set[tuple[str, str]]:
    out = set()
    for info in target.glob("*.dist-info"):
        name, _, version = info.name.removesuffix(".dist-info").partition("-")
        out.add((name.lower().replace("_", "-"), version))
    return out


def _install(tool: str, args: list[str], target: Path, cwd: Path) -> set[tuple[str, str]]:
    if tool == "uv":
        argv = [str(BIN / "uv"), "pip", "install", "--target", str(target), *args]
    else:
        argv = [sys.executable, "-m", "pip", "install", "--no-cache-dir", "--quiet"]
        argv += ["--disable-pip-version-check", "--target", str(target), *args]
    proc = subprocess.run(
        argv, capture_output=True, text=True, env=_hermetic(), timeout=180, cwd=cwd
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return _installed(target)


def _fill(text: str, torch: str, pypi: str) -> str:
    return text.replace("{T}", torch).replace("{P}", pypi)


def test_the_sample_is_real_and_large_enough() -> None:
    """At least 20 items, each one of the corpus, of pip, uv, requirements files and includes."""
    ids = {m for m in re.findall(r'^id = "([^"]+)"', CORPUS.read_text(), re.M)}
    assert len(CASES) >= 20 and len({c[0] for c in CASES}) == len(CASES)
    assert {c[0] for c in CASES} <= ids
    assert {c[1] for c in CASES} >= {"pip", "uv", "python -m pip"}
    assert any("-r " in c[2] and len(c[3]) > 1 for c in CASES)  # an include


def _rewrite_in(env: dict[str, str], mirror: str, line: list[str], cwd: Path) -> list[str]:
    """``minstall rewrite --json`` run from ``cwd`` (relative file names are the user's)."""
    import json
    import os

    proc = subprocess.run(
        [str(SCRIPT), "rewrite", "--json", "--mirror", mirror, "--", *line],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=cwd,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["argv"]


# each item through one layout, the two alternating: both layouts are covered by half the runs
LAYOUTS = ["index" if k % 2 == 0 else "flat" for k in range(len(CASES))]


@pytest.mark.parametrize(
    ("item", "tool", "args", "files", "layout"),
    [(*c, layout) for c, layout in zip(CASES, LAYOUTS, strict=True)],
    ids=[f"{c[0]}-{layout}" for c, layout in zip(CASES, LAYOUTS, strict=True)],
)
def test_a_corpus_item_installs_the_same_through_the_mirror(
    torch_farm,  # noqa: F811 - the fixture, imported
    tmp_path,
    item,
    tool,
    args,
    files,
    layout,
) -> None:
    farm, env = torch_farm
    official = farm["official"].url
    args = args.replace("{WHEEL}", _wheel("torch", "2.4.1", "cu121"))
    here = tmp_path / "project"
    plain = tmp_path / "plain"
    for folder, host in ((here, TORCH), (plain, f"{official}/whl")):
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_text(_fill(text, host, PYPI))
    words = _fill(args, TORCH, PYPI).split()
    head = (
        ["python", "-m", "pip", "install"]
        if tool == "python -m pip"
        else (["uv", "pip", "install"] if tool == "uv" else ["pip", "install"])
    )
    original = [
        a.replace(TORCH, f"{official}/whl").replace(PYPI, f"{official}/pypi/simple") for a in words
    ]
    if not any(a in ("--index-url", "-i", "--default-index") for a in original) and not any(
        "--index-url" in t for t in files.values()
    ):
        original += ["--index-url", f"{official}/pypi/simple"]
    before = _install("uv" if tool == "uv" else "pip", original, tmp_path / "t-orig", plain)
    assert before, "the original installed nothing"
    argv = _rewrite_in(env, layout, [*head, *words], here)
    after_args = argv[len(head) :]
    copies = [here / after_args[k + 1] for k, a in enumerate(after_args[:-1]) if a == "-r"]
    copies += [here / w for c in copies for w in re.findall(r"^-r (\S+)", c.read_text(), re.M)]
    joined = " ".join([*after_args, *(c.read_text() for c in copies)])
    assert official not in joined and "download.pytorch.org" not in joined, argv
    after = _install("uv" if tool == "uv" else "pip", after_args, tmp_path / "t-new", here)
    assert after == before, (argv, before, after)
