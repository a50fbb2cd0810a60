"""PyG's per-torch find-links pages (cuda/findlinks.py, data/find_links.toml): which torch
and build a page is, and the page for the torch a command installs. Expected values are
written by hand from PyG's install page
(https://pytorch-geometric.readthedocs.io/en/latest/install/installation.html: "-f
https://data.pyg.org/whl/torch-${TORCH}+${CUDA}.html ... PyTorch 2.3: ${TORCH}=2.3.0 and
${CUDA}=cpu|cu118|cu121") and the page listing at https://data.pyg.org/whl/."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirrorinstall.context.facts import Facts, Ranking
from mirrorinstall.core.argv import parse_command
from mirrorinstall.core.catalog import build_catalog
from mirrorinstall.cuda.choose import HostCuda
from mirrorinstall.cuda.findlinks import page_for, parse_families, read_page
from mirrorinstall.cuda.packaged import load_tables
from mirrorinstall.rewrite import Context, rewrite

PAGES = load_tables().pages


@pytest.mark.parametrize(
    ("url", "torch", "variant"),
    [
        ("https://data.pyg.org/whl/torch-2.1.0+cu118.html", "2.1.0", "cu118"),
        # as a CSDN answer writes it, the plus sign encoded
        ("https://data.pyg.org/whl/torch-1.12.0%2Bcu113.html", "1.12.0", "cu113"),
        # the older host, still in READMEs
        ("https://pytorch-geometric.com/whl/torch-1.13.0+cu117.html", "1.13.0", "cu117"),
        ("https://data.pyg.org/whl/torch-2.2.1+cpu.html", "2.2.1", "cpu"),
    ],
)
def test_a_page_is_read_as_its_torch_and_build(url, torch, variant) -> None:
    ref = read_page(PAGES, url)
    assert ref is not None and (ref.family.family, ref.torch, ref.variant) == (
        "pyg",
        torch,
        variant,
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://download.pytorch.org/whl/cu121",
        "https://data.pyg.org/whl/",
        "https://data.pyg.org/whl/torch-2.1.0+rocm.html",
        "https://download.openmmlab.com/mmcv/dist/",
        "https://download.openmmlab.com/mmcv/dist/cu121/index.html",
    ],
)
def test_other_urls_are_not_pages(url) -> None:
    assert read_page(PAGES, url) is None


@pytest.mark.parametrize(
    ("page", "torch", "variant", "expected"),
    [
        # a README's line for torch 2.1 / CUDA 11.8 while torch 2.4.1+cu121 is installed
        (
            "https://data.pyg.org/whl/torch-2.1.0+cu118.html",
            "2.4.1",
            "cu121",
            "https://data.pyg.org/whl/torch-2.4.0+cu121.html",
        ),
        # the right torch, another CUDA build than torch's own
        (
            "https://data.pyg.org/whl/torch-2.2.0+cu121.html",
            "2.2.2",
            "cu118",
            "https://data.pyg.org/whl/torch-2.2.0+cu118.html",
        ),
        # the spelling the command used is kept
        (
            "https://data.pyg.org/whl/torch-2.0.0%2Bcu117.html",
            "2.1.2",
            "cu121",
            "https://data.pyg.org/whl/torch-2.1.0%2Bcu121.html",
        ),
        # torch 2.5.1 gets the same wheels from the 2.5.0 page: nothing to change
        (
            "https://data.pyg.org/whl/torch-2.5.0+cu121.html",
            "2.5.1",
            "cu121",
            "https://data.pyg.org/whl/torch-2.5.0+cu121.html",
        ),
        # torch's build not known (torch is not in the command): the page's build stays
        (
            "https://data.pyg.org/whl/torch-2.0.0+cu118.html",
            "2.3.0",
            None,
            "https://data.pyg.org/whl/torch-2.3.0+cu118.html",
        ),
        (
            "https://data.pyg.org/whl/torch-2.3.0+cpu.html",
            None,
            None,
            "https://data.pyg.org/whl/torch-2.3.0+cpu.html",
        ),
    ],
)
def test_the_page_for_the_torch_installed(page, torch, variant, expected) -> None:
    ref = read_page(PAGES, page)
    assert ref is not None
    choice = page_for(ref, torch, variant)
    assert choice.url == expected
    assert (choice.note is None) == (expected == page)


@pytest.mark.parametrize(
    ("torch", "variant", "said"),
    [
        # PyG 2.3's own table: "PyTorch 2.3: ${CUDA}=cpu|cu118|cu121", no CUDA 12.4
        ("2.3.1", "cu124", ["no cu124 build for torch 2.3", "cpu, cu118, cu121"]),
        # a torch the table has no row for
        ("1.9.0", "cu111", ["No page for torch 1.9 is known"]),
    ],
)
def test_a_page_that_cannot_be_matched_is_kept_and_the_note_says_why(torch, variant, said):
    page = "https://data.pyg.org/whl/torch-2.3.0+cu121.html"
    ref = read_page(PAGES, page)
    assert ref is not None
    choice = page_for(ref, torch, variant)
    assert choice.url == page
    assert choice.note and all(words in choice.note for words in said), choice.note


MMCV = "https://download.openmmlab.com/mmcv/dist"
PYG = "https://data.pyg.org/whl"
# mmcv's selector data (open-mmlab/mmcv docs/en/_static/version.json at a8073c7, Linux): torch
# 2.4, 2.3, 2.2, 2.1 -> cu121, cu118, cpu; 2.0 -> cu118, cu117, cpu; nothing after 2.4.
# PyG's install page at 5c6461b: 2.6 -> cpu, cu118, cu124, cu126; 2.8 -> cpu, cu126, cu128, cu129.


@pytest.mark.parametrize(
    ("page", "torch", "variant", "expected", "said"),
    [
        # the selector's spelling (torch2.1) is kept
        (f"{MMCV}/cu121/torch2.1/index.html", "2.4.1", "cu118",
         f"{MMCV}/cu118/torch2.4/index.html", "fail to load"),
        # mim's spelling (torch1.13.0) likewise
        (f"{MMCV}/cu117/torch1.13.0/index.html", "2.0.1", "cu118",
         f"{MMCV}/cu118/torch2.0.0/index.html", "fail to load"),
        (f"{MMCV}/cpu/torch2.3/index.html", "2.3.1", "cpu",
         f"{MMCV}/cpu/torch2.3/index.html", None),
        # nothing after torch 2.4: kept, and the way out said
        (f"{MMCV}/cu121/torch2.1/index.html", "2.5.1", "cu124",
         f"{MMCV}/cu121/torch2.1/index.html", "no build for any torch after 2.4"),
        # no CUDA 12.4 build of mmcv for torch 2.4
        (f"{MMCV}/cu121/torch2.4/index.html", "2.4.1", "cu124",
         f"{MMCV}/cu121/torch2.4/index.html", "builds: cpu, cu118, cu121"),
        (f"{PYG}/torch-2.5.0+cu124.html", "2.6.0", "cu126", f"{PYG}/torch-2.6.0+cu126.html",
         "fail to load"),
        (f"{PYG}/torch-2.7.0+cu118.html", "2.8.0", "cu118", f"{PYG}/torch-2.7.0+cu118.html",
         "builds: cpu, cu126, cu128, cu129"),
    ],
)  # fmt: skip
def test_the_page_of_each_family_and_release(page, torch, variant, expected, said) -> None:
    ref = read_page(PAGES, page)
    assert ref is not None
    choice = page_for(ref, torch, variant)
    assert choice.url == expected
    assert (choice.note is None) if said is None else (said in (choice.note or "")), choice.note


def test_a_broken_row_names_the_file_row_and_key() -> None:
    text = '[[family]]\nfamily = "pyg"\nprojects = []\npage = "https://x/{torch}.html"\n'
    text += 'source = "https://x"\npages = []\n'
    with pytest.raises(ValueError, match=r"find_links.toml: family 1 \(pyg\): page .* needs"):
        parse_families(text)
    with pytest.raises(ValueError, match=r"family 1 \(pyg\): missing pages.variants"):
        parse_families(
            '[[family]]\nfamily = "pyg"\nprojects = []\nsource = "https://x"\n'
            'page = "https://x/{torch}+{variant}.html"\npages = [{ torch = "2.1" }]\n'
        )


# ------------------------------------------------------------ in a pip command

ROOT = Path(__file__).resolve().parents[2]
CATALOG = build_catalog([("mirrors.toml", (ROOT / "mirrors.toml").read_text())])
ORDER = Ranking(order={"pypi": ("tuna",), "conda": ("tuna",), "pytorch": ("nju",)})
TORCH_INDEX = "https://download.pytorch.org/whl"


def _plan(driver: str, line: str, mode: str):
    return _plan_files(line, {}, driver=driver, mode=mode)


@pytest.mark.parametrize(
    ("driver", "line", "mode", "page"),
    [
        # a README's PyG line for torch 2.1 + CUDA 11.8 beside torch 2.4.1 from the cu121 index
        (
            "550.54.14",
            f"pip install torch==2.4.1 torch_scatter -f {PYG}/torch-2.1.0+cu118.html "
            f"--extra-index-url {TORCH_INDEX}/cu121",
            "keep",
            f"{PYG}/torch-2.4.0+cu121.html",
        ),
        # the build named by torch's local tag
        (
            "550.54.14",
            f"pip install torch==2.2.2+cu118 torch-sparse -f {PYG}/torch-2.2.0+cu121.html",
            "keep",
            f"{PYG}/torch-2.2.0+cu118.html",
        ),
        # driver 470 runs CUDA 11.x only (NVIDIA: 12.x needs >= 525.60.13): --cuda auto gives
        # torch 2.1.2 its cu118 build (PyTorch's previous-versions page), and PyG's page follows
        (
            "470.82.01",
            f"pip install torch==2.1.2 torch_scatter -f {PYG}/torch-2.1.0+cu121.html "
            f"--extra-index-url {TORCH_INDEX}/cu121",
            "auto",
            f"{PYG}/torch-2.1.0+cu118.html",
        ),
    ],
)
def test_the_page_follows_the_torch_the_command_installs(driver, line, mode, page) -> None:
    got = _plan(driver, line, mode)
    assert page in got.argv, (got.argv, got.notes)
    assert any("fail to load" in n for n in got.notes), got.notes


def test_without_torch_in_the_command_the_page_stays() -> None:
    line = f"pip install torch_scatter -f {PYG}/torch-2.1.0+cu118.html"
    got = _plan("550.54.14", line, "auto")
    assert f"{PYG}/torch-2.1.0+cu118.html" in got.argv
    assert not [n for n in got.notes if "fail to load" in n], got.notes


def _plan_with(installed: str | None, line: str):
    return _plan_files(line, {}, installed=installed)


@pytest.mark.parametrize(
    ("installed", "line", "page"),
    [
        # the command installs no torch: the target's own decides
        ("2.4.1+cu121", f"pip install torch_scatter -f {PYG}/torch-2.1.0+cu118.html",
         f"{PYG}/torch-2.4.0+cu121.html"),
        ("2.1.2+cu118", f"pip install mmcv==2.1.0 -f {MMCV}/cu121/torch2.0/index.html",
         f"{MMCV}/cu118/torch2.1/index.html"),
        # torch from PyPI (no local tag): the page's build stays
        ("2.3.1", f"pip install torch_scatter -f {PYG}/torch-2.1.0+cu121.html",
         f"{PYG}/torch-2.3.0+cu121.html"),
        # the command installs torch itself (unpinned): what pip takes is not known here
        ("2.4.1+cu121", f"pip install torch torch_scatter -f {PYG}/torch-2.1.0+cu118.html",
         f"{PYG}/torch-2.1.0+cu118.html"),
        # nothing in the target: kept
        (None, f"pip install torch_scatter -f {PYG}/torch-2.1.0+cu118.html",
         f"{PYG}/torch-2.1.0+cu118.html"),
    ],
)  # fmt: skip
def test_the_page_follows_the_torch_already_in_the_target(installed, line, page) -> None:
    got = _plan_with(installed, line)
    assert page in got.argv, (got.argv, got.notes)
    if page not in line:
        assert any("the target has torch" in n for n in got.notes), got.notes


def test_a_torch_the_command_pins_is_the_commands_even_when_the_target_has_the_same() -> None:
    # the target holds 2.4.1+cu121 and the command pins that very build: the page follows the
    # command's pin, and the note says so (not "the target has")
    line = f"pip install torch==2.4.1+cu121 torch_scatter -f {PYG}/torch-2.1.0+cu118.html"
    got = _plan_with("2.4.1+cu121", line)
    assert f"{PYG}/torch-2.4.0+cu121.html" in got.argv, (got.argv, got.notes)
    assert any("this command installs torch 2.4.1" in n for n in got.notes), got.notes
    assert not any("the target has torch" in n for n in got.notes), got.notes


def _plan_files(line: str, files: dict[str, str], *, installed=None, driver="550.54.14",
                mode="keep", cuda=None):  # fmt: skip
    facts = Facts(
        catalog=CATALOG,
        ranking=ORDER,
        tables=load_tables(),
        host=HostCuda(driver=driver),
        platform="linux-64",
        python="3.11",
        installed_torch=installed,
        installed_torch_cuda=cuda,
        files=files,
        copies={name: f"/c/{name}" for name in files},
    )
    return rewrite(parse_command(line.split()), Context(facts, mode, False))


# Requirements files as repositories ship them (a PyG page line beside the packages), installed
# with a torch the page was not written for: each expected page is PyG's own name for that
# torch minor and build (installation.rst: "${TORCH}=2.4.0 ... ${CUDA}=cpu|cu118|cu121|cu124").
@pytest.mark.parametrize(
    ("line", "files", "installed", "copy", "page"),
    [
        # the file pins torch with its build: the page follows the pin
        ("pip install -r req.txt",
         {"req.txt": f"-f {PYG}/torch-2.1.0+cu118.html\ntorch==2.4.1+cu121\ntorch_scatter\n"},
         None, "req.txt", f"{PYG}/torch-2.4.0+cu121.html"),
        # the file names no torch: the target's own decides
        ("pip install -r req.txt",
         {"req.txt": f"--find-links {PYG}/torch-2.1.0+cu118.html\ntorch-scatter\ntorch-sparse\n"},
         "2.4.1+cu121", "req.txt", f"{PYG}/torch-2.4.0+cu121.html"),
        # the command line's torch wins over the target's
        ("pip install torch==2.2.2+cu118 -r req.txt",
         {"req.txt": f"--find-links={PYG}/torch-2.2.0+cu121.html\ntorch_scatter\n"},
         "2.4.1+cu121", "req.txt", f"{PYG}/torch-2.2.0+cu118.html"),
        # the file's own PyTorch index names the build the plain pin gets
        ("pip install -r req.txt",
         {"req.txt": f"--extra-index-url {TORCH_INDEX}/cu121\ntorch==2.4.1\n"
                     f"-f {PYG}/torch-2.1.0+cu118.html\ntorch_scatter\n"},
         None, "req.txt", f"{PYG}/torch-2.4.0+cu121.html"),
        # the page in a file the top file includes: that file's copy carries the new page
        ("pip install -r req.txt",
         {"req.txt": "-r base.txt\ntorch==2.3.1+cu118\n",
          "base.txt": f"-f {PYG}/torch-2.1.0+cu121.html\ntorch_scatter\n"},
         None, "base.txt", f"{PYG}/torch-2.3.0+cu118.html"),
        # mmcv's page (OpenMMLab's selector: torch 2.1 has cu118 and cu121 builds)
        ("pip install -r req.txt",
         {"req.txt": f"-f {MMCV}/cu121/torch2.0/index.html\nmmcv==2.1.0\n"},
         "2.1.2+cu118", "req.txt", f"{MMCV}/cu118/torch2.1/index.html"),
    ],
)  # fmt: skip
def test_a_page_in_a_requirements_file_follows_the_torch(line, files, installed, copy, page):
    got = _plan_files(line, files, installed=installed)
    text = got.writes.get(f"/c/{copy}", "")
    assert page in text, (got.writes, got.notes)
    assert any("fail to load" in n for n in got.notes), got.notes


def test_the_cuda_choice_reaches_a_page_in_a_requirements_file() -> None:
    # driver 470 runs CUDA 11.x only: --cuda auto gives torch 2.1.2 its cu118 build, and the
    # file's page (written for cu121) follows it
    files = {"req.txt": f"-f {PYG}/torch-2.1.0+cu121.html\ntorch_scatter\n"}
    line = f"pip install torch==2.1.2 --extra-index-url {TORCH_INDEX}/cu121 -r req.txt"
    got = _plan_files(line, files, driver="470.82.01", mode="auto")
    assert f"{PYG}/torch-2.1.0+cu118.html" in got.writes["/c/req.txt"], got.writes


def test_a_page_in_a_requirements_file_that_fits_stays_without_a_note() -> None:
    files = {"req.txt": f"-f {PYG}/torch-2.4.0+cu121.html\ntorch==2.4.1+cu121\ntorch_scatter\n"}
    got = _plan_files("pip install -r req.txt", files)
    assert f"{PYG}/torch-2.4.0+cu121.html" in got.writes.get("/c/req.txt", files["req.txt"])
    assert not [n for n in got.notes if "fail to load" in n], got.notes
    # each note once: the second reading (knowing the torch) replaces the first
    assert len(got.notes) == len(set(got.notes)), got.notes


def test_a_page_in_an_environment_files_pip_list_follows_its_torch_pin() -> None:
    env = (
        "name: geo\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - pip\n"
        f"  - pip:\n    - torch==2.4.1+cu121\n    - -f {PYG}/torch-2.1.0+cu118.html\n"
        "    - torch_scatter\n"
    )
    got = _plan_files("conda env create -f env.yml", {"env.yml": env})
    assert f"- -f {PYG}/torch-2.4.0+cu121.html\n" in got.writes["/c/env.yml"], got.writes


def test_pypis_torch_without_a_tag_is_the_build_its_cuda_names() -> None:
    # PyPI's torch 2.4.1 for Linux is the CUDA 12.1 build (its torch/version.py: cuda = '12.1');
    # PyG's page for it: torch-2.4.0+cu121.html (installation.rst lists cu121 for torch 2.4)
    line = f"pip install torch_scatter -f {PYG}/torch-2.1.0+cu118.html"
    got = _plan_files(line, {}, installed="2.4.1", cuda="12.1")
    assert f"{PYG}/torch-2.4.0+cu121.html" in got.argv, (got.argv, got.notes)
    cpu = _plan_files(line, {}, installed="2.4.1", cuda="")
    assert f"{PYG}/torch-2.4.0+cpu.html" in cpu.argv, (cpu.argv, cpu.notes)
