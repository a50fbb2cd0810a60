"""A package index's project page (PEP 691 JSON, PEP 503 HTML) or a find-links page read into
its files with everything an installer decides by, and written back as a PEP 503 page. Pure.

What an installer reads from a file entry: the URL and its ``#sha256=``, ``requires-python``,
``yanked`` (with its reason), and whether PEP 658/714 metadata is served beside it
(https://packaging.python.org/en/latest/specifications/simple-repository-api/).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

from mirrorinstall.core.urls import joined

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
FILES_LIMIT = 200_000  # entries read from one page (PyPI's biggest pages hold ~20 000)


@dataclass(frozen=True)
class PageFile:
    filename: str
    url: str  # absolute, without the fragment
    sha256: str | None
    requires_python: str | None = None
    yanked: str | None = None  # None: not yanked; "" yanked without a reason
    metadata: str | None = None  # PEP 714: "true" or "sha256=<hex>" when the index serves it
    size: int | None = None  # PEP 700 (JSON pages only)


def parse_page(body: bytes, content_type: str, base: str) -> list[PageFile]:
    """The files a page lists (``base``: the page's own URL, for relative links). Raises
    ValueError when a JSON page is not one."""
    if content_type.split(";")[0].strip().lower() == SIMPLE_JSON:
        return _json_files(body, base)
    parser = _Anchors()
    parser.feed(body.decode("utf-8", errors="replace"))
    parser.close()
    out = []
    for attrs in parser.anchors[:FILES_LIMIT]:
        full = joined(base, attrs.get("href") or "")
        if not attrs.get("href") or full is None:
            continue
        url, _, fragment = full.partition("#")
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        if not name:
            continue  # a directory link ("../") in a listing
        key, _, digest = fragment.partition("=")
        sha = digest.lower() if key == "sha256" and _hex64(digest) else None
        meta = attrs.get("data-core-metadata") or attrs.get("data-dist-info-metadata")
        out.append(
            PageFile(
                name,
                url,
                sha,
                attrs.get("data-requires-python") or None,
                attrs.get("data-yanked"),
                _metadata_attr(meta),
            )
        )
    return out


def _json_files(body: bytes, base: str) -> list[PageFile]:
    data = json.loads(body)
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        raise ValueError("a PEP 691 page without a files list")
    out = []
    for entry in files[:FILES_LIMIT]:
        if not isinstance(entry, dict):
            continue
        name, url = entry.get("filename"), entry.get("url")
        if not isinstance(name, str) or not isinstance(url, str):
            continue
        whole = joined(base, url)
        if whole is None:
            continue
        full = whole.partition("#")[0]
        hashes = entry.get("hashes")
        sha = hashes.get("sha256") if isinstance(hashes, dict) else None
        rp = entry.get("requires-python")
        yanked = entry.get("yanked")
        size = entry.get("size")
        meta = entry.get("core-metadata", entry.get("data-dist-info-metadata"))
        if isinstance(meta, dict):
            digest = meta.get("sha256")
            meta = f"sha256={digest}" if isinstance(digest, str) and _hex64(digest) else "true"
        out.append(
            PageFile(
                name,
                full,
                sha.lower() if isinstance(sha, str) and _hex64(sha) else None,
                rp if isinstance(rp, str) and rp else None,
                (yanked if isinstance(yanked, str) else "") if yanked else None,
                "true" if meta is True else _metadata_attr(meta if isinstance(meta, str) else None),
                size
                if isinstance(size, int) and not isinstance(size, bool) and size >= 0
                else None,
            )
        )
    return out


def _metadata_attr(value: str | None) -> str | None:
    if value is None or value.lower() == "false":
        return None
    key, _, digest = value.partition("=")
    return f"sha256={digest.lower()}" if key == "sha256" and _hex64(digest) else "true"


def _hex64(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text)


def render_page(title: str, links: list[tuple[str, PageFile]]) -> bytes:
    """A PEP 503 page (repository version 1.1) listing each (href, file): hashes, requires-
    python, yanked and the metadata attribute as the file has them."""
    rows = []
    for href, f in links:
        attrs = [f'href="{html.escape(href + (f"#sha256={f.sha256}" if f.sha256 else ""))}"']
        if f.requires_python:
            attrs.append(f'data-requires-python="{html.escape(f.requires_python)}"')
        if f.yanked is not None:
            attrs.append(f'data-yanked="{html.escape(f.yanked)}"')
        if f.metadata:
            value = html.escape(f.metadata)
            attrs.append(f'data-core-metadata="{value}" data-dist-info-metadata="{value}"')
        rows.append(f"<a {' '.join(attrs)}>{html.escape(f.filename)}</a><br/>")
    return (
        '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.1">'
        f"<title>{html.escape(title)}</title></head>\n<body>\n"
        + "\n".join(rows)
        + "\n</body></html>\n"
    ).encode()


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a" and len(self.anchors) <= FILES_LIMIT:
            self.anchors.append({k: v if v is not None else "" for k, v in attrs})
