"""`minstall warm`: pull an install's files through a fleet cache once, so no client waits on
a cold 2.5 GB wheel.  [edge: network, disk]

The cache's own catalog entry (``/minstall-serve/catalog.toml``) becomes the only mirror;
minstall resolves the install as `minstall fetch` does (pip's or conda's own resolution) and
downloads every file through the cache into a throwaway store, so each file crosses the
cache whether or not this machine's store has it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import httpx

from mirrorinstall.core.catalog import Catalog, build_catalog
from mirrorinstall.core.errors import CatalogError, NoMirrorError, UsageError
from mirrorinstall.core.settings import Session
from mirrorinstall.core.urls import split_url

ENTRY_LIMIT = 64 * 1024  # a cache's entry is a few hundred bytes


def cache_catalog(url: str, timeout_s: float = 10.0) -> tuple[Catalog, str]:
    """The catalog holding the cache at ``url`` alone, and its mirror id, from the entry the
    cache serves, written for ``url`` (the cache may advertise a LAN name this host does not
    use for itself)."""
    parts = split_url(url)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"--cache {url!r} is not an http(s) URL", "For example http://127.0.0.1:8790"
        )
    base = url.rstrip("/")
    where = base + "/minstall-serve/catalog.toml"
    try:
        with httpx.stream("GET", where, timeout=timeout_s, follow_redirects=False) as r:
            if r.status_code != 200:
                raise NoMirrorError(
                    f"{where} answered {r.status_code}: not a minstall serve cache",
                    "Give the URL 'minstall serve' printed (its first line).",
                )
            body = b""
            for chunk in r.iter_bytes():
                body += chunk
                if len(body) > ENTRY_LIMIT:
                    raise NoMirrorError(f"{where} is larger than a catalog entry", "Check --cache.")
    except httpx.HTTPError as exc:
        raise NoMirrorError(
            f"cannot reach the cache at {base}: {exc}", "Start it with 'minstall serve'."
        ) from None
    text = body.decode("utf-8", "replace")
    try:
        catalog = build_catalog([(where, text)])
    except CatalogError as exc:
        raise NoMirrorError(
            f"the cache's catalog entry is not valid: {exc.message}", None
        ) from None
    if len(catalog.mirrors) != 1 or not catalog.mirrors[0].homepage:
        raise NoMirrorError(f"{where} does not hold one cache entry", "Check --cache.")
    mirror = catalog.mirrors[0]
    advertised = mirror.homepage.rstrip("/")
    if advertised != base:
        text = text.replace(f'"{advertised}/', f'"{base}/').replace(f'"{advertised}"', f'"{base}"')
        catalog = build_catalog([(where, text)])
    return catalog, mirror.id


def warm(session: Session, cache_url: str, argv: list[str], **fetch: object):
    """Fetch ``argv``'s files through the cache into a throwaway store; the fetch report."""
    from mirrorinstall.run.fetching import fetch_command

    catalog, cache_id = cache_catalog(cache_url)
    scratch = Path(tempfile.mkdtemp(prefix="minstall-warm-"))
    try:
        through = Session(environ=session.environ, catalog=catalog, cache_dir=scratch)
        return fetch_command(through, argv, mirror_id=cache_id, **fetch)  # type: ignore[arg-type]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
