"""download.pytorch.org URLs as people write them (issue 19): find-links pages, whole index
paths (nightly, LTS, ROCm), direct wheel URLs. Each must reach a mirror URL that serves the
same files, or stay on the official host with a note that says so.

Expected URLs are written by hand from each mirror's documented layout (research/mirrors.md:
SJTU maps ``/pytorch-wheels/<path>`` 1:1 onto ``/whl/<path>`` for *.html and *.whl; Aliyun
lists each variant flat at ``/pytorch-wheels/<variant>/``; NJU copies ``/whl`` as PEP 503
indexes)."""

from __future__ import annotations

import pytest
from test_rewrite import ORDER, TUNA_PYPI
from test_rewrite import run as _run

from mirrorinstall.rewrite.torchurls import read_torch_url

SJTU = "https://mirror.sjtu.edu.cn/pytorch-wheels"
ALIYUN = "https://mirrors.aliyun.com/pytorch-wheels"
NJU = "https://mirror.nju.edu.cn/pytorch/whl"
STABLE = "https://download.pytorch.org/whl/torch_stable.html"
CU118_PAGE = "https://download.pytorch.org/whl/cu118/torch_stable.html"
LTS_PAGE = "https://download.pytorch.org/whl/lts/1.8/torch_lts.html"
WHEEL = "torch-2.0.0%2Bcu118-cp310-cp310-linux_x86_64.whl"
FILE_URL = f"https://download.pytorch.org/whl/cu118/{WHEEL}#sha256=0123abcd"


def only(mirror: str) -> dict:
    return {**ORDER, "pytorch": [mirror]}


def run(line: list[str], **kw):
    """The plan, its argv without the PyPI mirror's index that every pip plan gains."""
    plan = _run(line, **kw)
    assert plan.argv[-2:] == ["--index-url", TUNA_PYPI]
    plan.argv = plan.argv[:-2]
    return plan


@pytest.mark.parametrize(
    ("url", "kind", "channel", "variant", "name"),
    [
        ("https://download.pytorch.org/whl/cu121", "index", "", "cu121", ""),
        ("https://download.pytorch.org/whl/cu121/", "index", "", "cu121", ""),
        ("https://download.pytorch.org/whl/rocm6.2", "index", "", "rocm6.2", ""),
        ("https://download.pytorch.org/whl/xpu", "index", "", "xpu", ""),
        ("https://download.pytorch.org/whl/nightly/cu128", "index", "nightly", "cu128", ""),
        ("https://download.pytorch.org/whl/nightly/xpu", "index", "nightly", "xpu", ""),
        ("https://download.pytorch.org/whl/test/cu126", "index", "test", "cu126", ""),
        ("https://download.pytorch.org/whl/lts/1.8/cu111", "index", "lts/1.8", "cu111", ""),
        (STABLE, "page", "", "", "torch_stable.html"),
        (CU118_PAGE, "page", "", "cu118", "torch_stable.html"),
        (LTS_PAGE, "page", "lts/1.8", "", "torch_lts.html"),
        (
            "https://download.pytorch.org/whl/nightly/torch_nightly.html",
            "page",
            "nightly",
            "",
            "torch_nightly.html",
        ),
        (FILE_URL, "file", "", "cu118", WHEEL),
        ("https://download.pytorch.org/whl/cu121/torch/", "other", "", "cu121", ""),
    ],
)
def test_a_pytorch_url_is_read_whole(url, kind, channel, variant, name) -> None:
    ref = read_torch_url(url)
    assert ref is not None
    assert (ref.kind, ref.channel, ref.variant, ref.name) == (kind, channel, variant, name)


def test_other_hosts_are_not_pytorch_urls() -> None:
    assert read_torch_url("https://pypi.org/simple") is None
    assert read_torch_url("https://example.com/whl/cu118") is None


# ------------------------------------------------------------------ find-links pages


PINNED = ["pip", "install", "torch==1.7.1+cu110", "torchvision==0.8.2+cu110", "-f", STABLE]


def test_the_every_variant_page_goes_where_the_pinned_variant_is_listed() -> None:
    """The most copied line of the torch 1.x era: local-version pins and torch_stable.html."""
    aliyun = run(PINNED, order=only("aliyun"))
    assert aliyun.argv[2:] == [
        "torch==1.7.1+cu110",
        "torchvision==0.8.2+cu110",
        "-f",
        f"{ALIYUN}/cu110/",
    ]
    sjtu = run(PINNED, order=only("sjtu"))
    assert sjtu.argv[-2:] == ["-f", f"{SJTU}/torch_stable.html"]
    nju = run(PINNED, order=only("nju"))
    assert nju.argv[-2:] == ["--extra-index-url", f"{NJU}/cu110/"]
    assert any("an index of the same variant's wheels" in n for n in nju.notes)


def test_the_every_variant_page_with_no_pin_stays_unless_the_mirror_proxies_it() -> None:
    line = ["pip", "install", "torch==1.4.0", "-f", STABLE]
    plan = run(line, order={**ORDER, "pytorch": ["aliyun", "nju", "pytorch-org"]})
    assert plan.argv == line
    note = next(n for n in plan.notes if n.startswith(STABLE))
    assert "left on the official host" in note and "pins none" in note


def test_a_variant_page_maps_to_that_variants_listing() -> None:
    line = ["pip", "install", "torch==2.0.0", "-f", CU118_PAGE]
    assert run(line, order=only("aliyun")).argv[-2:] == ["-f", f"{ALIYUN}/cu118/"]
    assert run(line, order=only("sjtu")).argv[-2:] == ["-f", f"{SJTU}/cu118/torch_stable.html"]
    assert run(line, order=only("nju")).argv[-2:] == ["--extra-index-url", f"{NJU}/cu118/"]


def test_a_mirror_whose_listing_lacks_the_pin_is_passed_over() -> None:
    """Aliyun's cu110 listing (read) has no torch 1.7.1: the next mirror, NJU, is taken."""
    listing = {
        ("aliyun", "cu110"): ("torch-1.7.0+cu110-cp38-cp38-linux_x86_64.whl",),
        ("nju", "cu110"): (
            "torch-1.7.1+cu110-cp38-cp38-linux_x86_64.whl",
            "torchvision-0.8.2+cu110-cp38-cp38-linux_x86_64.whl",
        ),
    }
    plan = run(
        PINNED,
        order={**ORDER, "pytorch": ["aliyun", "nju"]},
        wheels=lambda m, v: listing.get((m, v), ()),
    )
    assert plan.argv[-2:] == ["--extra-index-url", f"{NJU}/cu110/"]
    plan = run(PINNED, order=only("aliyun"), wheels=lambda m, v: listing.get((m, v), ()))
    assert plan.argv == PINNED
    assert any("has no torch ==1.7.1+cu110" in n or "has no torch 1.7.1" in n for n in plan.notes)


def test_the_lts_page_goes_only_to_a_mirror_that_proxies_every_page() -> None:
    line = ["pip", "install", "torch==1.8.2+cu111", "-f", LTS_PAGE]
    kept = run(line, order={**ORDER, "pytorch": ["aliyun", "nju"]})
    assert kept.argv == line
    note = next(n for n in kept.notes if n.startswith(LTS_PAGE))
    assert "left on the official host" in note and "lts/1.8" in note
    sjtu = run(line, order=only("sjtu"))
    assert sjtu.argv[-2:] == ["-f", f"{SJTU}/lts/1.8/torch_lts.html"]


# ------------------------------------------------------------------ index paths kept whole


@pytest.mark.parametrize(
    "url",
    [
        "https://download.pytorch.org/whl/nightly/cu128",
        "https://download.pytorch.org/whl/nightly/xpu",
        "https://download.pytorch.org/whl/lts/1.8/cu111",
        "https://download.pytorch.org/whl/test/cu126",
    ],
)
@pytest.mark.parametrize("mode", ["keep", "auto"])
def test_a_channel_index_is_kept_whole_and_never_becomes_a_stable_variant(url, mode) -> None:
    from test_corpus import HOSTS

    line = ["pip", "install", "--pre", "torch", "--index-url", url]
    plan = _run(line, cuda_mode=mode, host=HOSTS["rtx3090-driver550"])
    assert url in plan.argv
    assert not any(t.startswith((ALIYUN, NJU, SJTU)) for t in plan.argv)
    assert "torch" in plan.argv  # not pinned to a stable release
    assert any(n.startswith(url) and "left on the official host" in n for n in plan.notes)


def test_a_rocm_index_is_routed_as_its_own_variant() -> None:
    url = "https://download.pytorch.org/whl/rocm6.2"
    plan = run(["pip", "install", "torch", "--extra-index-url", url], order=only("nju"))
    assert plan.argv[-2:] == ["--extra-index-url", f"{NJU}/rocm6.2"]


# ------------------------------------------------------------------ direct file URLs


@pytest.mark.parametrize(
    ("mirror", "expected"),
    [
        ("aliyun", f"{ALIYUN}/cu118/{WHEEL}#sha256=0123abcd"),
        ("sjtu", f"{SJTU}/cu118/{WHEEL}#sha256=0123abcd"),
        ("nju", f"{NJU}/cu118/{WHEEL}#sha256=0123abcd"),
    ],
)
def test_a_wheel_url_goes_to_the_same_file_on_a_mirror_hash_kept(mirror, expected) -> None:
    plan = run(["pip", "install", FILE_URL], order=only(mirror))
    assert plan.argv[2] == expected
    named = run(["pip", "install", f"torch @ {FILE_URL}"], order=only(mirror))
    assert named.argv[2] == f"torch @ {expected}"


def test_a_wheel_the_mirror_does_not_list_stays_with_a_note_naming_the_host() -> None:
    plan = run(["pip", "install", FILE_URL], order=only("aliyun"), wheels=lambda m, v: ())
    assert plan.argv[2] == FILE_URL
    note = next(n for n in plan.notes if n.startswith(FILE_URL))
    assert "left on the official host" in note and "torch-2.0.0+cu118" in note


def test_a_wheel_url_in_a_requirements_file_goes_to_the_mirror_too() -> None:
    text = f"{FILE_URL}\nnumpy\n"
    plan = run(
        ["pip", "install", "-r", "r.txt"],
        order=only("aliyun"),
        files={"r.txt": text},
        copy_path=lambda p: "/c/" + p,
    )
    assert plan.writes["/c/r.txt"] == f"{ALIYUN}/cu118/{WHEEL}#sha256=0123abcd\nnumpy\n"


# ------------------------------------------------------------------ uv's --torch-backend


@pytest.mark.parametrize(
    "line",
    [
        ["uv", "pip", "install", "torch", "--torch-backend=cu126"],
        ["uv", "pip", "install", "torch", "--torch-backend", "cu126"],
    ],
)
def test_a_named_torch_backend_becomes_the_mirrors_index_of_that_variant(line) -> None:
    plan = _run(line, order=only("nju"))
    assert "--torch-backend" not in " ".join(plan.argv)
    assert plan.argv[3:6] == ["torch", "--extra-index-url", f"{NJU}/cu126"]
    assert plan.unset == []
    assert any(
        "uv always fetches a torch backend from download.pytorch.org" in n for n in plan.notes
    )


def test_torch_backend_auto_is_the_variant_this_driver_runs() -> None:
    from test_corpus import HOSTS

    line = ["uv", "pip", "install", "vllm", "--torch-backend=auto"]
    gpu = _run(line, order=only("nju"), host=HOSTS["rtx3090-driver550"])
    # driver 550 runs any CUDA 12.x build (minor-version compatibility from 525.60.13) and no
    # 13.x (580 and later, NVIDIA's CUDA 13.0 release notes); the newest torch is built for
    # cu126, cu130 and cu132 (pytorch.org's install matrix), so cu126, as uv would choose
    assert gpu.argv[3:6] == ["vllm", "--extra-index-url", f"{NJU}/cu126"], gpu.notes
    none = _run(line, order=only("nju"), host=HOSTS["no-driver"])
    assert none.argv[3:6] == ["vllm", "--extra-index-url", f"{NJU}/cpu"]


def test_the_torch_backend_variable_is_translated_and_unset_for_uv() -> None:
    from test_corpus import HOSTS

    plan = _run(
        ["uv", "pip", "install", "torch"],
        order=only("nju"),
        environ={"UV_TORCH_BACKEND": "auto"},
        host=HOSTS["no-driver"],
    )
    assert f"{NJU}/cpu" in plan.argv and plan.unset == ["UV_TORCH_BACKEND"]
    # the option wins over the variable, as in uv; the variable is still unset
    both = _run(
        ["uv", "pip", "install", "torch", "--torch-backend=cpu"],
        order=only("nju"),
        environ={"UV_TORCH_BACKEND": "cu126"},
    )
    assert f"{NJU}/cpu" in both.argv and f"{NJU}/cu126" not in both.argv
    assert both.unset == ["UV_TORCH_BACKEND"]


def test_an_unknown_torch_backend_is_left_to_uv_with_a_note() -> None:
    line = ["uv", "pip", "install", "torch", "--torch-backend=cu999x"]
    plan = _run(line, order=only("nju"))
    assert "--torch-backend=cu999x" in plan.argv
    assert any("kept" in n and "download.pytorch.org" in n for n in plan.notes)


# ------------------------------------------------------------------ nested requirement files


def test_index_lines_in_an_included_file_are_routed_like_the_top_files() -> None:
    files = {
        "req.txt": "-r base/base.txt\ntorch==2.0.0\n",
        # pip joins an include to the folder of the file naming it: req.txt's folder is ""
        "base/base.txt": "--extra-index-url https://download.pytorch.org/whl/cu118\nnumpy\n",
    }
    plan = run(
        ["pip", "install", "-r", "req.txt"],
        order=only("aliyun"),
        files=files,
        copy_path=lambda p: "/c/" + p.replace("/", "_"),
    )
    assert plan.argv[2:4] == ["-r", "/c/req.txt"]
    assert plan.writes["/c/base_base.txt"] == f"--find-links {ALIYUN}/cu118/\nnumpy\n"
    assert plan.writes["/c/req.txt"] == "-r /c/base_base.txt\ntorch==2.0.0\n"


def test_an_include_cycle_ends() -> None:
    files = {
        "a.txt": "-r b.txt\n--extra-index-url https://download.pytorch.org/whl/cu118\n",
        "b.txt": "-r a.txt\nsix\n",
    }
    plan = run(
        ["pip", "install", "-r", "a.txt"],
        order=only("aliyun"),
        files=files,
        copy_path=lambda p: "/c/" + p,
    )
    assert plan.argv[2:4] == ["-r", "/c/a.txt"]
    assert plan.writes["/c/a.txt"].endswith(f"--find-links {ALIYUN}/cu118/\n")


def test_uv_pip_sync_and_compile_route_the_files_they_name_bare() -> None:
    text = "--index-url https://download.pytorch.org/whl/cu121\ntorch==2.5.1\n"
    for action, extra in (("sync", []), ("compile", ["-o", "requirements.txt"])):
        plan = _run(
            ["uv", "pip", action, "requirements.in", *extra],
            order=only("nju"),
            files={"requirements.in": text},
            copy_path=lambda p: "/c/" + p,
        )
        assert plan.argv[3:] == ["/c/requirements.in", *extra]
        assert plan.writes["/c/requirements.in"].startswith(f"--index-url {NJU}/cu121\n")
