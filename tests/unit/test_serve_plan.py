"""The fleet cache's routes and nginx configuration (issue 22), from the packaged catalog and a
hand-written ranking. Expected URLs are written by hand from mirrors.toml's entries (TUNA's
and NJU's help pages, cited there); nginx's own check of the rendered file is in
tests/cli/test_serve.py, with the real nginx."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirrorinstall.context.facts import Facts, Ranking
from mirrorinstall.core.catalog import build_catalog
from mirrorinstall.core.errors import UsageError
from mirrorinstall.rewrite import Context
from mirrorinstall.serve.nginxconf import Settings, render
from mirrorinstall.serve.packaged import load_absolutes
from mirrorinstall.serve.plan import catalog_entry, plan_cache

ROOT = Path(__file__).resolve().parents[2]
CATALOG = build_catalog([("mirrors.toml", (ROOT / "mirrors.toml").read_text())])
SETTINGS = Settings(
    "0.0.0.0", 8790, "/srv/m/run", "/srv/m/sock", "/srv/m/cache", 10 * 2**30, 10, "stderr"
)


def _plan(order: dict[str, tuple[str, ...]]):
    ctx = Context(Facts(catalog=CATALOG, ranking=Ranking(order=order)))
    return plan_cache(ctx, load_absolutes())


def test_routes_follow_the_ranking_and_never_add_an_unranked_official_host() -> None:
    plan = _plan({"pypi": ("tuna", "nju"), "pytorch": ("nju",), "conda": ("tuna",)})
    routes = {r.prefix: r for r in plan.routes}
    assert [(u.mirror, u.base) for u in routes["/pypi/"].upstreams] == [
        ("tuna", "https://pypi.tuna.tsinghua.edu.cn/"),
        ("nju", "https://mirror.nju.edu.cn/pypi/web/"),
    ]
    assert [u.base for u in routes["/whl/"].upstreams] == ["https://mirror.nju.edu.cn/pytorch/whl/"]
    assert [u.base for u in routes["/conda/main/"].upstreams] == [
        "https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main/"
    ]
    assert [u.base for u in routes["/conda/conda-forge/"].upstreams] == [
        "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/conda-forge/"
    ]
    hosts = {u.host for r in plan.routes for u in r.upstreams}
    assert not hosts & {"pypi.org", "files.pythonhosted.org", "download.pytorch.org"}
    assert "/pythonhosted/" not in routes  # pypi.org is not in the ranking


def test_pypi_org_in_the_ranking_brings_its_file_host_and_pages_are_rewritten() -> None:
    plan = _plan({"pypi": ("tuna", "pypi"), "pytorch": ("pytorch-org",)})
    routes = {r.prefix: r for r in plan.routes}
    assert [u.base for u in routes["/pythonhosted/"].upstreams] == [
        "https://files.pythonhosted.org/"
    ]
    assert ("https://files.pythonhosted.org/", "/pythonhosted/") in routes["/pypi/"].rewrites
    assert set(routes["/whl/"].rewrites) == {
        ("https://download-r2.pytorch.org/whl/", "/whl/"),
        ("https://download.pytorch.org/whl/", "/whl/"),
    }


def test_a_flat_pytorch_copy_is_left_out_with_the_reason() -> None:
    plan = _plan({"pytorch": ("aliyun",)})
    assert "/whl/" not in {r.prefix for r in plan.routes}
    assert any("aliyun serve flat find-links pages" in n for n in plan.notes)


def test_the_config_has_a_socket_server_per_mirror_and_ordered_failover() -> None:
    plan = _plan({"pypi": ("tuna", "nju", "ustc")})
    text = render(plan, SETTINGS)
    pypi = next(i for i, r in enumerate(plan.routes) if r.prefix == "/pypi/")
    group = text.split(f"upstream mi_r{pypi} {{", 1)[1].split("}", 1)[0]
    assert [line.split()[1] for line in group.strip().splitlines()[:3]] == [
        f"unix:/srv/m/sock/r{pypi}u0.sock",
        f"unix:/srv/m/sock/r{pypi}u1.sock",
        f"unix:/srv/m/sock/r{pypi}u2.sock",
    ]
    assert "backup" not in group.splitlines()[1] and "backup" in group.splitlines()[2]
    assert "proxy_set_header Host pypi.tuna.tsinghua.edu.cn;" in text
    assert "proxy_ssl_name mirror.nju.edu.cn;" in text
    assert "proxy_cache_lock_timeout 1h;" in text and "slice 1m;" in text
    assert "sub_filter 'https://mirror.nju.edu.cn/pypi/web/' '/pypi/';" in text


@pytest.mark.parametrize("bad", ["/srv/a b", "/srv/$x", "/srv/a;b", "/srv/{x}", "/srv/'x"])
def test_a_folder_nginx_would_read_as_syntax_is_refused(bad: str) -> None:
    from dataclasses import replace

    with pytest.raises(UsageError, match="refusing to write"):
        render(_plan({"pypi": ("tuna",)}), replace(SETTINGS, cache_dir=bad))


def test_the_printed_catalog_entry_is_a_mirror_the_catalog_reads() -> None:
    plan = _plan({"pypi": ("tuna",), "pytorch": ("nju",), "conda": ("tuna",)})
    entry = catalog_entry("lab-cache", "http://10.0.0.5:8790/", plan)
    mirror = build_catalog([("lab.toml", entry)]).get("lab-cache")
    assert mirror is not None
    assert mirror.pypi is not None and mirror.pypi.simple == "http://10.0.0.5:8790/pypi/simple"
    assert mirror.pytorch is not None and mirror.pytorch.base == "http://10.0.0.5:8790/whl"
    assert mirror.channel_url("conda-forge") == "http://10.0.0.5:8790/conda/conda-forge"
    assert mirror.channel_url("main") == "http://10.0.0.5:8790/conda/main"


def test_a_mirror_that_needs_a_token_is_not_served_through_the_cache() -> None:
    """The cache would hold the token and hand what it fetched to every client (or, without
    it, pass on the mirror's 401): such a mirror is left out, with a note."""
    text = (
        (ROOT / "mirrors.toml")
        .read_text()
        .replace("[mirror.tuna]\n", '[mirror.tuna]\ntoken_env = "TUNA_TOKEN"\n', 1)
    )
    catalog = build_catalog([("mirrors.toml", text)])
    ctx = Context(Facts(catalog=catalog, ranking=Ranking(order={"pypi": ("tuna", "nju")})))
    plan = plan_cache(ctx, load_absolutes())
    pypi = next(r for r in plan.routes if r.prefix == "/pypi/")
    assert [u.mirror for u in pypi.upstreams] == ["nju"]
    assert any("tuna need a token" in n for n in plan.notes)
