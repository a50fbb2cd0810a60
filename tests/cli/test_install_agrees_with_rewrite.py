"""`minstall install` runs the command `minstall rewrite` prints: the same mirror per kind and
the same argv, for every command shape the rewrite tests cover.

The farm is built so that one mirror cannot serve everything: ``pypi`` is the fastest PyPI
mirror but has no PyTorch copy and no conda channels; ``torch`` has the PyTorch copy (and is a
slower PyPI mirror); ``condafast`` carries conda-forge, main and r but not pytorch or nvidia.
Forcing the first kind's best mirror on every kind (what install once did) sends torch to the
official host; routing per kind sends it to ``torch``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from farm import MirrorSpec

from .test_cli import farm_env as env_for
from .test_cli import minstall

CU121 = "https://download.pytorch.org/whl/cu121"
CU124 = "https://download.pytorch.org/whl/cu124"

SHAPES = [
    ("keep", ["pip", "install", "six"]),
    ("keep", ["pip3", "install", "-i", "https://pypi.org/simple", "six"]),
    ("auto", ["pip", "install", "torch"]),
    ("auto", ["pip", "install", "pytorch", "torchvision"]),
    ("keep", ["pip", "install", "torch==2.5.1", "torchvision", "--index-url", CU121]),
    ("keep", ["pip", "install", "torch", "--extra-index-url", CU124]),
    ("keep", ["pip", "install", "-r", "{REQS}"]),
    ("keep", ["uv", "pip", "install", "six"]),
    ("keep", ["uv", "pip", "install", "torch", "--index-url", CU124]),
    ("keep", ["conda", "install", "-c", "conda-forge", "pkga"]),
    ("keep", ["conda", "install", "pytorch", "torchvision", "cudatoolkit=10.1", "-c", "pytorch"]),
    ("auto", ["conda", "install", "pytorch=2.5.1", "-c", "pytorch"]),
    ("keep", ["conda", "install", "pytorch=2.5.1", "pytorch-cuda=12.1", "-c", "pytorch"]),
    ("keep", ["conda", "create", "-n", "x", "conda-forge::pkga"]),
    ("keep", ["conda", "install", "--file", "{SPECS}"]),
    ("keep", ["conda", "env", "create", "-f", "{ENVYML}"]),
    ("keep", ["mamba", "install", "-c", "bioconda", "samtools"]),
]


@pytest.fixture
def split_farm(make_farm, tmp_path: Path):
    farm = make_farm(
        MirrorSpec("pypi", latency_s=0.005, conda=(), pytorch=None),
        MirrorSpec("torch", latency_s=0.05, conda=(), pytorch="index"),
        MirrorSpec(
            "condafast",
            latency_s=0.01,
            conda=["conda-forge", "main", "r"],
            pypi=False,
            pytorch=None,
        ),
        MirrorSpec("condaall", latency_s=0.08, pypi=False, pytorch=None),
    )
    env = env_for(farm, tmp_path, MINSTALL_CUDA_DRIVER="535.104.05", CI="true")
    assert minstall("bench", env=env).returncode == 0
    files = {
        "{REQS}": ("requirements.txt", f"--extra-index-url {CU124}\ntorch==2.5.1\nsix\n"),
        "{SPECS}": ("specs.txt", "conda-forge::pkga\nzlib\n"),
        "{ENVYML}": ("environment.yml", "channels:\n  - conda-forge\ndependencies:\n  - pkga\n"),
    }
    paths = {}
    for key, (name, text) in files.items():
        (tmp_path / name).write_text(text)
        paths[key] = str(tmp_path / name)
    return farm, env, paths


def _tool_and_rest(line: list[str]) -> tuple[str, list[str]]:
    return line[0].rstrip("3"), line[1:]


@pytest.mark.parametrize(("cuda", "shape"), SHAPES, ids=[" ".join(s[:4]) for _, s in SHAPES])
def test_install_runs_what_rewrite_prints(split_farm, cuda, shape) -> None:
    _, env, paths = split_farm
    line = [paths.get(a, a) for a in shape]
    rewrite = minstall("rewrite", "--json", "--cuda", cuda, "--", *line, env=env)
    assert rewrite.returncode == 0, rewrite.stderr
    printed = json.loads(rewrite.stdout)
    tool, rest = _tool_and_rest(line)
    install = minstall(tool, "--dry-run", "--json", "--cuda", cuda, *rest, env=env)
    assert install.returncode == 0, install.stderr
    plan = json.loads(install.stdout.splitlines()[0])
    argv = list(plan["argv"])
    if "--log" in argv:  # the executor's own addition: pip's log, to read a failure
        at = argv.index("--log")
        del argv[at : at + 2]
    assert argv[1:] == printed["argv"][1:]
    used = {what: m["mirror"] for what, m in printed["mirrors"].items() if m.get("mirror")}
    assert {what: m for what, m in plan["mirrors"].items() if m} == used
    assert {k: v for k, v in plan["env"].items() if k in printed["env"]} == printed["env"]


def test_torch_goes_to_the_mirror_that_has_it_not_to_the_official_host(split_farm) -> None:
    farm, env, _ = split_farm
    proc = minstall(
        "pip", "--dry-run", "--json", "--cuda", "auto", "install", "torch==2.5.1", env=env
    )
    plan = json.loads(proc.stdout.splitlines()[0])
    assert plan["mirrors"] == {"pypi": "pypi", "pytorch": "torch"}
    assert f"{farm['torch'].url}/whl/cu124" in plan["argv"]
    assert "download.pytorch.org" not in " ".join(plan["argv"])


def test_python_m_pip_through_install_agrees_too(split_farm, tmp_path) -> None:
    _, env, _ = split_farm
    import venv

    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = str(target / "bin" / "python")
    printed = json.loads(
        minstall("rewrite", "--json", "--", python, "-m", "pip", "install", "six", env=env).stdout
    )
    install = minstall("install", "--dry-run", "--json", "--python", python, "six", env=env)
    plan = json.loads(install.stdout.splitlines()[0])
    argv = list(plan["argv"])
    at = argv.index("--log")
    del argv[at : at + 2]
    assert argv == printed["argv"]
