"""minstall's version tables against the indexes they describe (tests/livetables.py).

The `network` test reads the live hosts: run it where the internet is reachable with
``MINSTALL_NETWORK_TESTS=1 .venv-test/bin/python -m pytest tests/edges/test_live_tables.py``;
a failure names the row, the page and the row's source. The farm tests run the same check
against copies laid out as those hosts are, so it is seen to pass and to fail."""

from __future__ import annotations

import pytest
from farm import MirrorSpec
from farm.content import HOST_COPIES, MMCV_PAGES, PADDLE_BUILDS, PYG_PAGES, TORCH_RELEASES
from livetables import PYPI, PYTORCH, Claim, check, claims, http_fetch

from mirrorinstall.cuda.packaged import load_tables

TABLES = load_tables()


def _farm_fetch(farm) -> object:
    lab = farm["lab"].url
    moved = {PYTORCH: f"{lab}/whl/"}
    for copies in HOST_COPIES.values():
        moved.update({official: lab + path for official, path in copies})
    return http_fetch(moved, timeout_s=10)


def test_the_claims_of_each_table_are_made() -> None:
    """Claims written by hand from the tables' sources: one of each kind."""
    by_what = {c.what: c for c in claims(TABLES)}
    # PyTorch's previous-versions page: "pip install torch==2.4.1 ... --index-url
    # https://download.pytorch.org/whl/cu121"
    assert by_what["torch 2.4.1+cu121"].url == "https://download.pytorch.org/whl/cu121/torch/"
    assert by_what["torchvision 0.19.1+cu121"].url.endswith("/whl/cu121/torchvision/")
    # ROCm 6.2 for torch 2.5 (previous-versions: --index-url .../whl/rocm6.2)
    assert by_what["torch 2.5.x+rocm6.2"].url == "https://download.pytorch.org/whl/rocm6.2/torch/"
    # PyG: "-f https://data.pyg.org/whl/torch-2.4.0+cu121.html"
    assert (
        by_what["pyg page torch 2.4 cu121"].url == "https://data.pyg.org/whl/torch-2.4.0+cu121.html"
    )
    # mmcv: "-f https://download.openmmlab.com/mmcv/dist/cu118/torch2.1/index.html" (mim's
    # spelling torch2.1.0 is the same page)
    assert (
        by_what["mmcv page torch 2.1 cu118"].url
        == "https://download.openmmlab.com/mmcv/dist/cu118/torch2.1.0/index.html"
    )
    # PaddlePaddle's install page: "-i https://www.paddlepaddle.org.cn/packages/stable/cu118/"
    paddle = [c for c in claims(TABLES) if "/stable/cu118/" in c.url]
    assert (
        paddle[0].url == "https://www.paddlepaddle.org.cn/packages/stable/cu118/paddlepaddle-gpu/"
    )
    assert by_what["cupy-cuda12x"].url == f"{PYPI}cupy-cuda12x/"
    assert by_what["torch 2.2.2 for Intel Macs"].url == f"{PYPI}torch/"
    # flash-attn 2.8.3's matrix (publish.yml at 060c918): torch 2.6 x CUDA 12 x both ABIs x
    # Python 3.9-3.13, listed on its release's assets; torch 2.4 on Python 3.13 excluded
    fa = "flash-attn flash_attn-2.8.3+cu12torch2.6cxx11abiTRUE-cp311-cp311-linux_x86_64.whl"
    assert by_what[fa].url.endswith("/flash-attention/releases/expanded_assets/v2.8.3")
    assert (
        "flash-attn flash_attn-2.8.3+cu12torch2.4cxx11abiTRUE-cp313-cp313-linux_x86_64.whl"
        not in by_what
    )
    assert by_what["PyPI's torch 2.6.0 built for CUDA 12.4"].url.endswith("/torch/2.6.0/json")
    assert all(c.source.startswith(("https://", "PV", "TI@")) for c in claims(TABLES))


def _farm_claims() -> list[Claim]:
    """The claims about what the farm copies: its torch releases, PyG, mmcv, Paddle pages."""
    torch = {f"torch {v}+{var}" for v, *_ in TORCH_RELEASES for var in ("cu118", "cu121")}
    pyg = {f"pyg page torch {t.rsplit('.', 1)[0]} {b}" for t, bs in PYG_PAGES.items() for b in bs}
    mmcv = {f"mmcv page torch {t} {b}" for t, bs in MMCV_PAGES.items() for b in bs}
    wanted = [c for c in claims(TABLES) if c.what in torch | pyg | mmcv]
    wanted += [
        c
        for c in claims(TABLES)
        if any(f"/stable/{b}/" in c.url for b in PADDLE_BUILDS) and "paddle" in c.url
    ]
    assert len(wanted) == len(torch) + len(pyg) + len(mmcv) + len(PADDLE_BUILDS), wanted
    return wanted


def test_what_the_farm_copies_is_confirmed(make_farm) -> None:
    farm = make_farm(MirrorSpec("lab", hosts=("pyg", "paddle", "openmmlab")))
    assert check(_farm_claims(), _farm_fetch(farm)) == []


def test_what_the_index_lacks_is_reported_with_the_rows_source(make_farm) -> None:
    farm = make_farm(MirrorSpec("lab", hosts=("pyg", "paddle", "openmmlab")))
    # the farm's copies hold torch 2.4/2.5 only (mmcv: 2.4): the tables' older rows are
    # contradicted there
    wanted = [
        c
        for c in claims(TABLES)
        if c.what in ("torch 2.3.1+cu121", "pyg page torch 2.3 cu121", "mmcv page torch 2.1 cu118")
    ]
    got = check(wanted, _farm_fetch(farm))
    assert len(got) == 3, got
    assert (
        "torch 2.3.1+cu121: not listed on https://download.pytorch.org/whl/cu121/torch/" in got[0]
    )
    assert "answered 404" in got[1] and "installation.rst" in got[1], got
    assert got[2].startswith("mmcv page torch 2.1 cu118: https://download.openmmlab.com/"), got


@pytest.mark.network
@pytest.mark.timeout(1800)  # 170 pages, some of them several MiB (download.pytorch.org's)
def test_the_tables_agree_with_the_live_indexes() -> None:
    failed = check(claims(TABLES), http_fetch())
    assert failed == [], "\n".join(failed)
