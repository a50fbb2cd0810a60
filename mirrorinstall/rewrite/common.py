"""A conda/pip/uv command -> the same command on the fastest mirrors, right CUDA build. Pure.

This module holds what both worlds share (:class:`Context`, :class:`Plan`, the mirror
choice, spec names); ``conda`` and ``pip`` do the rest.

Inputs are plain data: the parsed command and the gathered :class:`Facts` (the catalog, the
ranking per kind, the host's CUDA facts, the text of any file the command names, ...). The
output (:class:`Plan`) is the new argv, environment changes, one note per change, the mirror
chosen for every channel and index, the CUDA decision, and the rewritten copies of files
(the user's own files are never edited). Tokens that are not rewritten stay verbatim and in
order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from mirrorinstall.context.facts import Facts, Ranking
from mirrorinstall.core.catalog import Mirror
from mirrorinstall.core.urls import split_url

_SPEC_NAME = re.compile(r"^([A-Za-z0-9_.\-]+)")


@dataclass(frozen=True)
class Context:
    """The gathered facts and what the user asked for (``--cuda``, ``--strip-channels``)."""

    facts: Facts
    cuda_mode: str = "keep"
    strip_channels: bool = False

    def with_ranking(self, ranking: Ranking) -> Context:
        return replace(self, facts=replace(self.facts, ranking=ranking))


@dataclass
class Plan:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    unset: list[str] = field(default_factory=list)  # variables the child must not see
    notes: list[str] = field(default_factory=list)
    mirrors: dict[str, dict[str, Any]] = field(default_factory=dict)
    cuda: dict[str, Any] | None = None
    writes: dict[str, str] = field(default_factory=dict)  # new path -> content
    # a multi-step plan: these run first, in order, each a whole command with its own mirrors
    before: list[Plan] = field(default_factory=list)
    step: str | None = None  # what a step in ``before`` is for, in words

    def steps(self) -> list[Plan]:
        """Every command to run, in order (this plan's own last)."""
        return [*self.before, self]


# ------------------------------------------------------------------ mirror choice


def ranked(ctx: Context, kind: str) -> list[Mirror]:
    """Mirrors for ``kind``: the bench order first, then the official hosts as the last resort."""
    seen, out = set(), []
    for mid in ctx.facts.ranking.of(kind):
        m = ctx.facts.catalog.get(mid)
        if m is not None and m.enabled and mid not in seen:
            out.append(m)
            seen.add(mid)
    for m in ctx.facts.catalog.enabled():
        if m.upstream and m.id not in seen and not ctx.facts.ranking.was_dropped(kind, m.id):
            out.append(m)
    return out


def mirrored_defaults(ctx: Context) -> list[tuple[str, Mirror, str]]:
    """(part, mirror, URL) for each channel conda's ``defaults`` means on this platform, each
    from its best-ranked mirror; empty unless a mirror (not an official host) serves every
    part."""
    out = []
    for part in ctx.facts.catalog.expand_channel("defaults", windows=ctx.facts.os == "windows"):
        mirror, url = choose_channel(ctx, part)
        if mirror is None or url is None or mirror.upstream:
            return []
        out.append((part, mirror, url))
    return out


def choose_channel(ctx: Context, channel: str) -> tuple[Mirror | None, str | None]:
    """The best-ranked mirror carrying ``channel`` for this platform, and its URL."""
    for m in ranked(ctx, "conda"):
        url = m.channel_url(channel)
        if url is None:
            continue
        entry = m.conda_channel(channel)
        if entry is not None and not (
            entry.carries_subdir(ctx.facts.platform) and entry.carries_subdir("noarch")
        ):
            continue
        return m, url
    return None, None


def why_chosen(ranking: Ranking, kind: str, mirror: Mirror, what: str | None = None) -> str:
    """Why ``mirror`` serves ``kind``, in words (for notes and the executor's plan line): its
    rank, or why the official host (ranked so, mirrors failed in this run or could not be
    measured, or none carries it)."""
    if ranking.forced:
        return f"mirror {mirror.id}, forced with --mirror"
    rank, total = ranking.rank(kind, mirror.id), ranking.ranked_count(kind)
    if not mirror.upstream:
        return f"mirror {mirror.id}, rank {rank} of {total} for {kind}" if rank else mirror.id
    if kind in ranking.upstream_only:
        return "the official host: the last attempt goes to the source"
    if ranking.dropped.get(kind):
        return "the official host: the mirrors ranked above it failed in this run"
    if rank is not None:
        return f"the official host, rank {rank} of {total} for {kind}"
    if not ranking.measured(kind):
        failed = len(ranking.failed.get(kind, {}))
        return (
            f"the official host: no mirror of {kind} could be measured ({failed} probes "
            "failed), so it is used unmeasured"
        )
    return f"the official host: no ranked mirror carries {what or kind}"


def host_copy(ctx: Context, url: str) -> tuple[Mirror, str, str] | None:
    """The mirror serving its copy of ``url`` (a ``[mirror.X.hosts]`` prefix: PyG's,
    OpenMMLab's, PaddlePaddle's pages), that copy's URL, and why that mirror; None when no
    enabled mirror copies it. Such copies have no bench of their own: a mirror the bench
    ranked for anything comes first, by its best rank; one whose every probe failed in this
    bench is passed over; the rest follow in catalog order."""
    ranking = ctx.facts.ranking
    kinds = sorted({*ranking.order, *ranking.failed})
    options = []
    for n, m in enumerate(ctx.facts.catalog.enabled()):
        copy = m.copy_of(url)
        if copy is None or (ranking.forced and m.id != ranking.forced):
            continue
        if ranking.was_dropped("hosts", m.id):  # it failed earlier in this run
            continue
        ranks = [r for k in kinds if (r := ranking.rank(k, m.id)) is not None]
        failed = [k for k in kinds if m.id in ranking.failed.get(k, {})]
        if failed and not ranks:
            continue
        options.append(((min(ranks) if ranks else 10_000, n), m, copy))
    if not options:
        return None
    (rank, _), mirror, copy = min(options, key=lambda o: o[0])
    if ranking.forced:
        why = f"mirror {mirror.id}, forced with --mirror"
    elif rank < 10_000:
        why = f"mirror {mirror.id}, which copies that host; its best bench rank is {rank}"
    else:
        why = f"mirror {mirror.id}, which copies that host (not benched: first in the catalog)"
    return mirror, copy, why


def pypi_mirror(ctx: Context) -> Mirror | None:
    return next((m for m in ranked(ctx, "pypi") if m.pypi), None)


def torch_mirror(ctx: Context) -> Mirror | None:
    return next((m for m in ranked(ctx, "pytorch") if m.pytorch), None)


# ------------------------------------------------------------------ channels and specs


def upstream_channel(url: str) -> str | None:
    """``https://conda.anaconda.org/conda-forge`` -> ``conda-forge``; other URLs -> None."""
    parts = split_url(url)
    if parts is None:
        return None
    path = parts.path.strip("/").split("/")
    if parts.hostname == "conda.anaconda.org" and path and path[0]:
        return path[0]
    if parts.hostname == "repo.anaconda.com" and len(path) >= 2 and path[0] == "pkgs":
        return path[1]
    return None


def spec_name(spec: str) -> str:
    spec = spec.split("::", 1)[-1]
    match = _SPEC_NAME.match(spec)
    return match.group(1).lower() if match else spec.lower()


def spec_version(spec: str) -> str | None:
    rest = spec.split("::", 1)[-1][len(spec_name(spec)) :]
    rest = (
        rest.split("=")[1]
        if rest.startswith("=") and not rest.startswith("==")
        else rest.lstrip("=")
    )
    rest = rest.split("=")[0].strip()
    return rest or None
