"""The mirror catalog: ``mirrors.toml`` text -> validated, typed :class:`Catalog`.

Pure: this module parses text it is given and merges layers; reading files,
the environment and the platform's directories is ``settings.py``'s job.

A catalog is a stack of layers, each a ``(path, text)`` pair: the packaged
catalog first, then the user's catalog, which merges by mirror id (add a
mirror, override a key, remove a channel with ``name = false``, or switch a
mirror off with ``enabled = false``). Every problem is reported as a
:class:`~mirrorinstall.errors.CatalogError` naming the file, the mirror id and
the key. The format is documented in README.md ("The mirror catalog").
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from mirrorinstall.core.errors import CatalogError
from mirrorinstall.core.urls import redact_url, split_url

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

SCHEMA_VERSION = 1

KINDS = ("conda", "pypi", "pytorch")
LAYOUTS = ("index", "find-links")

# conda's platform subdirectories (conda/base/constants.py KNOWN_SUBDIRS,
# https://github.com/conda/conda/blob/main/conda/base/constants.py); a name not
# in this list is almost always a typo.
KNOWN_SUBDIRS = frozenset(
    {
        "noarch",
        "emscripten-wasm32",
        "wasi-wasm32",
        "freebsd-64",
        "linux-32",
        "linux-64",
        "linux-aarch64",
        "linux-armv6l",
        "linux-armv7l",
        "linux-ppc64",
        "linux-ppc64le",
        "linux-riscv64",
        "linux-s390x",
        "osx-32",
        "osx-64",
        "osx-arm64",
        "win-32",
        "win-64",
        "win-arm64",
        "zos-z",
    }
)

# \Z, not $: "$" also matches before a final newline, and an id ending in one broke tables
_MIRROR_ID = re.compile(r"\A[a-z0-9][a-z0-9_-]{0,63}\Z")
_CHANNEL = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\Z")
_ENV_NAME = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]{0,127}\Z")

_TOP_KEYS = {"schema", "mirror", "channel"}
_MIRROR_KEYS = {
    "name",
    "region",
    "homepage",
    "sources",
    "upstream",
    "enabled",
    "insecure",
    "token_env",
    "token_user",
    "notes",
    "channel_alias",
    "conda",
    "pypi",
    "pytorch",
    "hosts",
}
_CONDA_ENTRY_KEYS = {"url", "source", "subdirs", "note"}
_PYPI_KEYS = {"simple", "source", "note"}
_PYTORCH_KEYS = {"base", "layout", "listing", "source", "note"}
_CHANNEL_FACT_KEYS = {"note", "source", "sources", "frozen_after", "means", "windows_only"}


@dataclass(frozen=True)
class CondaChannel:
    """One conda channel as one mirror serves it."""

    name: str
    url: str
    source: str | None = None
    subdirs: tuple[str, ...] | None = None  # None: every subdir the channel has
    note: str | None = None

    def carries_subdir(self, subdir: str) -> bool:
        return self.subdirs is None or subdir in self.subdirs


@dataclass(frozen=True)
class PyPIIndex:
    simple: str
    source: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class TorchWheels:
    """A copy of https://download.pytorch.org/whl.

    ``layout`` is ``index`` (PEP 503 per variant: ``<base>/<variant>/`` for
    ``--index-url``) or ``find-links`` (a flat page of wheel links per variant
    for ``--find-links``: ``<base>/<variant>/<listing>``, ``listing`` empty for
    a directory listing).
    """

    base: str
    layout: str
    listing: str = ""
    source: str | None = None
    note: str | None = None

    def variant_url(self, variant: str) -> str:
        url = f"{self.base.rstrip('/')}/{variant}/"
        return url + self.listing if self.layout == "find-links" else url


@dataclass(frozen=True)
class Mirror:
    id: str
    name: str
    region: str
    homepage: str | None = None
    sources: tuple[str, ...] = ()
    upstream: bool = False
    enabled: bool = True
    insecure: bool = False
    token_env: str | None = None
    token_user: str = "__token__"  # the user name sent with the token (HTTP Basic)
    notes: tuple[str, ...] = ()
    channel_alias: str | None = None
    conda: Mapping[str, CondaChannel] = field(default_factory=dict)
    pypi: PyPIIndex | None = None
    pytorch: TorchWheels | None = None
    # official URL prefix -> this mirror's copy of the tree below it (PyG's, OpenMMLab's,
    # PaddlePaddle's pages: hosts no kind above covers); not ranked by a bench of its own
    hosts: Mapping[str, str] = field(default_factory=dict)
    origins: tuple[str, ...] = ()  # the catalog files that defined this entry

    @property
    def kinds(self) -> tuple[str, ...]:
        """What this mirror carries, in ``KINDS`` order."""
        has = {
            "conda": bool(self.conda) or self.channel_alias is not None,
            "pypi": self.pypi is not None,
            "pytorch": self.pytorch is not None,
        }
        return tuple(kind for kind in KINDS if has[kind])

    def urls(self) -> tuple[str, ...]:
        """Every base URL this mirror serves from (channels, alias, indexes, host copies)."""
        out = [c.url for c in self.conda.values()]
        out += [self.channel_alias] if self.channel_alias else []
        out += [self.pypi.simple] if self.pypi else []
        out += [self.pytorch.base] if self.pytorch else []
        out += list(self.hosts.values())
        return tuple(out)

    def copy_of(self, url: str) -> str | None:
        """``url`` on this mirror when it copies the official tree ``url`` is in, else None
        (the longest official prefix wins)."""
        for official in sorted(self.hosts, key=len, reverse=True):
            if url.startswith(official):
                return self.hosts[official] + url[len(official) :]
        return None

    def conda_channel(self, channel: str) -> CondaChannel | None:
        """This mirror's entry for a conda channel. anaconda.org reads a channel's name in any
        case (``-c paddle`` is the ``Paddle`` channel: mamba-org/quetz#163), while a mirror
        serves one folder (TUNA's ``cloud/Paddle``), so another case finds the catalog's."""
        entry = self.conda.get(channel)
        if entry is None:
            folded = channel.casefold()
            entry = next((c for k, c in self.conda.items() if k.casefold() == folded), None)
        return entry

    def channel_url(self, channel: str) -> str | None:
        """This mirror's URL for a conda channel, or None if it does not carry it."""
        entry = self.conda_channel(channel)
        if entry is not None:
            return entry.url
        if self.channel_alias is not None:
            return f"{self.channel_alias.rstrip('/')}/{channel}"
        return None


@dataclass(frozen=True)
class ChannelFacts:
    """What is true of a conda channel everywhere (e.g. pytorch frozen after 2.5)."""

    name: str
    note: str | None = None
    sources: tuple[str, ...] = ()
    frozen_after: str | None = None
    means: tuple[str, ...] = ()  # a meta-channel such as ``defaults``
    windows_only: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalog:
    mirrors: tuple[Mirror, ...]
    channels: Mapping[str, ChannelFacts]
    paths: tuple[str, ...]
    fingerprint: str = ""  # names the layers (paths and texts): a cached ranking's catalog

    def get(self, mirror_id: str) -> Mirror | None:
        return next((m for m in self.mirrors if m.id == mirror_id), None)

    def enabled(self) -> tuple[Mirror, ...]:
        return tuple(m for m in self.mirrors if m.enabled)

    def channel_at(self, url: str) -> tuple[Mirror, str] | None:
        """The mirror whose copy of a conda channel ``url`` is, and the channel's name: a
        catalogued channel URL or ``<channel_alias>/<name>`` (the scheme, any user:password
        and a trailing slash aside). Official hosts are not copies: None for them."""
        key = _bare(url)
        if key is None:
            return None
        for m in self.mirrors:
            if m.upstream:
                continue
            for name, entry in m.conda.items():
                if _bare(entry.url) == key:
                    return m, name
            alias = _bare(m.channel_alias) if m.channel_alias else None
            if alias and key.startswith(alias + "/") and "/" not in key[len(alias) + 1 :]:
                return m, key[len(alias) + 1 :]
        return None

    def expand_channel(self, channel: str, *, windows: bool) -> tuple[str, ...]:
        """``defaults`` -> its parts (msys2 on Windows only); any other name -> itself."""
        facts = self.channels.get(channel)
        if facts is None or not facts.means:
            return (channel,)
        return tuple(p for p in facts.means if windows or p not in facts.windows_only)


def _bare(url: str) -> str | None:
    """``host[:port]/path`` of ``url``, the host in lower case, no trailing slash (a path's
    case is kept: mirrors serve folders); None when it is not an http(s) URL."""
    parts = split_url(url.strip())
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.hostname.lower()}{port}{parts.path.rstrip('/')}"


# --------------------------------------------------------------------- parsing


MAX_CATALOG_BYTES = 1024 * 1024  # the packaged catalog is about 30 KB
MAX_KEY_DOTS = 16  # the deepest key the schema has is mirror.<id>.conda.<channel>


def parse_layer(text: str, path: str) -> dict[str, Any]:
    """TOML text -> the layer's table, checked for shape (types, keys, URLs)."""
    if len(text) > MAX_CATALOG_BYTES:
        raise CatalogError(
            path, f"{len(text)} characters is more than a catalog can be ({MAX_CATALOG_BYTES})"
        )
    # tomllib takes quadratic time over a dotted key's parts (20,000 parts: 7 s; a 600 KB
    # one did not finish), so keys are measured before it reads them
    line = _deepest_key(text)
    if line is not None:
        raise CatalogError(path, f"line {line}: a key with more than {MAX_KEY_DOTS} dotted parts")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(path, f"not valid TOML: {exc}") from None
    except RecursionError:
        raise CatalogError(path, "not valid TOML: arrays or tables nested too deeply") from None
    _check_layer(data, path)
    return data


def _deepest_key(text: str) -> int | None:
    """The first line whose key (what comes before ``=``, or a ``[table]`` header) has more
    than MAX_KEY_DOTS dots outside quotes; None if none has."""
    for number, line in enumerate(text.splitlines(), 1):
        if line.count(".") <= MAX_KEY_DOTS:
            continue
        dots, quote = 0, ""
        for char in line:
            if quote:
                quote = "" if char == quote else quote
            elif char in "\"'":
                quote = char
            elif char in "=#":
                break
            elif char == ".":
                dots += 1
        if dots > MAX_KEY_DOTS:
            return number
    return None


def _fail(path: str, problem: str, mirror: str | None = None, key: str | None = None) -> None:
    raise CatalogError(path, problem, mirror=mirror, key=key)


def _check_layer(data: dict[str, Any], path: str) -> None:
    for key in data:
        if key not in _TOP_KEYS:
            _fail(
                path,
                f"unknown top-level key (expected one of: {', '.join(sorted(_TOP_KEYS))})",
                key=key,
            )
    if "schema" not in data:
        _fail(path, f"missing 'schema = {SCHEMA_VERSION}' at the top of the file", key="schema")
    if data["schema"] != SCHEMA_VERSION:
        _fail(
            path,
            f"schema {data['schema']!r} is not supported (this minstall reads schema "
            f"{SCHEMA_VERSION}); upgrade minstall or rewrite the file",
            key="schema",
        )
    mirrors = data.get("mirror", {})
    if not isinstance(mirrors, dict):
        _fail(path, "must be a table of [mirror.<id>] entries", key="mirror")
    for mirror_id, entry in mirrors.items():
        _check_mirror(path, mirror_id, entry)
    channels = data.get("channel", {})
    if not isinstance(channels, dict):
        _fail(path, "must be a table of [channel.<name>] entries", key="channel")
    for name, facts in channels.items():
        _check_channel_facts(path, name, facts)


def _check_mirror(path: str, mid: str, entry: Any) -> None:
    if not _MIRROR_ID.match(mid):
        _fail(path, "mirror ids are lower-case letters, digits, '-' and '_'", mirror=mid)
    if not isinstance(entry, dict):
        _fail(path, "must be a table", mirror=mid)
    for key, value in entry.items():
        if key not in _MIRROR_KEYS:
            _fail(
                path, f"unknown key (expected one of: {', '.join(sorted(_MIRROR_KEYS))})", mid, key
            )
        if key in ("name", "region"):
            _want_str(path, mid, key, value)
        elif key in ("homepage", "channel_alias"):
            _want_url(path, mid, key, value)
        elif key == "sources":
            _want_url_list(path, mid, key, value)
        elif key in ("upstream", "enabled", "insecure"):
            if not isinstance(value, bool):
                _fail(path, f"must be true or false, not {value!r}", mid, key)
        elif key == "token_env":
            if not isinstance(value, str) or not _ENV_NAME.match(value):
                _fail(
                    path,
                    "must name an environment variable (the token itself is never "
                    "stored in the catalog)",
                    mid,
                    key,
                )
        elif key == "token_user":
            if not isinstance(value, str) or not re.fullmatch(
                r"[^\s:@/\\\x00-\x1f\x7f]{1,128}", value
            ):
                _fail(path, "must be a user name (no spaces, ':', '@' or '/')", mid, key)
        elif key == "notes":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                _fail(path, "must be a list of strings", mid, key)
        elif key == "conda":
            _check_conda(path, mid, value)
        elif key == "pypi":
            _check_table(path, mid, key, value, _PYPI_KEYS, required=())
            _check_urls_in(path, mid, key, value, ("simple", "source"))
        elif key == "pytorch":
            _check_table(path, mid, key, value, _PYTORCH_KEYS, required=())
            _check_urls_in(path, mid, key, value, ("base", "source"))
            if "layout" in value and value["layout"] not in LAYOUTS:
                _fail(
                    path,
                    f"must be one of {', '.join(LAYOUTS)}, not {value['layout']!r}",
                    mid,
                    "pytorch.layout",
                )
            if "listing" in value and not isinstance(value["listing"], str):
                _fail(
                    path, "must be a file name such as 'torch_stable.html'", mid, "pytorch.listing"
                )
        elif key == "hosts":
            _check_hosts(path, mid, value)


def _check_hosts(path: str, mid: str, table: Any) -> None:
    if not isinstance(table, dict):
        _fail(path, 'must be a table of "official URL prefix" = "this mirror\'s URL"', mid, "hosts")
    for official, copy in table.items():
        key = f'hosts."{official}"'
        _want_url(path, mid, key, official)
        if copy is False:
            continue
        _want_url(path, mid, key, copy)
        if not official.startswith("https://") or not official.endswith("/"):
            _fail(path, "an official prefix is an https:// URL ending in '/'", mid, key)
        if not copy.endswith("/"):
            _fail(path, "must end in '/', as the official prefix does", mid, key)


def _check_conda(path: str, mid: str, table: Any) -> None:
    if not isinstance(table, dict):
        _fail(path, "must be a table of channel = URL", mid, "conda")
    for channel, value in table.items():
        key = f"conda.{channel}"
        if not _CHANNEL.match(channel):
            _fail(path, "is not a valid conda channel name", mid, key)
        if value is False:  # a user layer removing a channel
            continue
        if isinstance(value, str):
            _want_url(path, mid, key, value)
            continue
        _check_table(path, mid, key, value, _CONDA_ENTRY_KEYS, required=("url",))
        _check_urls_in(path, mid, key, value, ("url", "source"))
        if "subdirs" in value:
            subdirs = value["subdirs"]
            if (
                not isinstance(subdirs, list)
                or not subdirs
                or not all(isinstance(s, str) for s in subdirs)
            ):
                _fail(path, "must be a non-empty list of conda subdirs", mid, f"{key}.subdirs")
            for subdir in subdirs:
                if subdir not in KNOWN_SUBDIRS:
                    _fail(
                        path,
                        f"unknown conda subdir {subdir!r} (known: "
                        f"{', '.join(sorted(KNOWN_SUBDIRS))})",
                        mid,
                        f"{key}.subdirs",
                    )


def _check_channel_facts(path: str, name: str, facts: Any) -> None:
    key = f"channel.{name}"
    if not _CHANNEL.match(name):
        _fail(path, "is not a valid conda channel name", key=key)
    if not isinstance(facts, dict):
        _fail(path, "must be a table", key=key)
    for k, v in facts.items():
        if k not in _CHANNEL_FACT_KEYS:
            _fail(
                path,
                f"unknown key (expected one of: {', '.join(sorted(_CHANNEL_FACT_KEYS))})",
                key=f"{key}.{k}",
            )
        if k in ("means", "windows_only", "sources") and (
            not isinstance(v, list) or not all(isinstance(x, str) for x in v)
        ):
            _fail(path, "must be a list of strings", key=f"{key}.{k}")
        if k in ("note", "frozen_after", "source") and not isinstance(v, str):
            _fail(path, "must be a string", key=f"{key}.{k}")
        if k == "frozen_after" and not re.fullmatch(r"[0-9]{1,4}(\.[0-9]{1,4}){0,3}", v):
            _fail(path, f"{v!r} is not a release such as 2.5", key=f"{key}.{k}")


def _check_table(
    path: str, mid: str, key: str, value: Any, allowed: set[str], required: Sequence[str]
) -> None:
    if not isinstance(value, dict):
        _fail(path, "must be a table", mid, key)
    for k in value:
        if k not in allowed:
            _fail(
                path,
                f"unknown key (expected one of: {', '.join(sorted(allowed))})",
                mid,
                f"{key}.{k}",
            )
    for k in required:
        if k not in value:
            _fail(path, "is required", mid, f"{key}.{k}")
    for k in ("note",):
        if k in value and not isinstance(value[k], str):
            _fail(path, "must be a string", mid, f"{key}.{k}")


def _check_urls_in(
    path: str, mid: str, key: str, table: dict[str, Any], names: Sequence[str]
) -> None:
    for name in names:
        if name in table:
            _want_url(path, mid, f"{key}.{name}", table[name])


def _want_str(path: str, mid: str, key: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        _fail(path, "must be a non-empty string", mid, key)


def _want_url_list(path: str, mid: str, key: str, value: Any) -> None:
    if not isinstance(value, list):
        _fail(path, "must be a list of URLs", mid, key)
    for item in value:
        _want_url(path, mid, key, item)


# RFC 3986 section 2: a URL holds these only percent-encoded; raw, a line break in one would
# start a new line in every config file and shell line minstall writes it into
_NOT_IN_URLS = set(' "<>\\^`{|}')


def _want_url(path: str, mid: str, key: str, value: Any) -> None:
    if not isinstance(value, str):
        _fail(path, f"must be a URL string, not {type(value).__name__}", mid, key)
    if any(not c.isprintable() or c in _NOT_IN_URLS for c in value):
        _fail(
            path,
            f"{redact_url(value)!r} holds a character a URL cannot hold unencoded (a control "
            'character, a line break, a space or one of "<>\\^`{|}); percent-encode it',
            mid,
            key,
        )
    parts = split_url(value)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        # never the password: the error is printed, and may be pasted into a bug report
        _fail(path, f"{redact_url(value)!r} is not an http(s) URL", mid, key)
    if parts.username or parts.password:
        _fail(
            path,
            "credentials must not be stored in the catalog; put the token in an "
            "environment variable and name it with token_env",
            mid,
            key,
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# --------------------------------------------------------------------- merging


def build_catalog(layers: Sequence[tuple[str, str]]) -> Catalog:
    """Parse and merge ``(path, text)`` layers, first = base, later ones override by id."""
    if not layers:
        raise CatalogError("<none>", "no catalog to read")
    merged: dict[str, dict[str, Any]] = {}
    origin: dict[tuple[str, str], str] = {}  # (mirror id, key) -> file that set it
    facts: dict[str, dict[str, Any]] = {}
    for path, text in layers:
        data = parse_layer(text, path)
        for mid, entry in data.get("mirror", {}).items():
            target = merged.setdefault(mid, {"_origins": []})
            target["_origins"].append(path)
            for key, value in entry.items():
                if key in ("conda", "pypi", "pytorch", "hosts") and isinstance(
                    target.get(key), dict
                ):
                    target[key] = {**target[key], **value}
                else:
                    target[key] = value
                if isinstance(value, dict):
                    for sub in value:
                        origin[(mid, f"{key}.{sub}")] = path
                origin[(mid, key)] = path
        for name, table in data.get("channel", {}).items():
            facts[name] = {**facts.get(name, {}), **table}
    mirrors = tuple(_finish_mirror(mid, entry, origin) for mid, entry in merged.items())
    channels = {name: _channel_facts(name, table) for name, table in facts.items()}
    digest = hashlib.sha256()
    for path, text in layers:
        digest.update(path.encode() + b"\0" + text.encode() + b"\0")
    return Catalog(
        mirrors=mirrors,
        channels=channels,
        paths=tuple(p for p, _ in layers),
        fingerprint=digest.hexdigest()[:16],
    )


def _finish_mirror(mid: str, entry: dict[str, Any], origin: dict[tuple[str, str], str]) -> Mirror:
    first = entry["_origins"][0]

    def where(key: str) -> str:
        return origin.get((mid, key), origin.get((mid, key.split(".")[0]), first))

    for key in ("name", "region"):
        if key not in entry:
            _fail(
                first,
                f"is required for a new mirror ({mid!r} is not in the catalog this file extends)",
                mid,
                key,
            )
    insecure = bool(entry.get("insecure", False))

    def url(key: str, value: str) -> str:
        if urlsplit(value).scheme == "http" and not insecure:
            host = urlsplit(value).hostname or ""
            if not is_loopback(host):
                _fail(
                    where(key),
                    f"plain http:// is refused for {host} (anyone on the path can "
                    "change what you install); use https://, or set "
                    "'insecure = true' on this mirror if you accept that",
                    mid,
                    key,
                )
        return value

    conda: dict[str, CondaChannel] = {}
    for channel, value in entry.get("conda", {}).items():
        if value is False:
            continue
        spec = {"url": value} if isinstance(value, str) else value
        conda[channel] = CondaChannel(
            name=channel,
            url=url(f"conda.{channel}", spec["url"]).rstrip("/"),
            source=spec.get("source"),
            subdirs=tuple(spec["subdirs"]) if "subdirs" in spec else None,
            note=spec.get("note"),
        )
    pypi = None
    if "pypi" in entry:
        table = entry["pypi"]
        if "simple" not in table:
            _fail(where("pypi"), "is required", mid, "pypi.simple")
        pypi = PyPIIndex(
            simple=url("pypi.simple", table["simple"]),
            source=table.get("source"),
            note=table.get("note"),
        )
    pytorch = None
    if "pytorch" in entry:
        table = entry["pytorch"]
        for key in ("base", "layout"):
            if key not in table:
                _fail(where("pytorch"), "is required", mid, f"pytorch.{key}")
        pytorch = TorchWheels(
            base=url("pytorch.base", table["base"]).rstrip("/"),
            layout=table["layout"],
            listing=table.get("listing", ""),
            source=table.get("source"),
            note=table.get("note"),
        )
    hosts = {
        official: url(f'hosts."{official}"', copy)
        for official, copy in entry.get("hosts", {}).items()
        if copy is not False
    }
    alias = entry.get("channel_alias")
    mirror = Mirror(
        id=mid,
        name=entry["name"],
        region=entry["region"],
        homepage=entry.get("homepage"),
        sources=tuple(entry.get("sources", ())),
        upstream=bool(entry.get("upstream", False)),
        enabled=bool(entry.get("enabled", True)),
        insecure=insecure,
        token_env=entry.get("token_env"),
        token_user=entry.get("token_user", "__token__"),
        notes=tuple(entry.get("notes", ())),
        channel_alias=url("channel_alias", alias).rstrip("/") if alias else None,
        conda=conda,
        pypi=pypi,
        pytorch=pytorch,
        hosts=hosts,
        origins=tuple(dict.fromkeys(entry["_origins"])),
    )
    if mirror.enabled and not mirror.kinds and not mirror.hosts:
        _fail(
            where("name"),
            "carries nothing: give it a [conda], [pypi], [pytorch] or [hosts] table, or set "
            "enabled = false",
            mid,
        )
    return mirror


def _channel_facts(name: str, table: dict[str, Any]) -> ChannelFacts:
    sources = list(table.get("sources", []))
    if "source" in table:
        sources.insert(0, table["source"])
    return ChannelFacts(
        name=name,
        note=table.get("note"),
        sources=tuple(sources),
        frozen_after=table.get("frozen_after"),
        means=tuple(table.get("means", ())),
        windows_only=tuple(table.get("windows_only", ())),
    )
