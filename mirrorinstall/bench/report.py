"""A bench report: the JSON document and the table people read. Pure.

``bench --json`` prints the report (schema in README.md, "minstall bench --json"); the
same document is what the ranking cache stores.
"""

from __future__ import annotations

from typing import Any

from mirrorinstall.bench.rank import WORKLOADS, format_duration, format_rate

REPORT_SCHEMA = 1


def build_report(
    rows: list[dict[str, Any]],
    *,
    created_at_s: float,
    elapsed_s: float,
    network: str,
    network_from: str,
    catalog: str,
    kinds: list[str],
    mirrors: list[str] | None,
    timeout_s: float,
    budget_bytes: int,
    max_lag_s: float,
) -> dict[str, Any]:
    from datetime import datetime, timezone

    created = datetime.fromtimestamp(created_at_s, tz=timezone.utc)
    return {
        "schema": REPORT_SCHEMA,
        "created_at": created.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "created_at_s": created_at_s,
        "elapsed_s": round(elapsed_s, 3),
        "cached": False,
        "network": network,
        "network_from": network_from,
        "catalog": catalog,
        "kinds": kinds,
        "mirrors": mirrors,
        "timeout_s": timeout_s,
        "budget_bytes": budget_bytes,
        "max_lag_s": max_lag_s,
        "workloads": {
            n: {"requests": w.requests, "bytes": w.bytes, "about": w.about}
            for n, w in WORKLOADS.items()
        },
        "results": rows,
    }


_NUMBER = (int, float)
_NONE = type(None)
# what the code reading a report (ranking, tables, fallback) indexes, with the types it expects
_REPORT_FIELDS: dict[str, tuple[type, ...]] = {
    "schema": (int,),
    "created_at_s": _NUMBER,
    "catalog": (str,),
    "kinds": (list,),
    "mirrors": (list, _NONE),
    "budget_bytes": (int,),
    "results": (list,),
}
_ROW_FIELDS: dict[str, tuple[type, ...]] = {
    "mirror": (str,),
    "kind": (str,),
    "group": (str,),
    "ok": (bool,),
    "rank": (int, _NONE),
    "error": (str, _NONE),
    "channel": (str, _NONE),
    "upstream": (bool, _NONE),
    "latency_ms": (*_NUMBER, _NONE),
    "connect_ms": (*_NUMBER, _NONE),
    "throughput_bps": (*_NUMBER, _NONE),
    "last_modified_s": (*_NUMBER, _NONE),
    "newest": (str, _NONE),
    "newest_time_s": (*_NUMBER, _NONE),
    "lag_s": (*_NUMBER, _NONE),
    "fresh": (bool, _NONE),
    "stale_reason": (str, _NONE),
    "warnings": (list,),
    "score_s": (dict,),
    "ranks": (dict,),
}


def problem(report: Any) -> str | None:
    """Why ``report`` (a cached file, so anything) is not a report this version can read;
    None if it is one."""
    if not isinstance(report, dict):
        return "not a JSON object"
    for key, types in _REPORT_FIELDS.items():
        if key not in report or not _is(report[key], types):
            return f"{key!r} missing or of the wrong type"
    if not all(isinstance(k, str) for k in report["kinds"]):
        return "'kinds' is not a list of names"
    for n, row in enumerate(report["results"]):
        if not isinstance(row, dict):
            return f"result {n} is not an object"
        for key, types in _ROW_FIELDS.items():
            if key not in row or not _is(row[key], types):
                return f"result {n}: {key!r} missing or of the wrong type"
        if not all(isinstance(w, str) for w in row["warnings"]):
            return f"result {n}: 'warnings' is not a list of strings"
    return None


def _is(value: Any, types: tuple[type, ...]) -> bool:
    """isinstance, except that JSON's true/false is no number (bool is an int in Python)."""
    return isinstance(value, types) and (bool in types or not isinstance(value, bool))


def select(report: dict[str, Any], kinds: list[str], mirrors: list[str] | None) -> dict[str, Any]:
    """The part of a (cached) report about these kinds and mirrors."""
    rows = [
        r
        for r in report["results"]
        if r["kind"] in kinds and (not mirrors or r["mirror"] in mirrors)
    ]
    return {**report, "results": rows}


def merged(new: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    """``new`` with the kinds only ``old`` measured kept from it (same catalog, mirrors and
    budget): a quick bench of one kind must not throw away the others (alternating a conda and
    a pip command measured everything every time). The result is as old as its oldest part."""
    if old is None or any(
        old.get(k) != new.get(k) for k in ("schema", "catalog", "mirrors", "budget_bytes")
    ):
        return new
    kept = [k for k in old["kinds"] if k not in new["kinds"]]
    if not kept:
        return new
    rows = [*new["results"], *(r for r in old["results"] if r["kind"] in kept)]
    if old["created_at_s"] >= new["created_at_s"]:
        return {**new, "kinds": [*new["kinds"], *kept], "results": rows}
    return {
        **new,
        "kinds": [*new["kinds"], *kept],
        "results": rows,
        "created_at": old.get("created_at", new["created_at"]),
        "created_at_s": old["created_at_s"],
    }


def covers(
    report: dict[str, Any],
    *,
    catalog: str,
    kinds: list[str],
    mirrors: list[str] | None,
    budget_bytes: int,
) -> bool:
    """Can a cached report answer this request?"""
    if report.get("schema") != REPORT_SCHEMA or report.get("catalog") != catalog:
        return False
    if report.get("budget_bytes") != budget_bytes or not set(kinds) <= set(report["kinds"]):
        return False
    cached_mirrors = report.get("mirrors")
    return cached_mirrors is None or (mirrors is not None and set(mirrors) <= set(cached_mirrors))


def _lag(row: dict[str, Any]) -> str:
    return "-" if row.get("lag_s") is None else format_duration(row["lag_s"])


def _status(row: dict[str, Any]) -> str:
    if not row["ok"]:
        return f"FAILED: {row['error']}"
    if row.get("fresh") is False:
        return f"stale: {row['stale_reason']}"
    return "ok" + (f" ({'; '.join(row['warnings'])})" if row.get("warnings") else "")


def format_table(report: dict[str, Any]) -> str:
    header = ("RANK", "MIRROR", "KIND", "LATENCY", "CONNECT", "THROUGHPUT", "LAG", "STATUS")
    rows = sorted(
        report["results"], key=lambda r: (r["kind"], r["rank"] is None, r["rank"] or 0, r["mirror"])
    )
    table = [header]
    for r in rows:
        kind = r["kind"] + (f":{r['channel']}" if r.get("channel") else "")
        table.append(
            (
                str(r["rank"]) if r["rank"] else "-",
                r["mirror"] + (" *" if r.get("upstream") else ""),
                kind,
                f"{r['latency_ms']:.0f} ms" if r.get("latency_ms") is not None else "-",
                f"{r['connect_ms']:.0f} ms" if r.get("connect_ms") is not None else "-",
                format_rate(r.get("throughput_bps")),
                _lag(r),
                _status(r),
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in table
    ]
    return "\n".join(lines)
