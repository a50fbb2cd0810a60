"""``config show``: what each tool is configured to fetch from, where that setting comes from,
and the bench's verdict on each host. Pure: the files' texts and the environment are handed in.

Sources are read in each tool's own order (``locations.read_order``), then its environment
variables, which override files; the one that takes effect is marked. For conda, whose merge
rules are richer (lists merged across files), every source's value is listed and the
authority stays ``conda config --show-sources``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

from mirrorinstall.config import condarc, pipconf
from mirrorinstall.config.desired import official_channel, official_pypi
from mirrorinstall.config.locations import Location
from mirrorinstall.context.facts import Ranking
from mirrorinstall.core.catalog import Catalog, Mirror
from mirrorinstall.core.errors import ConfigError
from mirrorinstall.core.urls import origin
from mirrorinstall.rewrite.torchurls import read_torch_url

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@dataclass(frozen=True)
class Seen:
    tool: str
    setting: str  # "index-url", "custom_channels.conda-forge", ...
    value: str
    source: str  # a file's path, "$PIP_INDEX_URL", "pip's default"
    effective: bool
    verdict: str  # "official host", "mirror tuna: rank 1 of 5 (best)", ...
    ok: bool  # False: an official host where a mirror ranks, a failed or unknown mirror


@dataclass
class Report:
    seen: list[Seen] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # files that could not be read
    fixes: dict[str, str] = field(default_factory=dict)  # tool -> the command that fixes it


def mirror_of(url: str, catalog: Catalog) -> Mirror | None:
    """The catalog entry serving ``url``: the longest matching base URL, else the host."""
    best, length = None, -1
    for m in catalog.mirrors:
        for base in m.urls():
            stem = base.rstrip("/")
            if (url.rstrip("/") + "/").startswith(stem + "/") and len(stem) > length:
                best, length = m, len(stem)
    if best is None:
        where = origin(url)
        best = next(
            (m for m in catalog.mirrors if where and any(origin(u) == where for u in m.urls())),
            None,
        )
    return best


def verdict(url: str, kind: str, catalog: Catalog, ranking: Ranking) -> tuple[str, bool]:
    """What the bench says of the host behind ``url``, and whether that is fine."""
    if "://" not in url:
        return "a channel name: conda reaches it through the settings above", True
    mirror = mirror_of(url, catalog)
    first = next(iter(ranking.of(kind)), None)
    if mirror is None:
        return "not in the catalog (a private index or an unknown mirror)", True
    if mirror.upstream:
        if first is not None and first != mirror.id:
            return f"official host; mirror {first} ranks first for {kind} here", False
        return "official host", True
    failed = ranking.failed.get(kind, {}).get(mirror.id)
    if failed:
        return f"mirror {mirror.id}: failed the bench: {failed}", False
    rank, total = ranking.rank(kind, mirror.id), ranking.ranked_count(kind)
    if rank == 1:
        return f"mirror {mirror.id}: best (rank 1 of {total})", True
    if rank is not None:
        return f"mirror {mirror.id}: rank {rank} of {total}; {first} is faster", False
    return f"mirror {mirror.id}: not measured (minstall bench --refresh)", True


Row = tuple[str, str, str, str]  # setting, value, source, kind


def report(
    texts: Mapping[str, list[tuple[Location, str | None]]],
    environ: Mapping[str, str],
    catalog: Catalog,
    ranking: Ranking,
) -> Report:
    """The report for every tool in ``texts`` (tool -> its files in read order, with text)."""
    out = Report()
    readers = {"conda": _conda, "pip": _pip, "uv": _uv, "pixi": _pixi}
    for tool, sources in texts.items():
        rows: list[Row] = []
        try:
            readers[tool](sources, environ, rows, catalog)
        except ConfigError as exc:
            out.problems.append(exc.message)
        winner = {setting: source for setting, _, source, _ in rows}  # the last one read
        names = _by_name(rows, catalog) if tool == "conda" else {}
        for setting, value, source, kind in rows:
            effective = setting == "channels" or winner[setting] == source  # channels merge
            if value in names:  # a channel by name: judge the URL conda makes of it
                text, ok = verdict(names[value], kind, catalog, ranking)
                text = f"conda asks {names[value]}: {text}"
            elif value == "defaults":
                text, ok = "conda's defaults: the default_channels above", True
            else:
                text, ok = verdict(value, kind, catalog, ranking)
            out.seen.append(Seen(tool, setting, value, source, effective, text, ok))
        if any(not s.ok for s in out.seen if s.tool == tool and s.effective):
            out.fixes[tool] = f"minstall config apply --{tool}"
    return out


def _by_name(rows: list[Row], catalog: Catalog) -> dict[str, str]:
    """The URL conda makes of each channel listed by name: its ``custom_channels`` entry,
    else ``<channel_alias>/<name>`` (conda's default alias: the catalog's official one)."""
    custom = {s.split(".", 1)[1]: v for s, v, _, _ in rows if s.startswith("custom_channels.")}
    aliases = [v for s, v, _, _ in rows if s == "channel_alias"]
    official = next(
        (m.channel_alias for m in catalog.mirrors if m.upstream and m.channel_alias), ""
    )
    alias = (aliases[-1] if aliases else official or "").rstrip("/")
    out = {}
    for setting, value, _, _ in rows:
        if setting == "channels" and "://" not in value and value != "defaults":
            out[value] = custom.get(value) or (f"{alias}/{value}" if alias else value)
    return out


def _default_pypi(catalog: Catalog) -> str:
    """The index pip and uv use when nothing is configured: the catalog's official one."""
    return next(iter(official_pypi(catalog)), "")


def _conda(sources, environ, rows: list[Row], catalog: Catalog) -> None:
    for loc, text in sources:
        data = condarc.load(text, loc.path) if text and text.strip() else None
        for key in ("default_channels", "channels"):
            value = (data or {}).get(key)
            for url in value if isinstance(value, list) else []:
                if isinstance(url, str):  # anything else is not a channel (nor small)
                    rows.append((key, url, loc.path, "conda"))
        custom = (data or {}).get("custom_channels")
        for name, base in custom.items() if isinstance(custom, dict) else []:
            if isinstance(base, str):
                rows.append((f"custom_channels.{name}", f"{base}/{name}", loc.path, "conda"))
        alias = (data or {}).get("channel_alias")
        if isinstance(alias, str):
            rows.append(("channel_alias", alias, loc.path, "conda"))
    for name, key in (
        ("CONDA_DEFAULT_CHANNELS", "default_channels"),
        ("CONDA_CHANNEL_ALIAS", "channel_alias"),
    ):
        for url in filter(None, (environ.get(name) or "").split(",")):
            rows.append((key, url.strip(), f"${name}", "conda"))
    if not any(r[0] == "default_channels" for r in rows):
        for part in catalog.expand_channel("defaults", windows=False):
            url = official_channel(catalog, part) or ""
            rows.insert(0, ("default_channels", url, "conda's default", "conda"))


def _pip(sources, environ, rows: list[Row], catalog: Catalog) -> None:
    for loc, text in sources:
        _, sections = pipconf.parse(text or "")
        for section in sections:
            for entry in section.entries:
                if entry.name in ("index-url", "extra-index-url", "find-links"):
                    where = "" if section.name in ("global", "") else f"{section.name}."
                    rows += [(where + entry.name, v, loc.path, _kind(v)) for v in entry.values]
    for name, setting in (
        ("PIP_INDEX_URL", "index-url"),
        ("PIP_EXTRA_INDEX_URL", "extra-index-url"),
    ):
        urls = (environ.get(name) or "").split()
        rows += [(setting, url, f"${name}", _kind(url)) for url in urls]
    if not any(r[0] == "index-url" for r in rows):
        rows.insert(0, ("index-url", _default_pypi(catalog), "pip's default", "pypi"))


def _kind(url: str) -> str:
    """What a pip index or page serves: PyTorch's wheels, or PyPI's."""
    return "pytorch" if read_torch_url(url) is not None else "pypi"


def _toml(loc: Location, text: str | None) -> dict:
    if not text:
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{loc.path}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses per nesting level: [[[[... crashed show
        raise ConfigError(
            f"{loc.path}: nested too deeply to read", "Fix the file, then run it again."
        ) from None


def _uv(sources, environ, rows: list[Row], catalog: Catalog) -> None:
    for loc, text in sources:
        data = _toml(loc, text)
        indexes = data.get("index")
        for table in indexes if isinstance(indexes, list) else []:
            if isinstance(table, dict) and isinstance(table.get("url"), str):
                name = f"index {table.get('name') or ''}".strip()
                setting = "default index" if table.get("default") is True else name
                rows.append((setting, table["url"], loc.path, _kind(table["url"])))
        if isinstance(data.get("index-url"), str):
            rows.append(("default index", data["index-url"], loc.path, "pypi"))
    for name in ("UV_INDEX_URL", "UV_DEFAULT_INDEX"):
        if environ.get(name):
            rows.append(("default index", environ[name], f"${name}", "pypi"))
    if not any(r[0] == "default index" for r in rows):
        rows.insert(0, ("default index", _default_pypi(catalog), "uv's default", "pypi"))


def _pixi(sources, environ, rows: list[Row], catalog: Catalog) -> None:
    pypi = _default_pypi(catalog).rstrip("/")
    for loc, text in sources:
        mirrors = _toml(loc, text).get("mirrors")
        for official, urls in mirrors.items() if isinstance(mirrors, dict) else []:
            kind = "pypi" if official.rstrip("/") == pypi else "conda"
            for url in urls if isinstance(urls, list) else []:
                if isinstance(url, str):
                    rows.append((f"mirrors[{official}]", url, loc.path, kind))


def overridden(
    tool: str,
    sources: list[tuple[Location, str | None]],
    path: str,
    environ: Mapping[str, str],
    catalog: Catalog,
) -> list[str]:
    """Notes for each setting ``path`` holds that a later file or a variable overrides: what
    ``apply`` writes there would not take effect."""
    found = report({tool: sources}, environ, catalog, Ranking(order={}))
    ours = {s.setting for s in found.seen if s.source == path}
    notes = []
    for s in found.seen:
        if s.setting in ours and s.effective and s.source != path and s.setting != "channels":
            notes.append(
                f"{s.setting} is also set by {s.source}, which {tool} reads after {path}: "
                f"that one ({s.value}) takes effect"
            )
    return list(dict.fromkeys(notes))
