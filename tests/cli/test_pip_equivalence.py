"""A rewritten pip/uv command resolves the same distributions as the original.

The farm's ``official`` mirror stands for pypi.org and download.pytorch.org (it also holds
PyPI's own newer torch 2.6.0, without a local version): the original command runs against
it, its hosts swapped for the official mirror's; minstall rewrites the original (real host
names) for a mirror whose PyTorch copy is in the ``index`` layout (NJU-like) or the flat
``find-links`` one (Aliyun-like). Real pip 26.3 (``install --dry-run --report``) and real uv
(``pip install --dry-run``) resolve both; the sets of (name, version) must be equal.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from farm import MirrorSpec
from farm.content import _local_platform_tag

from .test_cli import farm_env as env_for
from .test_cli import minstall

TORCH = "https://download.pytorch.org/whl"
PYPI = "https://pypi.org/simple"
CU124 = f"{TORCH}/cu124"
BIN = Path(sys.executable).parent
_INTERP, _PLATFORM = _local_platform_tag()
WHEEL_URL = f"{TORCH}/cu121/torch-2.4.1%2Bcu121-{_INTERP}-{_INTERP}-{_PLATFORM}.whl"


@pytest.fixture
def torch_farm(make_farm, tmp_path: Path):
    farm = make_farm(
        MirrorSpec("index", conda=(), pytorch="index"),
        MirrorSpec("flat", conda=(), pytorch="find-links"),
        MirrorSpec("official", conda=(), upstream=True),
    )
    return farm, env_for(farm, tmp_path)


def _official(args: list[str], official: str) -> list[str]:
    """The original command, pointed at the mirror that stands for the official hosts."""
    return [
        a.replace(TORCH, f"{official}/whl").replace(PYPI, f"{official}/pypi/simple") for a in args
    ]


def _hermetic() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "UV_NO_CONFIG": "1", "UV_NO_CACHE": "1"}


def pip_resolves(args: list[str], tmp_path: Path) -> set[tuple[str, str]]:
    report = tmp_path / f"report-{len(list(tmp_path.glob('report-*')))}.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--report",
            str(report),
            "--quiet",
            "--no-cache-dir",
            "--disable-pip-version-check",
            *args,
        ],
        capture_output=True,
        text=True,
        env=_hermetic(),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(report.read_text())
    return {(i["metadata"]["name"], i["metadata"]["version"]) for i in data["install"]}


def uv_resolves(args: list[str], tmp_path: Path) -> set[tuple[str, str]]:
    target = tmp_path / "uv-target"
    if not target.exists():
        venv.EnvBuilder(with_pip=False).create(target)
    proc = subprocess.run(
        [
            str(BIN / "uv"),
            "pip",
            "install",
            "--dry-run",
            "--python",
            str(target / "bin/python"),
            *args,
        ],
        capture_output=True,
        text=True,
        env=_hermetic(),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return set(re.findall(r"^ \+ ([A-Za-z0-9_.-]+)==(\S+)$", proc.stderr, re.M))


def _rewritten(env: dict[str, str], mirror: str, line: list[str]) -> list[str]:
    proc = minstall("rewrite", "--json", "--mirror", mirror, "--", *line, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["argv"]


PIP_CASES = [
    pytest.param(["torch", "--index-url", CU124], {("torch", "2.5.1+cu124")}, id="unpinned"),
    pytest.param(
        ["torch<2.5", "torchvision", "torchaudio", "-i", CU124],
        {("torch", "2.4.1+cu124"), ("torchvision", "0.19.1+cu124"), ("torchaudio", "2.4.1+cu124")},
        id="ranged trio",
    ),
    pytest.param(
        ["torchvision", "--index-url", CU124],
        {("torch", "2.5.1+cu124"), ("torchvision", "0.20.1+cu124")},
        id="torchvision alone",
    ),
    pytest.param(
        ["torch==2.4.1", "torchaudio", "--index-url", CU124],
        {("torch", "2.4.1+cu124"), ("torchaudio", "2.4.1+cu124")},
        id="pinned",
    ),
    # pip merges an extra index with PyPI and takes the newest: PyPI's 2.6.0, both times
    pytest.param(["torch", "--extra-index-url", CU124], {("torch", "2.6.0")}, id="extra index"),
    # find-links pages (issue 19): a variant's page, and the every-variant page beside pins
    pytest.param(
        ["torch==2.4.1", "-f", f"{TORCH}/cu121/torch_stable.html"],
        {("torch", "2.4.1+cu121")},
        id="variant page",
    ),
    pytest.param(
        ["torch==2.4.1+cu118", "torchvision==0.19.1+cu118", "-f", f"{TORCH}/torch_stable.html"],
        {("torch", "2.4.1+cu118"), ("torchvision", "0.19.1+cu118")},
        id="every-variant page",
    ),
    pytest.param([WHEEL_URL], {("torch", "2.4.1+cu121")}, id="wheel URL"),
]


@pytest.mark.parametrize("layout", ["index", "flat"])
@pytest.mark.parametrize(("args", "expected"), PIP_CASES)
def test_pip_resolves_the_same_distributions(torch_farm, tmp_path, layout, args, expected) -> None:
    farm, env = torch_farm
    official = farm["official"].url
    original = list(args) if "--index-url" in args or "-i" in args else [*args, "-i", PYPI]
    before = pip_resolves(_official(original, official), tmp_path)
    assert before == expected  # by hand, from the farm's content (tests/farm/content.py)
    argv = _rewritten(env, layout, ["pip", "install", *args])
    assert official not in " ".join(argv) and TORCH not in " ".join(argv)
    assert pip_resolves(argv[2:], tmp_path) == before


def test_a_requirements_file_resolves_the_same(torch_farm, tmp_path) -> None:
    farm, env = torch_farm
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"--index-url {CU124}\ntorch\ntorchvision  # vision\n")
    plain = tmp_path / "plain.txt"
    plain.write_text(reqs.read_text().replace(TORCH, f"{farm['official'].url}/whl"))
    before = pip_resolves(["-r", str(plain)], tmp_path)
    assert before == {("torch", "2.5.1+cu124"), ("torchvision", "0.20.1+cu124")}
    for layout in ("index", "flat"):
        argv = _rewritten(env, layout, ["pip", "install", "-r", str(reqs)])
        copy = Path(argv[argv.index("-r") + 1])
        assert copy != reqs and TORCH not in copy.read_text()
        assert pip_resolves(argv[2:], tmp_path) == before, copy.read_text()


def test_an_included_files_index_line_resolves_the_same(torch_farm, tmp_path) -> None:
    """``-r base/base.txt`` whose file has the PyTorch index (issue 19): the include's copy is
    routed too, and pip, reading the top copy from minstall's cache, finds it."""
    farm, env = torch_farm
    official = farm["official"].url
    (tmp_path / "base").mkdir()
    base = tmp_path / "base" / "base.txt"
    top = tmp_path / "requirements.txt"
    top.write_text("-r base/base.txt\ntorch\n")
    base.write_text(f"--index-url {CU124}\n")
    plain = tmp_path / "plain"
    (plain / "base").mkdir(parents=True)
    (plain / "requirements.txt").write_text(top.read_text())
    (plain / "base" / "base.txt").write_text(base.read_text().replace(TORCH, f"{official}/whl"))
    before = pip_resolves(["-r", str(plain / "requirements.txt")], tmp_path)
    assert before == {("torch", "2.5.1+cu124")}
    for layout in ("index", "flat"):
        argv = _rewritten(env, layout, ["pip", "install", "-r", str(top)])
        copy = Path(argv[argv.index("-r") + 1])
        included = copy.read_text().split()[1]
        assert copy != top and Path(included).parent == copy.parent  # the include's copy
        assert TORCH not in Path(included).read_text()
        assert pip_resolves(argv[2:], tmp_path) == before, copy.read_text()
    assert base.read_text() == f"--index-url {CU124}\n"  # the user's files untouched


UV_CASES = [
    pytest.param(["torch", "--index-url", CU124], {("torch", "2.5.1+cu124")}, id="index-url"),
    # uv takes a package from the first index that has it, and an extra index comes first
    pytest.param(
        ["torch", "torchvision", "--extra-index-url", CU124],
        {("torch", "2.5.1+cu124"), ("torchvision", "0.20.1+cu124")},
        id="extra-index-url",
    ),
]


@pytest.mark.parametrize("layout", ["index", "flat"])
@pytest.mark.parametrize(("args", "expected"), UV_CASES)
def test_uv_resolves_the_same_distributions(torch_farm, tmp_path, layout, args, expected) -> None:
    farm, env = torch_farm
    official = farm["official"].url
    original = list(args) if "--index-url" in args else [*args, "--default-index", PYPI]
    before = uv_resolves(_official(original, official), tmp_path)
    assert before == expected
    argv = _rewritten(env, layout, ["uv", "pip", "install", *args])
    assert uv_resolves(argv[3:], tmp_path) == before


@pytest.mark.parametrize("layout", ["index", "flat"])
def test_uv_torch_backend_resolves_as_the_index_it_stands_for(torch_farm, tmp_path, layout) -> None:
    """``--torch-backend=cu124`` is uv's "the torch family from download.pytorch.org/whl/cu124"
    (https://docs.astral.sh/uv/guides/integration/pytorch/); uv cannot point it elsewhere, so
    minstall writes it as that index on the mirror. The newest torch there is 2.5.1+cu124."""
    farm, env = torch_farm
    official = farm["official"].url
    before = uv_resolves(
        [
            "torch",
            "--extra-index-url",
            f"{official}/whl/cu124",
            "--default-index",
            f"{official}/pypi/simple",
        ],
        tmp_path,
    )
    assert before == {("torch", "2.5.1+cu124")}
    argv = _rewritten(env, layout, ["uv", "pip", "install", "torch", "--torch-backend=cu124"])
    assert not any("torch-backend" in a for a in argv) and TORCH not in " ".join(argv)
    assert uv_resolves(argv[3:], tmp_path) == before
