"""The catalog as people and scripts read it: ``minstall mirrors`` table and JSON. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from mirrorinstall.core.catalog import Catalog, Mirror


def mirror_to_json(mirror: Mirror) -> dict[str, object]:
    return {
        "id": mirror.id,
        "name": mirror.name,
        "region": mirror.region,
        "upstream": mirror.upstream,
        "enabled": mirror.enabled,
        "insecure": mirror.insecure,
        "homepage": mirror.homepage,
        "kinds": list(mirror.kinds),
        "conda": {
            name: {
                "url": ch.url,
                "subdirs": list(ch.subdirs) if ch.subdirs else None,
                "source": ch.source,
                "note": ch.note,
            }
            for name, ch in mirror.conda.items()
        },
        "channel_alias": mirror.channel_alias,
        "pypi": None
        if mirror.pypi is None
        else {"simple": mirror.pypi.simple, "source": mirror.pypi.source, "note": mirror.pypi.note},
        "pytorch": None
        if mirror.pytorch is None
        else {
            "base": mirror.pytorch.base,
            "layout": mirror.pytorch.layout,
            "listing": mirror.pytorch.listing,
            "source": mirror.pytorch.source,
            "note": mirror.pytorch.note,
        },
        "hosts": dict(mirror.hosts),
        "token_env": mirror.token_env,
        "token_user": mirror.token_user,
        "sources": list(mirror.sources),
        "notes": list(mirror.notes),
        "origins": list(mirror.origins),
    }


def catalog_to_json(catalog: Catalog) -> dict[str, object]:
    return {
        "schema": 1,
        "catalogs": list(catalog.paths),
        "mirrors": [mirror_to_json(m) for m in catalog.mirrors],
        "channels": {
            name: {
                "note": f.note,
                "frozen_after": f.frozen_after,
                "means": list(f.means),
                "windows_only": list(f.windows_only),
                "sources": list(f.sources),
            }
            for name, f in catalog.channels.items()
        },
    }


# Channels people ask for by name; the table shows these and counts the rest.
_KEY_CHANNELS = ("conda-forge", "bioconda", "pytorch", "nvidia")


def _conda_summary(m: Mirror) -> str:
    names = list(m.conda)
    shown = []
    if "main" in names and "r" in names:
        shown.append("defaults")
        names = [n for n in names if n not in ("main", "r", "msys2", "free")]
    shown += [n for n in _KEY_CHANNELS if n in names]
    rest = len([n for n in names if n not in _KEY_CHANNELS])
    if m.channel_alias:
        shown.append("any channel")
    elif rest:
        shown.append(f"+{rest}")
    return " ".join(shown) or "-"


def _host(prefix: str) -> str:
    return prefix.split("://", 1)[-1].split("/", 1)[0]


def format_mirror_table(mirrors: Sequence[Mirror]) -> str:
    """A fixed-column table; ``minstall mirrors --json`` has every detail."""
    rows = [("ID", "REGION", "CONDA", "PYPI", "PYTORCH", "NAME")]
    for m in mirrors:
        flags = [f for f, on in (("upstream", m.upstream), ("disabled", not m.enabled)) if on]
        rows.append(
            (
                m.id,
                m.region,
                _conda_summary(m) if m.conda or m.channel_alias else "-",
                "yes" if m.pypi else "-",
                m.pytorch.layout if m.pytorch else "-",
                m.name
                + (f" [{', '.join(flags)}]" if flags else "")
                + (f" (copies {', '.join(_host(h) for h in m.hosts)})" if m.hosts else ""),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join(
        "  ".join(f"{cell:<{w}}" for cell, w in zip(r[:5], widths, strict=True)) + "  " + r[5]
        for r in rows
    )
