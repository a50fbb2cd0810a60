"""What a mirror's answers say: repodata, PEP 503/691 pages, wheel listings. Pure.

Each ``check_*`` takes bytes and headers a mirror sent and returns either the facts
bench needs (newest version, biggest artifact, timestamps) or a :class:`Invalid`
whose ``reason`` says, in words a user understands, what was served instead of
what was asked ("served an HTML page where repodata.json was expected").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import unquote, urljoin, urlsplit

from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from mirrorinstall.core.untrusted import printable
from mirrorinstall.core.urls import split_url

JSON_SIMPLE = "application/vnd.pypi.simple.v1+json"
SIMPLE_ACCEPT = f"{JSON_SIMPLE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"

_REPODATA_START = re.compile(
    rb'^\s*\{\s*"(info|packages|packages\.conda|repodata_version|removed)"'
)


@dataclass(frozen=True)
class Invalid:
    reason: str


@dataclass(frozen=True)
class Artifact:
    url: str
    size: int | None
    sha256: str | None = None


@dataclass(frozen=True)
class PageFacts:
    """What a valid index page or repodata told us."""

    newest: str | None = None  # newest version (pypi/pytorch) of the reference project
    newest_time_s: float | None = None  # newest package timestamp / upload time, epoch seconds
    artifact: Artifact | None = None  # the biggest file worth a throughput measurement
    smallest: Artifact | None = None  # the smallest file with a known hash, to check integrity


def _looks_html(body: bytes, content_type: str) -> bool:
    head = body[:512].lstrip().lower()
    return "html" in content_type.lower() or head.startswith((b"<!doctype", b"<html", b"<"))


def what_was_served(body: bytes, content_type: str) -> str:
    """A short description of an unexpected answer, for error messages."""
    if _looks_html(body, content_type):
        title = re.search(rb"<title>(.*?)</title>", body[:4096], re.I | re.S)
        if title:
            # a server's words: no control character of theirs reaches a terminal or the cache
            text = printable(title.group(1).decode(errors="replace").strip()[:60])
            return f'an HTML page ("{text}")'
        return "an HTML page"
    if not body:
        return "an empty answer"
    return f"{content_type or 'unknown content'} ({len(body)} bytes)"


def check_repodata_head(body: bytes, content_type: str) -> Invalid | None:
    """The first bytes of repodata.json must open a JSON object with repodata's keys."""
    if _REPODATA_START.match(body):
        return None
    return Invalid(f"served {what_was_served(body, content_type)} where repodata.json was expected")


def check_repodata(body: bytes, content_type: str, base_url: str) -> PageFacts | Invalid:
    """A whole repodata.json: its newest package time and its biggest package."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return Invalid(
            f"served {what_was_served(body, content_type)} where repodata.json "
            "was expected (not valid JSON)"
        )
    if not isinstance(data, dict) or not ({"packages", "packages.conda"} & data.keys()):
        return Invalid("served JSON without 'packages' where repodata.json was expected")
    records = {**data.get("packages", {}), **data.get("packages.conda", {})}
    newest = max((r.get("timestamp", 0) for r in records.values()), default=0)
    if newest > 1e11:  # conda writes milliseconds (older records: seconds)
        newest /= 1000
    files = [
        Artifact(urljoin(base_url, fn), r.get("size"), r.get("sha256")) for fn, r in records.items()
    ]
    return PageFacts(
        newest_time_s=newest or None,
        artifact=max(files, key=lambda a: a.size or 0, default=None),
        smallest=_smallest_hashed(files),
    )


def _smallest_hashed(files: list[Artifact]) -> Artifact | None:
    """The smallest file with a hash; with no sizes given (PEP 503 HTML), the first one."""
    hashed = [a for a in files if a.sha256]
    sized = [a for a in hashed if a.size]
    if sized:
        return min(sized, key=lambda a: a.size or 0)
    return hashed[0] if hashed else None


def _fragment_sha256(href: str) -> str | None:
    fragment = urlsplit(href).fragment
    return fragment[len("sha256=") :] if fragment.startswith("sha256=") else None


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href and split_url(href) is not None:  # a link no URL parser reads is no link
                self.links.append(href)


def _html_links(body: bytes) -> list[str]:
    parser = _Links()
    parser.feed(body.decode("utf-8", errors="replace"))
    return parser.links


def page_links(body: bytes) -> list[str]:
    """The hrefs of an HTML page (a PEP 503 project page, a flat listing), as written."""
    return _html_links(body)


def _filename(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def version_of(filename: str, project: str) -> Version | None:
    """Version of a wheel or sdist of ``project`` named ``filename``, else None."""
    norm = re.sub(r"[-_.]+", "_", project).lower()
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
            return version if re.sub(r"[-_.]+", "_", name).lower() == norm else None
        for ext in (".tar.gz", ".zip", ".tar.bz2"):
            if filename.endswith(ext):
                stem = filename[: -len(ext)]
                name, _, version = stem.rpartition("-")
                if re.sub(r"[-_.]+", "_", name).lower() == norm:
                    return Version(version)
    except (InvalidWheelFilename, InvalidVersion):
        return None
    return None


def check_simple_page(
    body: bytes, content_type: str, page_url: str, project: str
) -> PageFacts | Invalid:
    """A PEP 691 JSON or PEP 503 HTML project page with links to ``project``'s files."""
    files: list[tuple[str, int | None, float | None, str | None]] = []  # url, size, time, sha256
    if content_type.split(";")[0].strip() == JSON_SIMPLE:
        try:
            data = json.loads(body)
            for f in data["files"]:
                url = urljoin(page_url, f["url"])
                sha = f.get("hashes", {}).get("sha256")
                files.append((url, f.get("size"), _iso_time(f.get("upload-time")), sha))
        except (ValueError, KeyError, TypeError):
            return Invalid("served broken PEP 691 JSON for the project page")
    elif _looks_html(body, content_type):
        files = [
            (urljoin(page_url, href), None, None, _fragment_sha256(href))
            for href in _html_links(body)
        ]
    else:
        return Invalid(
            f"served {what_was_served(body, content_type)} where a simple index page was expected"
        )
    versioned = [
        (v, url, size, t)
        for url, size, t, _ in files
        if (v := version_of(_filename(url), project)) is not None
    ]
    if not versioned:
        return Invalid(
            f"served {what_was_served(body, content_type)} with no links to "
            f"{project} files where a simple index page was expected"
        )
    newest = max(v for v, *_ in versioned)
    times = [t for *_, t in versioned if t is not None]
    mine = [(size or 0, url) for v, url, size, _ in versioned if v == newest]
    size, url = max(mine)
    return PageFacts(
        newest=str(newest),
        newest_time_s=max(times) if times else None,
        artifact=Artifact(url.split("#", 1)[0], size or None),
        smallest=_smallest_hashed(
            [
                Artifact(u.split("#", 1)[0], n, sha)
                for u, n, _, sha in files
                if version_of(_filename(u), project) is not None
            ]
        ),
    )


def check_wheel_listing(
    body: bytes, content_type: str, page_url: str, project: str = "torch"
) -> PageFacts | Invalid:
    """A PyTorch-wheel page (PEP 503 project page, torch_stable.html or a flat listing)."""
    if content_type.split(";")[0].strip() == JSON_SIMPLE:
        return check_simple_page(body, content_type, page_url, project)
    if not _looks_html(body, content_type):
        return Invalid(
            f"served {what_was_served(body, content_type)} where a wheel listing was expected"
        )
    return check_simple_page(body, "text/html", page_url, project)


def _iso_time(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    from datetime import datetime

    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def parse_http_date(value: str | None) -> float | None:
    if not value:
        return None
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


_PLATFORM_TAGS = {
    "linux-64": ("linux_x86_64", "manylinux*_x86_64", "manylinux1_x86_64"),
    "linux-aarch64": ("linux_aarch64", "manylinux*_aarch64"),
    "linux-ppc64le": ("linux_ppc64le", "manylinux*_ppc64le"),
    "win-64": ("win_amd64",),
    "win-arm64": ("win_arm64",),
    "osx-64": ("macosx_*_x86_64", "macosx_*_universal2"),
    "osx-arm64": ("macosx_*_arm64", "macosx_*_universal2"),
}


def wheel_fits(filename: str, python: str, subdir: str) -> bool:
    """Can a wheel named ``filename`` install on CPython ``python`` ("3.11") on ``subdir``?"""
    import fnmatch

    try:
        _, _, _, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return False
    cp = "cp" + python.replace(".", "")
    patterns = (*_PLATFORM_TAGS.get(subdir, ()), "any")
    for tag in tags:
        if tag.interpreter not in (cp, "py3", f"py{python.replace('.', '')}"):
            continue
        if tag.abi not in (cp, "abi3", "none"):
            continue
        if any(fnmatch.fnmatch(tag.platform, p) for p in patterns):
            return True
    return False


def listed_wheels(body: bytes, content_type: str) -> list[str]:
    """File names of the wheels a PEP 503/691 page or a flat listing links to."""
    if content_type.split(";")[0].strip() == JSON_SIMPLE:
        try:
            return [f["filename"] for f in json.loads(body)["files"]]
        except (ValueError, KeyError, TypeError):
            return []
    return [_filename(href) for href in _html_links(body) if _filename(href).endswith(".whl")]
