"""What each tool's configuration should say: the best-ranked mirror for PyPI, conda's
``defaults`` and every conda channel a mirror carries. Pure.

The choice is the rewriter's (``rewrite.common``): the bench's order, a mirror only where it
carries the channel for this platform. An official host is never written: where no measured
mirror carries something, the tool keeps going to the official host, and a note says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mirrorinstall.core.catalog import Catalog, Mirror
from mirrorinstall.core.errors import ConfigError
from mirrorinstall.core.urls import origin
from mirrorinstall.rewrite.common import (
    Context,
    choose_channel,
    mirrored_defaults,
    pypi_mirror,
    torch_mirror,
    why_chosen,
)


@dataclass(frozen=True)
class Route:
    """One thing a tool fetches and the mirror URL that serves it."""

    url: str
    mirror: str  # the mirror's id
    why: str  # its rank, in words


@dataclass
class Wanted:
    pypi: Route | None = None
    pypi_official: tuple[str, ...] = ()  # the official index URLs a mirror replaces
    torch: Mirror | None = None  # the best mirror of PyTorch's wheel indexes
    defaults: dict[str, Route] = field(default_factory=dict)  # main, r (msys2 on Windows)
    channels: dict[str, Route] = field(default_factory=dict)  # conda channel name -> URL
    official: dict[str, str] = field(default_factory=dict)  # channel or part -> official URL
    notes: list[str] = field(default_factory=list)  # conda's
    token_notes: list[str] = field(default_factory=list)  # every tool's
    known: frozenset[tuple[str, str, int]] = frozenset()  # origins of every catalog entry

    def refuse_unwritable(self, tool: str) -> None:
        """Raise a ConfigError when a URL this would write holds a space or a control
        character: in pip.conf a line break plants what follows as an option of its own, in
        YAML U+0085 and U+2028 are line breaks, so the tool would read another value. Each
        writer checks for itself rather than trusting the catalog's check."""
        for route in [self.pypi, *self.defaults.values(), *self.channels.values()]:
            if route is not None and not writable_url(route.url):
                raise ConfigError(
                    f"refusing to write {route.url!r} (mirror {route.mirror}) into {tool}'s "
                    "configuration: it holds a space or a control character",
                    "Fix that mirror's URL in the catalog.",
                )

    def replaceable(self, url: object) -> bool:
        """Whether minstall may overwrite a setting holding ``url``: an official host or a
        mirror the catalog knows. A company index or a private channel is the user's own."""
        return isinstance(url, str) and origin(url.strip()) in self.known


def wanted(ctx: Context, extra_channels: tuple[str, ...] = ()) -> Wanted:
    """The routes for every tool. ``extra_channels``: channel names the user's files list
    (``channels:``), so one that no mirror carries gets a note."""
    out = Wanted(known=frozenset(filter(None, (origin(u) for u in _every_url(ctx)))))
    ranking = ctx.facts.ranking
    pypi = pypi_mirror(ctx)
    if pypi is not None and pypi.pypi is not None and not pypi.upstream:
        out.pypi = Route(pypi.pypi.simple, pypi.id, why_chosen(ranking, "pypi", pypi))
    out.pypi_official = official_pypi(ctx.facts.catalog)
    torch = torch_mirror(ctx)
    if torch is not None and not torch.upstream:
        out.torch = torch
    for part, mirror, url in mirrored_defaults(ctx):
        out.defaults[part] = Route(url, mirror.id, why_chosen(ranking, "conda", mirror, part))
    windows = ctx.facts.os == "windows"
    parts = set(ctx.facts.catalog.expand_channel("defaults", windows=True))
    names = dict.fromkeys(
        name
        for m in ctx.facts.catalog.enabled()
        if not m.upstream
        for name, entry in m.conda.items()
        # <base>/pkgs/<name> copies repo.anaconda.com/pkgs (main, free, r, ...), which conda
        # reaches through default_channels; a name in custom_channels means anaconda.org's
        # channel of that name (the TUNA layout every CN mirror copies: research/mirrors.md)
        if name not in parts and not entry.url.rstrip("/").endswith(f"/pkgs/{name}")
    )
    for name in [*names, *(c for c in extra_channels if c not in names)]:
        if "/" in name or ":" in name or name == "defaults":
            continue  # a URL or a meta-channel: not a name custom_channels can route
        mirror, url = choose_channel(ctx, name)
        if mirror is None or url is None or mirror.upstream:
            if name in extra_channels:
                out.notes.append(
                    f"conda channel {name}: no mirror ranks above the official host for it; kept"
                )
            continue
        out.channels[name] = Route(url, mirror.id, why_chosen(ranking, "conda", mirror, name))
    routed = [out.pypi, *out.defaults.values(), *out.channels.values()]
    ids = [r.mirror for r in routed if r is not None] + ([out.torch.id] if out.torch else [])
    for mid in dict.fromkeys(ids):
        mirror = ctx.facts.catalog.get(mid)
        if mirror is not None and mirror.token_env:
            # a token in a tool's file would be a secret in a file minstall does not own
            out.token_notes.append(
                f"mirror {mid} needs the token in ${mirror.token_env}; it is not written into "
                "any file: give it to the tool yourself (keyring, netrc, or the tool's own "
                "auth settings)"
            )
    for name in [*out.defaults, *out.channels]:
        official = official_channel(ctx.facts.catalog, name)
        if official:
            out.official[name] = official
    if windows and not out.defaults:
        out.notes.append(
            "conda defaults: no mirror ranks above the official host for main, r, msys2"
        )
    elif not out.defaults:
        out.notes.append("conda defaults: no mirror ranks above the official host for main and r")
    return out


def writable_url(value: str) -> bool:
    """Whether a config file may hold ``value`` as a URL: printable, no whitespace."""
    return value.isprintable() and not any(c.isspace() for c in value)


def official_channel(catalog: Catalog, name: str) -> str | None:
    """The official URL of a conda channel or ``defaults`` part: a host that lists it
    (repo.anaconda.com for main) before one whose alias would make up a URL for any name
    (conda.anaconda.org/main is another channel)."""
    upstream = [m for m in catalog.mirrors if m.upstream]
    listed = next((m.conda[name].url for m in upstream if name in m.conda), None)
    return listed or next((m.channel_url(name) for m in upstream if m.channel_alias), None)


def official_pypi(catalog: Catalog) -> tuple[str, ...]:
    """The official PyPI index URLs the catalog names."""
    return tuple(m.pypi.simple for m in catalog.mirrors if m.upstream and m.pypi is not None)


def _every_url(ctx: Context) -> list[str]:
    return [url for m in ctx.facts.catalog.mirrors for url in m.urls()]
