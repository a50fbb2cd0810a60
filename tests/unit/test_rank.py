"""Freshness and ranking of probe rows (pure)."""

from __future__ import annotations

import pytest

from mirrorinstall.bench.rank import WORKLOADS, explain, rank_rows, score_s

DAY = 86_400


def row(
    mirror: str,
    kind: str = "pypi",
    *,
    ok: bool = True,
    latency_ms: float | None = 50,
    bps: float | None = 10e6,
    lm: float | None = 1e9,
    newest: str | None = "25.0",
    newest_t: float | None = None,
    group: str | None = None,
) -> dict:
    return {
        "mirror": mirror,
        "kind": kind,
        "group": group or f"{kind}:x",
        "ok": ok,
        "error": None if ok else "connection refused by host",
        "latency_ms": latency_ms,
        "throughput_bps": bps,
        "last_modified_s": lm,
        "newest": newest,
        "newest_time_s": newest_t,
        "warnings": [],
    }


def test_score_is_requests_times_latency_plus_bytes_over_throughput() -> None:
    w = WORKLOADS["small"]
    assert score_s(row("a", latency_ms=100, bps=1e6), w) == pytest.approx(
        w.requests * 0.1 + w.bytes / 1e6
    )
    assert score_s(row("a", latency_ms=None), w) is None


def test_latency_decides_small_and_throughput_decides_large() -> None:
    near = row("near", latency_ms=10, bps=5e6)  # close, thin pipe
    far = row("far", latency_ms=200, bps=50e6)  # far, fat pipe
    near, far = rank_rows([near, far])
    assert near["ranks"]["small"] == 1 and far["ranks"]["large"] == 1
    assert near["rank"] == 1, "pypi ranks by the small workload"
    torch = [
        row("near", "pytorch", latency_ms=10, bps=5e6),
        row("far", "pytorch", latency_ms=200, bps=50e6),
    ]
    torch = rank_rows(torch)
    assert [r["rank"] for r in torch] == [2, 1], "pytorch ranks by the large workload"


def test_stale_mirrors_rank_below_fresh_ones_and_failures_are_unranked() -> None:
    fresh_slow = row("slow", latency_ms=300, bps=1e6, lm=10 * DAY)
    stale_fast = row("stale", latency_ms=5, bps=100e6, lm=7 * DAY, newest="24.0")
    dead = row("dead", ok=False, latency_ms=None, bps=None)
    stale_fast, fresh_slow, dead = rank_rows([stale_fast, fresh_slow, dead], max_lag_s=DAY)
    assert stale_fast["lag_s"] == 3 * DAY and stale_fast["fresh"] is False
    assert "lags the newest copy by 3.0 d" in stale_fast["stale_reason"]
    assert "newest here 24.0, elsewhere 25.0" in stale_fast["stale_reason"]
    assert fresh_slow["rank"] == 1 and stale_fast["rank"] == 2 and dead["rank"] is None
    assert explain(dead) == "dead pypi: not ranked: connection refused by host"
    assert "stale: lags" in explain(stale_fast)


def test_a_small_lag_is_fresh_and_groups_are_compared_apart() -> None:
    a = row("a", lm=1000.0, group="conda:conda-forge/noarch")
    b = row("b", lm=1000.0 - 3600, group="conda:conda-forge/noarch")
    c = row("c", lm=5.0, group="conda:main/noarch")  # another channel: not compared with a, b
    a, b, c = rank_rows([a, b, c], max_lag_s=DAY)
    assert b["lag_s"] == 3600 and b["fresh"] is True and c["lag_s"] == 0


def test_missing_newest_version_without_times_is_stale() -> None:
    a, b = row("a", lm=None, newest="25.0"), row("b", lm=None, newest="24.0")
    a, b = rank_rows([a, b])
    assert b["fresh"] is False and b["stale_reason"] == "lacks 25.0 (newest here: 24.0)"


def test_no_throughput_figure_ranks_after_measured_ones() -> None:
    rows = rank_rows(
        [row("unknown", latency_ms=1, bps=None), row("measured", latency_ms=100, bps=1e6)]
    )
    assert [r["rank"] for r in rows] == [2, 1]
