"""Which mirror failed, and the ranking for the next attempt. Pure.

A failed attempt names its culprit in the installer's output: a URL (``CondaHTTPError ...
for url <...>``, ``Could not fetch URL ...``), or a host and port (``HTTPConnectionPool(host=
'h', port=p): Read timed out``). :func:`blame` matches those against the routes of the plan
(which mirror serves which kind, at which URL) and returns the (kind, mirror) pairs to drop.
The next attempt is the same rewrite over the same facts with those mirrors out of the
ranking for those kinds: another mirror of that kind takes over, the official host last.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mirrorinstall.context.facts import Ranking
from mirrorinstall.core.catalog import Catalog
from mirrorinstall.core.urls import host_port, split_url
from mirrorinstall.rewrite.common import why_chosen

_URL = re.compile(r"https?://[^\s<>'\"\])]+")
_HOST_PORT = re.compile(r"host='([^']+)', port=(\d+)")


@dataclass(frozen=True)
class Route:
    """One kind of content in a plan and the mirror that serves it."""

    kind: str  # "pypi", "pytorch", "conda"
    what: str  # "pypi", "pytorch", "conda:conda-forge"
    mirror: str | None  # catalog id; None: a URL no catalog entry serves
    url: str


def routes(plan_mirrors: Mapping[str, Mapping[str, Any]]) -> list[Route]:
    """The routes of a plan (``Plan.mirrors``)."""
    out = []
    for what, entry in plan_mirrors.items():
        url = entry.get("url") or entry.get("base")
        if url:
            out.append(Route(what.split(":", 1)[0], what, entry.get("mirror"), str(url)))
    return out


def _netloc(url: str) -> tuple[str, int]:
    return host_port(url) or ("", 0)


def _culprits(text: str) -> list[tuple[tuple[str, int], str]]:
    """(host, port) and path of every URL or host/port the text names, in order."""
    found: list[tuple[int, tuple[tuple[str, int], str]]] = []
    for m in _URL.finditer(text):
        parts = split_url(m.group(0))
        if parts is not None:  # a child's output can name anything
            found.append((m.start(), (_netloc(m.group(0)), parts.path)))
    for m in _HOST_PORT.finditer(text):
        found.append((m.start(), ((m.group(1), int(m.group(2))), "")))
    return [item for _, item in sorted(found)]


def blame(
    plan_routes: Iterable[Route], evidence: str | None, output: str, primary_kind: str
) -> list[Route]:
    """The routes to blame for a failure: the one the evidence line names, else the last one
    the output names, else every route of the primary kind."""
    candidates = [r for r in plan_routes if r.mirror is not None]
    for text in (evidence or "", output):
        for netloc, path in reversed(_culprits(text)):
            hits = [r for r in candidates if _netloc(r.url) == netloc]
            if hits:
                longest = max(
                    hits,
                    key=lambda r: (
                        len(urlsplit(r.url).path) if path.startswith(urlsplit(r.url).path) else -1
                    ),
                )
                # a mirror failing one channel is dropped for the whole kind: the culprit first
                return [longest] + [
                    r
                    for r in hits
                    if r is not longest and r.mirror == longest.mirror and r.kind == longest.kind
                ]
    return [r for r in candidates if r.kind == primary_kind]


def next_ranking(
    ranking: Ranking,
    blamed: Iterable[Route],
    *,
    last: bool = False,
    catalog: Catalog | None = None,
) -> Ranking:
    """The ranking for the next attempt: each blamed mirror out of its kind, and with it every
    other catalog mirror serving the same URL (two ids for one server would waste an attempt
    on the same failure); when the next attempt is the ``last`` one, that kind goes to its
    official host (the source of truth) rather than to yet another mirror."""
    for route in blamed:
        same = [
            m.id
            for m in (catalog.mirrors if catalog is not None else ())
            if m.id != route.mirror and route.url in m.urls()
        ]
        for mirror in [route.mirror, *same]:
            if mirror is not None and not ranking.was_dropped(route.kind, mirror):
                ranking = ranking.without(route.kind, mirror)
        if last:
            ranking = ranking.upstream_next(route.kind)
    return ranking


def upstream_blamed(catalog: Catalog, blamed: Iterable[Route]) -> bool:
    """Did an official host fail? Then there is nothing behind it to fall back to."""
    for route in blamed:
        mirror = catalog.get(route.mirror) if route.mirror else None
        if mirror is not None and mirror.upstream:
            return True
    return False


def describe_route(route: Route, ranking: Ranking, catalog: Catalog) -> str:
    """``what: mirror (why)`` for the plan line: its rank, or why the official host."""
    mirror = catalog.get(route.mirror) if route.mirror else None
    if route.kind == "hosts":  # a copy of a host no kind covers: no bench rank of its own
        return f"{route.what}: " + (
            f"mirror {mirror.id}, a copy of that host"
            if mirror
            else "the official host (its copies failed in this run)"
        )
    if mirror is None:
        return f"{route.what}: {route.url} (not a catalog mirror; kept as given)"
    return f"{route.what}: {why_chosen(ranking, route.kind, mirror, route.what)}"
