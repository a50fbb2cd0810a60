"""bench's probes against the mirror farm: every fault mode excluded with its reason."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest
from farm import Fault, MirrorSpec

from mirrorinstall.bench.probe import result_row, run_probes
from mirrorinstall.bench.rank import rank_rows
from mirrorinstall.bench.targets import plan_targets
from mirrorinstall.core.catalog import build_catalog

BUDGET = 2 * 1024 * 1024


def bench_rows(
    farm,
    tmp_path: Path,
    *,
    timeout_s: float = 6.0,
    budget: int = BUDGET,
    kinds=("conda", "pypi", "pytorch"),
    environ=None,
    **catalog_kwargs,
) -> dict:
    text = farm.catalog_toml(**catalog_kwargs)
    catalog = build_catalog([(str(tmp_path / "farm.toml"), text)])
    targets = plan_targets(catalog, kinds=kinds)
    results = run_probes(targets, timeout_s=timeout_s, budget_bytes=budget, environ=environ or {})
    rows = rank_rows([result_row(r) for r in results])
    return {(r["mirror"], r["kind"]): r for r in rows}


EXPECTED = [
    # (mirror spec faults, kinds affected, phrase in the error)
    ("refuse", [Fault("refuse")], "connection refused by 127.0.0.1"),
    ("hang", [Fault("hang", hold_s=10)], "went silent for 2 s"),
    ("html200", [Fault("html200")], 'served an HTML page ("Wi-Fi login")'),
    ("forbidden403", [Fault("forbidden403")], "403 Forbidden"),
    ("outofsync", [Fault("out-of-sync")], "out of sync: the index lists"),
    ("corrupt", [Fault("corrupt")], "does not match the sha256 its index gives"),
    (
        "truncate",
        [
            Fault("truncate", path="*/pypi/simple/*"),
            Fault("truncate", path="*/conda/*"),
            Fault("truncate", path="*/whl/*"),
        ],
        "closed the connection mid-answer",
    ),
    (
        "stall",
        [
            Fault("stall", path="*.whl", hold_s=10),
            Fault("stall", path="*.conda", hold_s=10),
            Fault("stall", path="*.bz2", hold_s=10),
        ],
        "went silent for 2 s",
    ),
    ("error500", [Fault("error500")], "HTTP 500 (server error)"),
]


def test_every_fault_mode_is_excluded_with_its_reason(make_farm, tmp_path: Path) -> None:
    specs = [MirrorSpec("good", bandwidth_bps=8e6), MirrorSpec("up", upstream=True)]
    specs += [MirrorSpec(name, faults=faults) for name, faults, _ in EXPECTED]
    specs += [
        MirrorSpec("redirect"),
        MirrorSpec("uablock", faults=[Fault("forbidden403", user_agent=r"^minstall/")]),
    ]
    farm = make_farm(*specs)
    farm["redirect"].set_faults(Fault("redirect", target=farm["up"].url))
    t0 = time.monotonic()
    rows = bench_rows(farm, tmp_path)
    assert time.monotonic() - t0 < 6
    for kind in ("conda", "pypi", "pytorch"):
        assert rows[("good", kind)]["ok"] and rows[("good", kind)]["rank"] is not None
        for name, _, phrase in EXPECTED:
            row = rows[(name, kind)]
            if name == "corrupt" and kind == "pytorch":
                # the only files on a torch page are the big wheels: not checked whole
                assert row["ok"]
                continue
            assert not row["ok"] and row["rank"] is None, (name, kind, row)
            assert phrase in row["error"], (name, kind, row["error"])
        redirect = rows[("redirect", kind)]
        assert (
            not redirect["ok"]
            and f"redirects to 127.0.0.1:{farm['up'].port} (another host)" in redirect["error"]
        )
        ua = rows[("uablock", kind)]
        assert ua["ok"] and "rejects the minstall User-Agent" in ua["warnings"][0]


def test_stale_mirror_is_ranked_below_fresh_ones_with_its_lag(make_farm, tmp_path: Path) -> None:
    farm = make_farm(
        MirrorSpec("fresh", latency_s=0.05, bandwidth_bps=2e6),
        MirrorSpec("stale", bandwidth_bps=50e6, faults=[Fault("stale")]),
    )
    rows = bench_rows(farm, tmp_path)
    for kind in ("conda", "pypi", "pytorch"):
        stale, fresh = rows[("stale", kind)], rows[("fresh", kind)]
        assert stale["ok"] and stale["fresh"] is False and stale["lag_s"] >= 2 * 86_400
        assert fresh["fresh"] is True and fresh["rank"] == 1 and stale["rank"] == 2
    assert "newest here 24.0, elsewhere 25.0" in rows[("stale", "pypi")]["stale_reason"]


def test_measures_latency_throughput_and_keeps_to_the_budget(make_farm, tmp_path: Path) -> None:
    farm = make_farm(
        MirrorSpec("near", latency_s=0.02, bandwidth_bps=4e6),
        MirrorSpec("far", latency_s=0.2, bandwidth_bps=1e6),
    )
    budget = 1024 * 1024
    rows = bench_rows(farm, tmp_path, budget=budget)
    for kind in ("conda", "pypi", "pytorch"):
        near, far = rows[("near", kind)], rows[("far", kind)]
        assert len(near["latency_samples_ms"]) >= 3
        assert far["latency_ms"] >= 200 > near["latency_ms"]
        assert near["throughput_bps"] > 2 * far["throughput_bps"]
        assert 0.5e6 < far["throughput_bps"] < 1.3e6
        assert near["rank"] == 1 and far["rank"] == 2
    for mirror in farm:
        assert mirror.bytes_sent() <= budget, mirror.id
        assert sum(rows[(mirror.id, k)]["bytes"] for k in ("conda", "pypi", "pytorch")) <= budget
    # the latency requests of one target share one connection
    pypi_conns = {q.connection for q in farm["near"].requests if q.path == "/pypi/simple/pip/"}
    assert len(pypi_conns) == 1


def test_partial_carriers_are_probed_on_what_they_carry(make_farm, tmp_path: Path) -> None:
    farm = make_farm(
        MirrorSpec("defaults-only", conda=["main", "r"], pypi=False, pytorch=None),
        MirrorSpec("flat", conda=(), pypi=False, pytorch="find-links"),
    )
    rows = bench_rows(farm, tmp_path)
    assert set(rows) == {("defaults-only", "conda"), ("flat", "pytorch")}
    main = rows[("defaults-only", "conda")]
    assert main["ok"] and main["channel"] == "main" and main["group"] == "conda:main/noarch"
    flat = rows[("flat", "pytorch")]
    assert flat["ok"] and flat["newest"] == "2.5.1+cpu" and "/pytorch-wheels/cpu/" in flat["url"]


def test_a_channel_the_catalog_claims_but_the_mirror_lacks(make_farm, tmp_path: Path) -> None:
    farm = make_farm(MirrorSpec("m", conda=["main"], pypi=False, pytorch=None))
    text = farm.catalog_toml().replace(
        "[mirror.m.conda]",
        f'[mirror.m.conda]\nconda-forge = "{farm["m"].channel_url("conda-forge")}"',
    )
    catalog = build_catalog([("farm.toml", text)])
    rows = [
        result_row(r)
        for r in run_probes(plan_targets(catalog), timeout_s=5, budget_bytes=BUDGET, environ={})
    ]
    assert rows[0]["channel"] == "conda-forge" and not rows[0]["ok"]
    assert "404 Not Found" in rows[0]["error"] and "is not on this mirror" in rows[0]["error"]


def test_the_deadline_holds_whatever_the_mirrors_do(make_farm, tmp_path: Path) -> None:
    farm = make_farm(MirrorSpec("ok"), MirrorSpec("crawl", bandwidth_bps=20_000))
    t0 = time.monotonic()
    rows = bench_rows(farm, tmp_path, timeout_s=1.5, kinds=("pypi",))
    assert time.monotonic() - t0 < 2.5
    crawl = rows[("crawl", "pypi")]
    assert rows[("ok", "pypi")]["ok"]
    if crawl["ok"]:
        assert "cut by the 1.5 s deadline" in crawl["warnings"][-1]
    else:
        assert "deadline" in crawl["error"]


@pytest.mark.parametrize("token", ["s3cret", None])
def test_token_env_sends_the_token_as_basic_auth(make_farm, tmp_path: Path, token) -> None:
    """HTTP Basic, user __token__: what pip, uv and conda send (core/credentials.py)."""
    farm = make_farm(MirrorSpec("m", conda=(), pytorch=None))
    text = farm.catalog_toml().replace('region = "farm"', 'region = "farm"\ntoken_env = "M_TOKEN"')
    catalog = build_catalog([("farm.toml", text)])
    env = {"M_TOKEN": token} if token else {}
    run_probes(plan_targets(catalog), timeout_s=5, budget_bytes=BUDGET, environ=env)
    assert farm["m"].requests
    basic = "Basic " + base64.b64encode(f"__token__:{token}".encode()).decode()
    expected = {basic} if token else {None}
    assert {q.authorization for q in farm["m"].requests} == expected


def test_names_are_resolved_once_before_the_probes_and_dns_failures_say_so(
    make_farm, tmp_path: Path
) -> None:
    """Host names, through a stub resolver (no /etc/hosts, no DNS server): every name is
    looked up once, however many probes use it; a slow lookup does not eat the connect
    timeout; a name that does not resolve is a DNS failure, not a connect timeout."""
    import asyncio
    import socket

    farm = make_farm(
        MirrorSpec("fast"), MirrorSpec("slowdns"), MirrorSpec("nxdomain"), MirrorSpec("ip")
    )
    text = farm.catalog_toml()
    for name in ("fast", "slowdns", "nxdomain"):
        text = text.replace(farm[name].url, f"http://{name}.test:{farm[name].port}")
        text = text.replace(f'name = "farm mirror {name}"', f'name = "{name}"\ninsecure = true')
    catalog = build_catalog([(str(tmp_path / "names.toml"), text)])
    lookups: list[str] = []

    async def resolver(host: str, port: int) -> str:
        lookups.append(host)
        if host == "nxdomain.test":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if host == "slowdns.test":
            await asyncio.sleep(2.5)  # longer than a probe's 2 s connect timeout
        return "127.0.0.1"

    results = run_probes(
        plan_targets(catalog), timeout_s=6.0, budget_bytes=BUDGET, environ={}, resolver=resolver
    )
    rows = {(r["mirror"], r["kind"]): r for r in rank_rows([result_row(r) for r in results])}
    assert sorted(lookups) == ["fast.test", "nxdomain.test", "slowdns.test"]  # once each
    for kind in ("conda", "pypi", "pytorch"):
        assert rows[("fast", kind)]["ok"] and rows[("ip", kind)]["ok"]
        slow = rows[("slowdns", kind)]
        assert slow["ok"] and slow["latency_ms"] < 1000, slow  # DNS time is not latency
        nx = rows[("nxdomain", kind)]
        assert not nx["ok"]
        assert nx["error"] == "DNS: cannot resolve nxdomain.test (Name or service not known)"
    assert any(q.path.startswith("/pypi/") for q in farm["slowdns"].requests)
