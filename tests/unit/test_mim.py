"""``mim install`` run as the pip install mim runs (core/argv.py, rewrite/mim.py). Expected
values are written by hand from openmim 0.3.9's source
(https://github.com/open-mmlab/mim/blob/b39fbd97303574a77f6acaed923fad41c781691c/mim/commands/install.py):
``install_args += ['-f', get_mmcv_full_find_link(mmcv_base_url)]`` with
``f'{mmcv_base_url}/mmcv/dist/{device_link}/torch{torch_v}/index.html'``, ``torch_v`` the
installed torch's major.minor.0, ``device_link`` ``cu`` + torch.version.cuda without the dot,
else ``cpu``; ``-i/--index-url/--pypi-url`` its own, ``-y`` without effect; the 'mim' extra of
the packages in mim/utils/default.py's PKG2PROJECT."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirrorinstall.context.facts import Facts, Ranking
from mirrorinstall.core.argv import parse_command
from mirrorinstall.core.catalog import build_catalog
from mirrorinstall.core.errors import UsageError
from mirrorinstall.cuda.choose import HostCuda
from mirrorinstall.cuda.packaged import load_tables
from mirrorinstall.rewrite import Context, rewrite

ROOT = Path(__file__).resolve().parents[2]
CATALOG = build_catalog([("mirrors.toml", (ROOT / "mirrors.toml").read_text())])
OMM = "https://download.openmmlab.com/mmcv/dist"


@pytest.mark.parametrize(
    ("line", "args"),
    [
        ("mim install mmengine", ["mmengine"]),
        ("mim install mmcv==2.1.0 -y", ["mmcv==2.1.0"]),
        ("mim install mmdet --pypi-url https://x.example/simple",
         ["mmdet", "--index-url", "https://x.example/simple"]),
        ("mim install mmdet --pypi-url=https://x.example/simple",
         ["mmdet", "--index-url=https://x.example/simple"]),
        ("mim install -r requirements/mminstall.txt", ["-r", "requirements/mminstall.txt"]),
    ],
)  # fmt: skip
def test_mim_install_is_the_pip_install_it_runs(line, args) -> None:
    cmd = parse_command(line.split())
    assert cmd.head == ("python", "-m", "pip", "install")
    assert (list(cmd.args), cmd.origin) == (args, "mim")


def test_python_m_mim_runs_pip_in_that_python() -> None:
    cmd = parse_command(["/opt/env/bin/python", "-m", "mim", "install", "mmcv==2.1.0"])
    assert cmd.head == ("/opt/env/bin/python", "-m", "pip", "install") and cmd.origin == "mim"
    launcher = parse_command(["py", "-3.11", "-m", "mim", "install", "mmengine"])
    assert launcher.head == ("py", "-3.11", "-m", "pip", "install")


@pytest.mark.parametrize("line", ["mim download mmdet --config x", "mim train mmdet cfg.py", "mim"])
def test_other_mim_commands_are_not_rewritten(line) -> None:
    with pytest.raises(UsageError) as err:
        parse_command(line.split())
    assert "mim install" in err.value.hint


def _plan(line: str, torch: str | None, cuda: str | None, **environ: str):
    facts = Facts(
        catalog=CATALOG,
        ranking=Ranking(order={"pypi": ("tuna",), "pytorch": ("nju",)}),
        tables=load_tables(),
        host=HostCuda(driver="550.54.14"),
        platform="linux-64",
        python="3.11",
        installed_torch=torch,
        installed_torch_cuda=cuda,
        environ=environ,
    )
    return rewrite(parse_command(line.split()), Context(facts, "keep", False))


@pytest.mark.parametrize(
    ("line", "torch", "cuda", "expected"),
    [
        # the page for torch 2.1.2 built with CUDA 11.8: torch2.1.0, cu118
        ("mim install mmcv==2.1.0", "2.1.2+cu118", "11.8",
         ["mmcv==2.1.0", "-f", f"{OMM}/cu118/torch2.1.0/index.html"]),
        # PyPI's torch 2.4.1 has no build tag; torch.version.cuda says 12.1
        ("mim install mmcv", "2.4.1", "12.1", ["-f", f"{OMM}/cu121/torch2.4.0/index.html"]),
        # a CPU torch: torch.version.cuda is None
        ("mim install mmcv", "2.3.1+cpu", "", ["-f", f"{OMM}/cpu/torch2.3.0/index.html"]),
        # version.py unreadable: the build tag says the same
        ("mim install mmcv", "2.2.2+cu121", None, ["-f", f"{OMM}/cu121/torch2.2.0/index.html"]),
        # OpenMMLab's packages get their 'mim' extra (mmcv's range for them); others do not
        ("mim install mmdet==3.3.0 mmengine", "2.1.2+cu121", "12.1",
         ["mmdet[mim]==3.3.0", "mmengine"]),
        ("mim install mmpose[all]", "2.1.2+cu121", "12.1", ["mmpose[all,mim]"]),
    ],
)  # fmt: skip
def test_what_mim_adds(line, torch, cuda, expected) -> None:
    got = _plan(line, torch, cuda)
    at = got.argv.index(expected[0])
    assert got.argv[at : at + len(expected)] == expected, (got.argv, got.notes)
    assert got.argv[:4] == ["python", "-m", "pip", "install"]
    assert "https://pypi.tuna.tsinghua.edu.cn/simple" in got.argv  # PyPI through the mirror


def test_mmcv_base_url_is_taken_as_mim_takes_it() -> None:
    got = _plan("mim install mmcv", "2.1.2+cu118", "11.8", MMCV_BASE_URL="http://lab.example/omm/")
    page = "http://lab.example/omm/mmcv/dist/cu118/torch2.1.0/index.html"
    assert got.argv[got.argv.index("-f") + 1] == page, got.argv
    # mim marks a plain-http base as trusted
    assert got.argv[got.argv.index("--trusted-host") + 1] == "lab.example"


def test_without_torch_mim_fails_and_so_does_the_rewrite_with_the_fix() -> None:
    with pytest.raises(UsageError) as err:
        _plan("mim install mmcv", None, None)
    assert "needs torch" in err.value.message and "--cuda auto" in err.value.hint


@pytest.mark.parametrize(
    ("torch", "cuda", "said"),
    [
        # OpenMMLab's selector lists nothing after torch 2.4 (mmcv's version.json)
        ("2.5.1+cu121", "12.1", "no mmcv build for torch 2.5, nor for any after 2.4"),
        # torch 2.1 has cpu, cu118, cu121 builds (version.json): none for cu117
        ("2.1.0+cu117", "11.7", "no cu117 mmcv build for torch 2.1"),
    ],
)
def test_a_torch_with_no_prebuilt_mmcv_is_said_before_pip_builds_it(torch, cuda, said) -> None:
    got = _plan("mim install mmcv", torch, cuda)
    assert any(said in n and "from its source" in n for n in got.notes), got.notes
    assert not [n for n in _plan("mim install mmengine", torch, cuda).notes if said in n]


@pytest.mark.parametrize("value", ["download.openmmlab.com", "ftp://x.example/omm", "https://"])
def test_an_mmcv_base_url_that_is_no_url_is_a_clear_error(value) -> None:
    with pytest.raises(UsageError) as err:
        _plan("mim install mmcv", "2.1.2+cu118", "11.8", MMCV_BASE_URL=value)
    assert "MMCV_BASE_URL" in err.value.message and "unset it" in err.value.hint
