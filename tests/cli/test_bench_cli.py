"""`minstall bench` end to end: the console script against the mirror farm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from farm import Fault, MirrorSpec

from mirrorinstall.core.errors import EXIT_NO_MIRROR, EXIT_USAGE

from .test_cli import farm_env as env_for
from .test_cli import minstall

# The documented schema of `minstall bench --json` (README, "minstall bench --json").
TOP_KEYS = {
    "schema": int,
    "created_at": str,
    "created_at_s": float,
    "elapsed_s": float,
    "cached": bool,
    "network": str,
    "network_from": str,
    "catalog": str,
    "kinds": list,
    "mirrors": (list, type(None)),
    "timeout_s": float,
    "budget_bytes": int,
    "max_lag_s": float,
    "workloads": dict,
    "results": list,
}
ROW_KEYS = {
    "mirror": str,
    "kind": str,
    "channel": (str, type(None)),
    "group": str,
    "upstream": bool,
    "url": str,
    "final_url": (str, type(None)),
    "ok": bool,
    "error": (str, type(None)),
    "warnings": list,
    "rank": (int, type(None)),
    "ranks": dict,
    "score_s": dict,
    "latency_ms": (float, type(None)),
    "latency_samples_ms": list,
    "connect_ms": (float, type(None)),
    "throughput_bps": (int, type(None)),
    "throughput_url": (str, type(None)),
    "bytes": int,
    "lag_s": (float, int, type(None)),
    "fresh": (bool, type(None)),
    "stale_reason": (str, type(None)),
    "last_modified_s": (float, type(None)),
    "newest": (str, type(None)),
    "newest_time_s": (float, type(None)),
    "elapsed_s": float,
}


@pytest.fixture
def farm_env(make_farm, tmp_path: Path):
    farm = make_farm(
        MirrorSpec("fast", latency_s=0.01, bandwidth_bps=8e6),
        MirrorSpec("slow", latency_s=0.15, bandwidth_bps=1e6),
        MirrorSpec("portal", faults=[Fault("html200")]),
        MirrorSpec("pypi-only", conda=(), pytorch=None),
    )
    return farm, env_for(farm, tmp_path)


def test_json_report_follows_the_documented_schema(farm_env) -> None:
    _, env = farm_env
    proc = minstall("bench", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    for key, typ in TOP_KEYS.items():
        assert isinstance(data[key], typ), key
    assert data["schema"] == 1 and data["network"] == "test" and not data["cached"]
    assert data["created_at"].endswith("Z") and data["elapsed_s"] < data["timeout_s"]
    assert len(data["results"]) == 3 * 3 + 1
    for row in data["results"]:
        assert set(row) == set(ROW_KEYS), set(row) ^ set(ROW_KEYS)
        for key, typ in ROW_KEYS.items():
            assert isinstance(row[key], typ), (key, row[key])
        assert (row["rank"] is None) == (not row["ok"])
    by = {(r["mirror"], r["kind"]): r for r in data["results"]}
    assert by[("fast", "conda")]["rank"] == 1 and by[("slow", "conda")]["rank"] == 2
    assert "Wi-Fi login" in by[("portal", "pypi")]["error"]


def test_the_ranking_is_cached_per_network_and_refresh_measures_again(farm_env) -> None:
    farm, env = farm_env
    assert minstall("bench", env=env).returncode == 0
    requests = len(farm["fast"].requests)
    again = minstall("bench", "--json", env=env)
    assert json.loads(again.stdout)["cached"] is True
    assert "using the ranking cached 0 min ago" in again.stderr
    assert len(farm["fast"].requests) == requests, "no traffic for a cached ranking"
    subset = json.loads(
        minstall("bench", "--json", "--kind", "pypi", "--mirror", "slow", env=env).stdout
    )
    assert subset["cached"] and [(r["mirror"], r["kind"]) for r in subset["results"]] == [
        ("slow", "pypi")
    ]
    other_net = minstall("bench", "--json", env={**env, "MINSTALL_NETWORK_ID": "elsewhere"})
    assert json.loads(other_net.stdout)["cached"] is False
    fresh = minstall("bench", "--refresh", "--json", env=env)
    assert json.loads(fresh.stdout)["cached"] is False
    assert len(farm["fast"].requests) > requests


def test_a_corrupt_cache_file_is_measured_over(farm_env, tmp_path: Path) -> None:
    _, env = farm_env
    path = tmp_path / "cache" / "rankings" / "test.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"schema": 1, "created_at_s": ')
    proc = minstall("bench", "--json", env=env)
    assert proc.returncode == 0 and json.loads(proc.stdout)["cached"] is False
    assert json.loads(path.read_text())["schema"] == 1


def test_table_and_explain(farm_env) -> None:
    _, env = farm_env
    proc = minstall("bench", "--kind", "conda", "--explain", env=env)
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:5] == ["RANK", "MIRROR", "KIND", "LATENCY", "CONNECT"]
    assert lines[1].startswith("1     fast")
    assert any("FAILED: served an HTML page" in line for line in lines)
    assert any(line.startswith("fast conda: rank 1 for small workload: 80 x") for line in lines)
    assert "portal conda: not ranked: served an HTML page" in proc.stdout


def test_all_mirrors_dead_names_each_failure_and_exits_69(make_farm, tmp_path: Path) -> None:
    farm = make_farm(
        MirrorSpec("a", faults=[Fault("refuse")]), MirrorSpec("b", faults=[Fault("forbidden403")])
    )
    proc = minstall("bench", "--kind", "pypi", env=env_for(farm, tmp_path))
    assert proc.returncode == EXIT_NO_MIRROR
    assert "minstall: error: no mirror answered usefully: all 2 probes failed" in proc.stderr
    assert "hint: " in proc.stderr
    both = proc.stdout + proc.stderr
    # each failure once: in the table, not again in the error
    assert both.count("connection refused by 127.0.0.1") == 1, both
    assert both.count("FAILED: 403 Forbidden") == 1 and both.count("Forbidden for") == 1, both
    assert "FAILED: connection refused by 127.0.0.1" in proc.stdout
    assert not (tmp_path / "cache" / "rankings").exists(), "nothing worth caching"


def test_bad_filters_are_usage_errors(farm_env) -> None:
    _, env = farm_env
    unknown = minstall("bench", "--mirror", "nope", env=env)
    assert unknown.returncode == EXIT_USAGE and "no mirror with id nope" in unknown.stderr
    assert minstall("bench", "--budget", "10", env=env).returncode == EXIT_USAGE
    assert minstall("bench", "--kind", "npm", env=env).returncode == EXIT_USAGE


def test_alternating_kinds_keeps_every_kind_measured(farm_env) -> None:
    """Issue 20: each quick bench of one kind replaced the cached others, so alternating a
    conda and a pip command measured every time. Now the kinds measured stay together."""
    farm, env = farm_env
    assert minstall("bench", "--kind", "conda", env=env).returncode == 0
    assert minstall("bench", "--kind", "pypi", env=env).returncode == 0
    requests = sum(len(m.requests) for m in farm)
    for kind in ("conda", "pypi", "conda"):
        again = minstall("bench", "--json", "--kind", kind, env=env)
        assert json.loads(again.stdout)["cached"] is True, again.stderr
    assert sum(len(m.requests) for m in farm) == requests, "no traffic for cached kinds"
