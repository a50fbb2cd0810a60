"""How long the installer may wait on a silent mirror before minstall falls back. Pure.

Left to themselves, conda waits 60 s per read with 3 retries (about 4 minutes on a hanging
mirror), pip 15 s with 5 retries and backoff, uv 30 s with 3 retries. minstall knows how
fast each mirror answered the bench, and can try another, so it gives the installer a read
timeout of 20 times the slowest chosen mirror's latency, kept between 8 and 14 s, and no
retries of its own (minstall's fallback to the next mirror is the retry): a silent mirror is
abandoned within 30 s (conda waits twice, for its notices and for the repodata: about 14-17
s), while a slow but flowing download (the timeout is per read, not per file) is never cut.
Whatever the user set (the variables below, or pip's ``--timeout``/``--retries``) wins; these
are only defaults for the child.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mirrorinstall.context.facts import Ranking
from mirrorinstall.core.argv import CONDA_TOOLS

MIN_READ_S, MAX_READ_S = 8, 14
RETRIES = 0
CONNECT_S = 5
UNMEASURED_LATENCY_MS = 300.0

_VARIABLES = {
    "conda": {
        "read": "CONDA_REMOTE_READ_TIMEOUT_SECS",
        "connect": "CONDA_REMOTE_CONNECT_TIMEOUT_SECS",
        "retries": "CONDA_REMOTE_MAX_RETRIES",
    },
    "pip": {"read": "PIP_TIMEOUT", "retries": "PIP_RETRIES"},
    "uv": {"read": "UV_HTTP_TIMEOUT", "retries": "UV_HTTP_RETRIES"},
}
_PIP_FLAGS = {"read": ("--timeout",), "retries": ("--retries",)}


def read_timeout_s(latency_ms: float) -> int:
    return int(min(MAX_READ_S, max(MIN_READ_S, round(20 * latency_ms / 1000))))


def child_timeouts(
    tool: str,
    mirrors: Iterable[tuple[str, str]],
    ranking: Ranking,
    environ: Mapping[str, str],
    argv: Iterable[str] = (),
) -> dict[str, str]:
    """Environment variables for the child: (kind, mirror id) pairs are the plan's routes."""
    family = "conda" if tool in CONDA_TOOLS else tool
    names = _VARIABLES.get(family)
    if names is None:
        return {}
    latencies = [
        ranking.latency_ms.get(kind, {}).get(mirror, UNMEASURED_LATENCY_MS)
        for kind, mirror in mirrors
    ]
    values = {
        "read": str(read_timeout_s(max(latencies, default=UNMEASURED_LATENCY_MS))),
        "connect": str(CONNECT_S),
        "retries": str(RETRIES),
    }
    given = list(argv)
    out = {}
    for what, variable in names.items():
        if variable in environ:
            continue
        if family == "pip" and any(
            a == flag or a.startswith(flag + "=") for a in given for flag in _PIP_FLAGS[what]
        ):
            continue
        out[variable] = values[what]
    return out
