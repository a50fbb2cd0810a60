"""What a conda command would download, from conda's own ``--dry-run --json`` plan, and
where else the same package files are. Pure.

conda's dry run lists each package to fetch (``actions.FETCH``) with its URL, size, md5 and
sha256. The same file sits at the same path under every mirror's copy of the channel; the
sha256 decides whether a copy is the same file, so a mirror serving another one is dropped
by the fetcher, not trusted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from mirrorinstall.core.urls import split_url
from mirrorinstall.fetch.jobs import Job, Source, plain_name

MAX_SOURCES = 3


@dataclass(frozen=True)
class CondaFile:
    fn: str
    url: str
    sha256: str
    md5: str | None
    size: int | None


def parse_dry_run(text: str) -> list[CondaFile]:
    """The packages of conda's ``--dry-run --json`` document (ValueError if it is not one,
    or a package lacks what minstall needs to fetch and verify it)."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    fetch = (data.get("actions") or {}).get("FETCH") or []
    out = []
    for record in fetch:
        url = record.get("url")
        sha = record.get("sha256")
        parts = split_url(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https"):
            raise ValueError(f"a package without an http(s) URL: {record.get('fn')!r}")
        if not isinstance(sha, str) or len(sha) != 64:
            raise ValueError(f"no sha256 for {record.get('fn') or url}")
        size = record.get("size")
        md5 = record.get("md5")
        fn = str(record.get("fn") or unquote(parts.path.rsplit("/", 1)[-1]))
        if not plain_name(fn):
            raise ValueError(f"a package file name that is not a plain name: {fn!r}")
        out.append(
            CondaFile(
                fn,
                url,
                sha.lower(),
                md5 if isinstance(md5, str) else None,
                size if isinstance(size, int) and size >= 0 else None,
            )
        )
    return out


def conda_jobs(
    files: list[CondaFile],
    channels: list[tuple[str, dict[str, str]]],
    alternates_from: Callable[[str], bool] = lambda mirror: True,
) -> list[Job]:
    """A download job per package: its own URL first, then the same path under the other
    mirrors' copies of its channel (those ``alternates_from`` accepts). ``channels``:
    (mirror id, channel name -> URL) in rank order."""
    jobs = []
    for f in files:
        sources = []
        for mirror, urls in channels:
            for name, base in urls.items():
                prefix = base.rstrip("/") + "/"
                if f.url.startswith(prefix):
                    sources.append(Source(mirror, f.url))
                    rest = f.url[len(prefix) :]
                    sources += [
                        Source(other, others[name].rstrip("/") + "/" + rest)
                        for other, others in channels
                        if other != mirror and name in others and alternates_from(other)
                    ]
                    break
            if sources:
                break
        if not sources:
            sources = [Source("origin", f.url)]
        jobs.append(Job(f.fn, f.sha256, f.size, sources[:MAX_SOURCES]))
    return jobs
