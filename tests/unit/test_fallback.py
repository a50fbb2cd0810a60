"""Fallback, pure: which mirror a failure blames, and the next attempt's ranking and plan."""

from __future__ import annotations

from pathlib import Path

from mirrorinstall.context.facts import Facts, Ranking
from mirrorinstall.core.argv import parse_command
from mirrorinstall.core.catalog import build_catalog
from mirrorinstall.rewrite import Context, rewrite
from mirrorinstall.run.fallback import Route, blame, describe_route, next_ranking, routes

ROOT = Path(__file__).resolve().parents[2]
CATALOG = build_catalog([("mirrors.toml", (ROOT / "mirrors.toml").read_text())])
PYPI_A = Route("pypi", "pypi", "a", "http://127.0.0.1:1001/pypi/simple")
TORCH_B = Route("pytorch", "pytorch", "b", "http://127.0.0.1:1002/whl")
BOTH_A = Route("pytorch", "pytorch", "a", "http://127.0.0.1:1001/whl")


def test_the_evidence_url_names_the_culprit_and_its_kind() -> None:
    evidence = "ERROR: HTTP error 404 while getting http://127.0.0.1:1002/whl/cu124/torch-2.5.1.whl"
    assert blame([PYPI_A, TORCH_B], evidence, "", "pypi") == [TORCH_B]


def test_one_host_serving_two_kinds_is_told_apart_by_its_path() -> None:
    text = "Could not fetch URL http://127.0.0.1:1001/whl/cu124/torch/: 403 Client Error"
    assert blame([PYPI_A, BOTH_A], text, "", "pypi") == [BOTH_A]
    text = "Could not fetch URL http://127.0.0.1:1001/pypi/simple/six/: 403 Client Error"
    assert blame([PYPI_A, BOTH_A], text, "", "pypi") == [PYPI_A]


def test_a_host_and_port_without_url_is_enough_and_the_last_one_named_wins() -> None:
    output = (
        "Downloading http://127.0.0.1:1001/pypi/packages/six.whl\n"
        "ReadTimeoutError(\"HTTPConnectionPool(host='127.0.0.1', port=1002): Read timed out.\")"
    )
    assert blame([PYPI_A, TORCH_B], None, output, "pypi") == [TORCH_B]


def test_nothing_named_blames_every_mirror_of_the_primary_kind() -> None:
    assert blame([PYPI_A, TORCH_B], None, "it broke", "pypi") == [PYPI_A]
    conda = [
        Route("conda", "conda:conda-forge", "tuna", "https://t/cf"),
        Route("conda", "conda:nvidia", "sustech", "https://s/nv"),
    ]
    assert blame(conda, None, "PackagesNotFoundInChannelsError", "conda") == conda


def test_next_ranking_drops_the_mirror_for_that_kind_only() -> None:
    ranking = Ranking(order={"pypi": ("a", "b", "c"), "pytorch": ("a", "b")})
    after = next_ranking(ranking, [PYPI_A])
    assert after.of("pypi") == ("b", "c") and after.of("pytorch") == ("a", "b")
    assert after.was_dropped("pypi", "a") and not after.was_dropped("pytorch", "a")
    assert after.rank("pypi", "b") == 2, "ranks stay the bench's"
    last = next_ranking(ranking, [PYPI_A], last=True)
    assert last.of("pypi") == () and last.of("pytorch") == ("a", "b")


def test_a_second_id_for_the_same_server_is_not_the_next_attempt() -> None:
    """Two catalog ids with one URL: when one fails, trying the other repeats the failure."""
    text = (ROOT / "mirrors.toml").read_text()
    twin = (
        'schema = 1\n[mirror.tuna2]\nname = "TUNA again"\nregion = "cn"\n'
        '[mirror.tuna2.pypi]\nsimple = "https://pypi.tuna.tsinghua.edu.cn/simple"\n'
    )
    catalog = build_catalog([("mirrors.toml", text), ("user.toml", twin)])
    ranking = Ranking(order={"pypi": ("tuna", "tuna2", "aliyun")})
    failed = Route("pypi", "pypi", "tuna", "https://pypi.tuna.tsinghua.edu.cn/simple")
    assert next_ranking(ranking, [failed], catalog=catalog).of("pypi") == ("aliyun",)
    assert next_ranking(ranking, [failed]).of("pypi") == ("tuna2", "aliyun")


def _plan(argv: list[str], ranking: Ranking):
    facts = Facts(catalog=CATALOG, ranking=ranking, conda_channels=())
    return rewrite(parse_command(argv), Context(facts))


def test_the_next_plan_routes_the_failed_kind_to_the_next_mirror_and_keeps_the_rest() -> None:
    ranking = Ranking(order={"conda": ("tuna", "ustc", "bfsu")})
    first = _plan(["conda", "install", "-c", "conda-forge", "-c", "bioconda", "x"], ranking)
    assert {r.mirror for r in routes(first.mirrors)} == {"tuna"}
    tuna = routes(first.mirrors)
    second = _plan(
        ["conda", "install", "-c", "conda-forge", "-c", "bioconda", "x"],
        next_ranking(ranking, tuna),
    )
    # USTC carries conda-forge and bioconda (mirror-facts: "USTC conda-forge+bioconda only")
    assert {r.mirror for r in routes(second.mirrors)} == {"ustc"}
    assert "https://mirrors.ustc.edu.cn/anaconda/cloud/conda-forge" in second.argv


def test_every_mirror_gone_falls_back_to_the_official_host_and_says_why() -> None:
    ranking = Ranking(order={"pypi": ("tuna",)})
    gone = next_ranking(ranking, [Route("pypi", "pypi", "tuna", "https://t/simple")])
    plan = _plan(["pip", "install", "six"], gone)
    route = routes(plan.mirrors)[0]
    assert route.mirror == "pypi" and "https://pypi.org/simple" in plan.argv
    assert "failed in this run" in describe_route(route, gone, CATALOG)


def test_an_unmeasured_official_host_is_called_unmeasured() -> None:
    ranking = Ranking(order={}, failed={"pypi": {"tuna": "connect timeout", "pypi": "DNS"}})
    plan = _plan(["pip", "install", "six"], ranking)
    route = routes(plan.mirrors)[0]
    text = describe_route(route, ranking, CATALOG)
    assert "no mirror of pypi could be measured (2 probes failed)" in text
    assert any("no mirror of pypi could be measured" in n for n in plan.notes)
    assert not any("best ranked" in n for n in plan.notes)
