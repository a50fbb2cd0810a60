"""Probe results -> freshness and ranks. Pure: rows (dicts, as in ``bench --json``) in and out.

Score = predicted seconds to fetch a workload from that mirror::

    requests x latency + bytes / throughput

Two workloads (``WORKLOADS``): ``small``, an environment of many small packages, where
latency dominates; ``large``, one big wheel such as torch, where throughput dominates.
Each kind is ranked under the workload that fits its job (``DEFAULT_WORKLOAD``); both
ranks are in every row.

Order within a kind: fresh mirrors before those lagging more than ``max_lag_s``, then
by score (a mirror with no throughput figure after those with one), then by id.
Failed probes get no rank.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mirrorinstall.core.defaults import DEFAULT_MAX_LAG_S

MiB = 1024 * 1024


@dataclass(frozen=True)
class Workload:
    requests: int
    bytes: int
    about: str


WORKLOADS = {
    "small": Workload(80, 40 * MiB, "an environment of many small packages (80 requests, 40 MiB)"),
    "large": Workload(2, 2560 * MiB, "one big wheel such as torch+cu12x (2 requests, 2.5 GiB)"),
}
DEFAULT_WORKLOAD = {"conda": "small", "pypi": "small", "pytorch": "large"}


def score_s(row: dict[str, Any], workload: Workload) -> float | None:
    latency_ms, bps = row.get("latency_ms"), row.get("throughput_bps")
    if latency_ms is None:
        return None
    transfer = workload.bytes / bps if bps else 0.0
    return workload.requests * latency_ms / 1000 + transfer


def annotate_freshness(rows: list[dict[str, Any]], max_lag_s: float) -> None:
    """Set ``lag_s``, ``fresh`` and ``stale_reason`` by comparing rows of the same group."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        row.setdefault("lag_s", None)
        row.setdefault("fresh", None)
        row.setdefault("stale_reason", None)
        if row["ok"]:
            groups.setdefault(row["group"], []).append(row)
    for members in groups.values():
        newest_lm = max(
            (r["last_modified_s"] for r in members if r["last_modified_s"]), default=None
        )
        newest_t = max((r["newest_time_s"] for r in members if r["newest_time_s"]), default=None)
        newest_v = _newest_version(r["newest"] for r in members)
        for r in members:
            lags = []
            if newest_t and r["newest_time_s"]:
                lags.append(newest_t - r["newest_time_s"])
            if newest_lm and r["last_modified_s"]:
                lags.append(newest_lm - r["last_modified_s"])
            r["lag_s"] = round(max(lags), 1) if lags else None
            behind = (
                newest_v is not None
                and r["newest"] is not None
                and _version_key(r["newest"]) < _version_key(newest_v)
            )
            if r["lag_s"] is not None and r["lag_s"] > max_lag_s:
                r["fresh"] = False
                r["stale_reason"] = f"lags the newest copy by {format_duration(r['lag_s'])}"
                if behind:
                    r["stale_reason"] += f" (newest here {r['newest']}, elsewhere {newest_v})"
            elif behind and r["lag_s"] is None:
                r["fresh"] = False
                r["stale_reason"] = f"lacks {newest_v} (newest here: {r['newest']})"
            else:
                r["fresh"] = True


def _newest_version(values: Iterable[str | None]) -> str | None:
    present = [v for v in values if v]
    return max(present, key=_version_key) if present else None


def _version_key(value: str) -> tuple:
    from packaging.version import InvalidVersion, Version

    try:
        return (1, Version(value))
    except InvalidVersion:
        return (0, value)


def format_duration(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min"


def rank_rows(
    rows: list[dict[str, Any]], max_lag_s: float = DEFAULT_MAX_LAG_S
) -> list[dict[str, Any]]:
    """New rows, in the same order, with freshness, ``score_s``/``ranks`` per workload and
    ``rank`` added (the rows given are left as they were)."""
    rows = [dict(row) for row in rows]
    annotate_freshness(rows, max_lag_s)
    for row in rows:
        row["score_s"] = {
            name: (None if not row["ok"] else _round(score_s(row, w)))
            for name, w in WORKLOADS.items()
        }
        row["ranks"] = {name: None for name in WORKLOADS}
        row["rank"] = None
    kinds = {row["kind"] for row in rows}
    for kind in kinds:
        ok = [r for r in rows if r["kind"] == kind and r["ok"]]
        for name in WORKLOADS:
            ordered = sorted(ok, key=lambda r, n=name: _order_key(r, n))
            for i, row in enumerate(ordered, 1):
                row["ranks"][name] = i
        for row in ok:
            row["rank"] = row["ranks"][DEFAULT_WORKLOAD.get(kind, "small")]
    return rows


def _order_key(row: dict[str, Any], workload: str) -> tuple:
    score = row["score_s"][workload]
    return (
        row["fresh"] is False,
        row.get("throughput_bps") is None,
        score if score is not None else float("inf"),
        row["mirror"],
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def explain(row: dict[str, Any]) -> str:
    """One line: how the row's score was reached, or why it has none."""
    name = DEFAULT_WORKLOAD.get(row["kind"], "small")
    w = WORKLOADS[name]
    head = f"{row['mirror']} {row['kind']}"
    if not row["ok"]:
        return f"{head}: not ranked: {row['error']}"
    lat = row["latency_ms"]
    bps = row.get("throughput_bps")
    rate = f"{w.bytes / MiB:g} MiB / {format_rate(bps)}" if bps else "(no throughput figure)"
    fresh = "fresh" if row["fresh"] is not False else f"stale: {row['stale_reason']}"
    return (
        f"{head}: rank {row['rank']} for {name} workload: {w.requests} x {lat:.0f} ms + "
        f"{rate} = {row['score_s'][name]:.2f} s; {fresh}"
    )


def format_rate(bps: float | None) -> str:
    if not bps:
        return "-"
    if bps >= MiB:
        return f"{bps / MiB:.1f} MiB/s"
    return f"{bps / 1024:.0f} KiB/s"
