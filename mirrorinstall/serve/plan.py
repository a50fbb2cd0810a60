"""What a fleet cache serves and from where: the routes of `minstall serve`. Pure.

A cache is one origin with one path layout, whatever mirrors stand behind it:

- ``/pypi/...``            PyPI: ``/pypi/simple/`` and the files its pages link (relative links
                           resolve under ``/pypi/``, as on the mirror);
- ``/pythonhosted/...``    files.pythonhosted.org, where pypi.org's own pages link their files
                           (only when the ranking put pypi.org in the PyPI route);
- ``/whl/...``             PyPI-style PyTorch indexes, ``/whl/<variant>/`` (index layout only:
                           a flat find-links copy has no per-project pages to serve);
- ``/conda/<channel>/...`` each conda channel the catalog names, ``defaults``' parts too.

Each route lists the mirrors that serve it in the bench's order: the first is the primary,
the others take over when it fails. Only what the ranking measured is used, so the cache
never goes to an official host unless the ranking put it there (the ranking puts official
hosts in like any mirror, when they answered).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mirrorinstall.core.catalog import Catalog, Mirror
from mirrorinstall.core.errors import CatalogError
from mirrorinstall.core.urls import split_url
from mirrorinstall.rewrite.common import Context

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class Absolute:
    """An absolute link prefix official pages carry, and the cache path it becomes."""

    route: str  # "pypi" or "pytorch"
    prefix: str
    path: str
    upstream_of: str | None = None  # the catalog id whose pages carry it, when it needs a route


@dataclass(frozen=True)
class Upstream:
    """One mirror serving one route: the route's rest of the path is appended to ``base``."""

    mirror: str
    base: str  # absolute URL ending in "/"

    @property
    def host(self) -> str:
        parts = split_url(self.base)
        assert parts is not None and parts.hostname  # checked when the route was made
        return parts.hostname

    @property
    def port(self) -> int:
        parts = split_url(self.base)
        assert parts is not None
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def scheme(self) -> str:
        return self.base.split(":", 1)[0]

    @property
    def path(self) -> str:
        parts = split_url(self.base)
        assert parts is not None
        return parts.path


@dataclass(frozen=True)
class Route:
    """A path prefix of the cache and the mirrors behind it, best first."""

    name: str  # "pypi", "pythonhosted", "whl", "conda-<channel>"
    prefix: str  # "/pypi/", "/conda/conda-forge/"
    upstreams: tuple[Upstream, ...]
    files: str  # regular expression (nginx syntax) of the immutable files under the prefix
    rewrites: tuple[tuple[str, str], ...] = ()  # absolute link prefix -> cache path, in pages


@dataclass
class CachePlan:
    routes: list[Route]
    notes: list[str] = field(default_factory=list)  # what is not served, and why


PYPI_FILES = r"\.(whl|metadata|tar\.gz|zip|tar\.bz2|egg)$"
CONDA_FILES = r"(\.conda|\.tar\.bz2|/shards/[0-9a-f]+\.msgpack\.zst)$"


def parse_absolutes(data: dict) -> tuple[Absolute, ...]:
    """The rows of ``data/fleet_cache.toml``."""
    if data.get("schema") != 1 or not isinstance(data.get("absolute"), list):
        raise CatalogError(
            "fleet_cache.toml: schema 1 with [[absolute]] rows expected",
            "Reinstall minstall: the packaged data file is damaged.",
        )
    return tuple(
        Absolute(row["route"], row["prefix"], row["path"], row.get("upstream_of"))
        for row in data["absolute"]
    )


def plan_cache(ctx: Context, absolutes: tuple[Absolute, ...]) -> CachePlan:
    """The routes a cache serves from the ranking in ``ctx``."""
    catalog, ranking = ctx.facts.catalog, ctx.facts.ranking
    plan = CachePlan([])
    private = sorted(m.id for m in catalog.enabled() if m.token_env)
    if private:
        plan.notes.append(
            f"{', '.join(private)} need a token: not served through the cache (clients reach "
            "them directly, with their own token)"
        )

    pypi = [
        Upstream(m.id, root)
        for m in _measured(catalog, ranking.of("pypi"))
        if m.pypi is not None and (root := _pypi_root(m.pypi.simple))
    ]
    if pypi:
        ids = {u.mirror for u in pypi}
        for a in absolutes:
            if a.route == "pypi" and a.upstream_of in ids:
                plan.routes.append(
                    Route("pythonhosted", a.path, (Upstream(a.upstream_of, a.prefix),), PYPI_FILES)
                )
        rewrites = tuple((a.prefix, a.path) for a in absolutes if a.route == "pypi")
        plan.routes.insert(0, Route("pypi", "/pypi/", tuple(pypi), PYPI_FILES, rewrites))
    else:
        plan.notes.append("PyPI: no measured mirror serves it; /pypi/ is not served")

    torch = [
        Upstream(m.id, m.pytorch.base.rstrip("/") + "/")
        for m in _measured(catalog, ranking.of("pytorch"))
        if m.pytorch is not None and m.pytorch.layout == "index"
    ]
    flat = [
        m.id
        for m in _measured(catalog, ranking.of("pytorch"))
        if m.pytorch is not None and m.pytorch.layout != "index"
    ]
    if flat:
        plan.notes.append(
            f"PyTorch: {', '.join(flat)} serve flat find-links pages, not indexes; left out"
        )
    if torch:
        rewrites = tuple((a.prefix, a.path) for a in absolutes if a.route == "pytorch")
        plan.routes.append(Route("whl", "/whl/", tuple(torch), PYPI_FILES, rewrites))
    else:
        plan.notes.append("PyTorch: no measured mirror serves its indexes; /whl/ is not served")

    conda = _measured(catalog, ranking.of("conda"))
    for name in _channel_names(catalog):
        ups = tuple(
            Upstream(m.id, url.rstrip("/") + "/")
            for m in conda
            if (url := m.channel_url(name)) is not None
        )
        if ups:
            plan.routes.append(Route(f"conda-{name}", f"/conda/{name}/", ups, CONDA_FILES))
        else:
            plan.notes.append(f"conda channel {name}: no measured mirror carries it")
    if not plan.routes:
        plan.notes.append("nothing to serve: no mirror was measured (run 'minstall bench')")
    return plan


def _measured(catalog: Catalog, order: tuple[str, ...]) -> list[Mirror]:
    """The ranking's mirrors, best first: enabled, in the catalog, and open to anyone. A
    mirror that needs a token is left out: the cache would have to hold the token and hand
    what it fetched with it to every client (and without it the mirror answers 401)."""
    out = []
    for mid in dict.fromkeys(order):
        m = catalog.get(mid)
        if m is not None and m.enabled and not m.token_env:
            out.append(m)
    return out


def _pypi_root(simple: str) -> str | None:
    """``https://m/pypi/simple`` -> ``https://m/pypi/``: the folder the simple index and the
    files its pages link relatively (``../../packages/...``) share; None when the index is
    not at ``.../simple``."""
    base = simple.rstrip("/")
    if not base.endswith("/simple") or split_url(base) is None:
        return None
    return base[: -len("simple")]


def _channel_names(catalog: Catalog) -> list[str]:
    """Every channel name the catalog's enabled entries list, in catalog order."""
    names = dict.fromkeys(name for m in catalog.enabled() for name in m.conda if _NAME.match(name))
    return list(names)


def catalog_entry(cache_id: str, url: str, plan: CachePlan) -> str:
    """The catalog entry (TOML, schema 1) a client adds to use the cache as a mirror."""
    base = url.rstrip("/")
    lines = [
        "schema = 1",
        "",
        f"[mirror.{cache_id}]",
        f'name = "fleet cache at {base} (minstall serve)"',
        'region = "lan"',
        f'homepage = "{base}/"',
    ]
    if base.startswith("http://"):
        # nginx answers plain HTTP on the LAN; the catalog refuses that unless said so
        lines += [
            "# plain HTTP: anyone on the path between client and cache can change pages; put",
            "# TLS in front (and give --url https://...) where the network is not your own",
            "insecure = true",
        ]
    names = {r.name for r in plan.routes}
    if "pypi" in names:
        lines += ["", f"[mirror.{cache_id}.pypi]", f'simple = "{base}/pypi/simple"']
    if "whl" in names:
        lines += ["", f"[mirror.{cache_id}.pytorch]", f'base = "{base}/whl"', 'layout = "index"']
    conda = [r for r in plan.routes if r.name.startswith("conda-")]
    if conda:
        lines += ["", f"[mirror.{cache_id}.conda]"]
        for r in conda:
            name = r.name[len("conda-") :]
            lines.append(f'{_toml_key(name)} = "{base}/conda/{name}"')
    return "\n".join(lines) + "\n"


def _toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else f'"{name}"'
