"""Copies of hosts no mirror kind covers (``[mirror.X.hosts]``): PyG's pages on data.pyg.org,
PaddlePaddle's per-CUDA indexes on paddlepaddle.org.cn, OpenMMLab's pages. No public mirror
in the catalog's sources copies them (../shared/research/mirrors.md lists none); a lab's or a
company's proxy does, and the rewrite sends the command there."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirrorinstall.context.facts import Facts, Ranking
from mirrorinstall.core.argv import parse_command
from mirrorinstall.core.catalog import build_catalog
from mirrorinstall.core.errors import CatalogError
from mirrorinstall.cuda.choose import HostCuda
from mirrorinstall.cuda.packaged import load_tables
from mirrorinstall.rewrite import Context, rewrite

ROOT = Path(__file__).resolve().parents[2]
PACKAGED = ("mirrors.toml", (ROOT / "mirrors.toml").read_text())
PYG = "https://data.pyg.org/whl/"
PADDLE = "https://www.paddlepaddle.org.cn/packages/stable/"
LAB = f"""
schema = 1
[mirror.lab]
name = "the lab's proxy"
region = "CN"
[mirror.lab.hosts]
"{PYG}" = "https://proxy.lab.example/pyg/"
"{PADDLE}" = "https://proxy.lab.example/paddle/"

[mirror.corp]
name = "the company's Artifactory"
region = "CN"
[mirror.corp.hosts]
"{PYG}" = "https://art.corp.example/api/pypi/pyg/"
"""


def _plan(line: str, *, ranking: Ranking | None = None, mode: str = "keep", files=None):
    facts = Facts(
        catalog=build_catalog([PACKAGED, ("user.toml", LAB)]),
        ranking=ranking or Ranking(order={"pypi": ("tuna",), "pytorch": ("nju",)}),
        tables=load_tables(),
        host=HostCuda(driver="470.82.01"),
        platform="linux-64",
        python="3.11",
        files=files or {},
        copies={name: f"copy-of-{name}" for name in files or {}},
    )
    return rewrite(parse_command(line.split()), Context(facts, mode, False))


def test_a_pyg_page_is_chosen_for_the_torch_then_taken_from_the_copy() -> None:
    # driver 470 runs CUDA 11.x only: torch 2.1.2 gets cu118, and PyG's page follows it
    got = _plan(
        f"pip install torch==2.1.2 torch_scatter -f {PYG}torch-2.1.0+cu121.html",
        mode="auto",
    )
    assert "https://proxy.lab.example/pyg/torch-2.1.0+cu118.html" in got.argv, got.argv
    assert got.mirrors[f"hosts:{PYG}torch-2.1.0+cu118.html"]["mirror"] == "lab"
    assert not [t for t in got.argv if t.startswith(PYG)]


def test_paddles_index_is_matched_to_the_driver_then_taken_from_the_copy() -> None:
    # PaddlePaddle's cu126 build needs CUDA 12 (driver >= 525.60.13); 470 runs its cu118 one
    got = _plan(f"pip install paddlepaddle-gpu==3.0.0 -i {PADDLE}cu126/", mode="auto")
    assert "https://proxy.lab.example/paddle/cu118/" in got.argv, (got.argv, got.notes)


def test_a_copy_ranked_by_the_bench_comes_before_one_in_catalog_order() -> None:
    ranking = Ranking(order={"pypi": ("tuna", "corp")})
    got = _plan(f"pip install torch_scatter -f {PYG}torch-2.1.0+cpu.html", ranking=ranking)
    assert "https://art.corp.example/api/pypi/pyg/torch-2.1.0+cpu.html" in got.argv
    assert any("best bench rank is 2" in n for n in got.notes), got.notes


@pytest.mark.parametrize(
    ("ranking", "expected"),
    [
        # the lab's proxy failed every probe of this bench: passed over
        (Ranking(order={}, failed={"pypi": {"lab": "timed out"}}), "art.corp.example"),
        # it failed earlier in this run (the fallback dropped it)
        (Ranking(order={}, dropped={"hosts": ("lab",)}), "art.corp.example"),
        # forced with --mirror
        (Ranking.forced_to("corp", ["pypi"]), "art.corp.example"),
        (Ranking(order={}), "proxy.lab.example"),
    ],
)
def test_which_copy(ranking: Ranking, expected: str) -> None:
    got = _plan(f"pip install torch_scatter -f {PYG}torch-2.1.0+cpu.html", ranking=ranking)
    assert [t for t in got.argv if expected in t], (got.argv, got.notes)


def test_a_page_in_a_requirements_file_is_taken_from_the_copy() -> None:
    files = {"req.txt": f"--find-links {PYG}torch-2.4.0+cu121.html\ntorch-scatter\n"}
    got = _plan("pip install -r req.txt", files=files)
    (text,) = got.writes.values()
    assert "--find-links https://proxy.lab.example/pyg/torch-2.4.0+cu121.html" in text, text


def test_without_a_copy_the_official_host_stays_with_the_reason() -> None:
    facts = Facts(
        catalog=build_catalog([PACKAGED]),
        ranking=Ranking(order={"pypi": ("tuna",)}),
        tables=load_tables(),
        host=HostCuda(driver="550.54.14"),
        platform="linux-64",
        python="3.11",
    )
    line = f"pip install paddlepaddle-gpu==3.0.0 -i {PADDLE}cu126/"
    got = rewrite(parse_command(line.split()), Context(facts, "auto", False))
    assert f"{PADDLE}cu126/" in got.argv
    assert any("no catalogued mirror copies it" in n for n in got.notes), got.notes


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ('"http://data.pyg.org/whl/" = "https://p.example/pyg/"', "an https:// URL ending"),
        ('"https://data.pyg.org/whl" = "https://p.example/pyg/"', "an https:// URL ending"),
        ('"https://data.pyg.org/whl/" = "https://p.example/pyg"', "must end in '/'"),
        ('"https://data.pyg.org/whl/" = "http://p.example/pyg/"', "plain http:// is refused"),
        ('"https://data.pyg.org/whl/" = 3', "must be a URL string"),
    ],
)
def test_a_bad_hosts_table_names_the_file_mirror_and_key(table: str, said: str) -> None:
    text = f'schema = 1\n[mirror.p]\nname = "p"\nregion = "x"\n[mirror.p.hosts]\n{table}\n'
    with pytest.raises(CatalogError) as err:
        build_catalog([("user.toml", text)])
    message = str(err.value)
    assert "user.toml" in message and "mirror 'p'" in message and "hosts." in message, message
    assert said in message, message


def test_a_mirror_with_only_host_copies_is_a_mirror() -> None:
    catalog = build_catalog([("user.toml", LAB)])
    lab = catalog.get("lab")
    assert lab is not None and lab.kinds == ()
    assert lab.copy_of(f"{PYG}torch-2.5.0+cu124.html") == (
        "https://proxy.lab.example/pyg/torch-2.5.0+cu124.html"
    )
    assert lab.copy_of("https://data.pyg.org/other/x.html") is None


def test_the_listing_shows_what_a_mirror_copies() -> None:
    from mirrorinstall.core.listing import format_mirror_table, mirror_to_json

    lab = build_catalog([("user.toml", LAB)]).get("lab")
    assert lab is not None
    assert "(copies data.pyg.org, www.paddlepaddle.org.cn)" in format_mirror_table([lab])
    assert mirror_to_json(lab)["hosts"] == {
        PYG: "https://proxy.lab.example/pyg/",
        PADDLE: "https://proxy.lab.example/paddle/",
    }


def test_when_every_copy_failed_the_official_host_is_the_route_and_said() -> None:
    from mirrorinstall.run.fallback import describe_route, routes

    ranking = Ranking(order={}, dropped={"hosts": ("lab", "corp")})
    got = _plan(f"pip install torch_scatter -f {PYG}torch-2.1.0+cpu.html", ranking=ranking)
    assert f"{PYG}torch-2.1.0+cpu.html" in got.argv
    (route,) = [r for r in routes(got.mirrors) if r.kind == "hosts"]
    catalog = build_catalog([PACKAGED, ("user.toml", LAB)])
    assert "the official host (its copies failed in this run)" in describe_route(
        route, ranking, catalog
    )
