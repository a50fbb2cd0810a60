"""The installer's timeouts from the bench's latencies (pure)."""

from __future__ import annotations

from mirrorinstall.context.facts import Ranking
from mirrorinstall.run.timeouts import child_timeouts

RANKING = Ranking(
    order={"conda": ("near", "far"), "pypi": ("near",)},
    latency_ms={"conda": {"near": 5.0, "far": 600.0}, "pypi": {"near": 5.0}},
)


def test_conda_gets_a_read_timeout_from_the_slowest_chosen_mirror_and_no_retry() -> None:
    near = child_timeouts("conda", [("conda", "near")], RANKING, {})
    assert near == {
        "CONDA_REMOTE_READ_TIMEOUT_SECS": "8",  # 20 x 5 ms is below the 8 s floor
        "CONDA_REMOTE_CONNECT_TIMEOUT_SECS": "5",
        "CONDA_REMOTE_MAX_RETRIES": "0",  # minstall's fallback is the retry
    }
    both = child_timeouts("mamba", [("conda", "near"), ("conda", "far")], RANKING, {})
    assert both["CONDA_REMOTE_READ_TIMEOUT_SECS"] == "12"  # 20 x 600 ms
    slow = Ranking(order={"conda": ("x",)}, latency_ms={"conda": {"x": 5000.0}})
    capped = child_timeouts("conda", [("conda", "x")], slow, {})
    assert capped["CONDA_REMOTE_READ_TIMEOUT_SECS"] == "14"  # notices + repodata: 2 x 14 s


def test_what_the_user_set_wins() -> None:
    mine = child_timeouts("conda", [("conda", "near")], RANKING, {"CONDA_REMOTE_MAX_RETRIES": "5"})
    assert "CONDA_REMOTE_MAX_RETRIES" not in mine and "CONDA_REMOTE_READ_TIMEOUT_SECS" in mine
    flags = child_timeouts("pip", [("pypi", "near")], RANKING, {}, ["--timeout", "60"])
    assert flags == {"PIP_RETRIES": "0"}
    assert child_timeouts("uv", [("pypi", "near")], RANKING, {"UV_HTTP_TIMEOUT": "3"}) == {
        "UV_HTTP_RETRIES": "0"
    }


def test_an_unmeasured_mirror_gets_the_floor_and_other_tools_nothing() -> None:
    assert child_timeouts("pip", [("pypi", "forced")], RANKING, {})["PIP_TIMEOUT"] == "8"
    assert child_timeouts("npm", [("pypi", "near")], RANKING, {}) == {}
