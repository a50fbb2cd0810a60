"""What a pip command would install, file by file, as pip itself resolves it.
[edge: process (pip), network (the mirrors' simple pages)]

pip's ``install --dry-run --report -`` gives every file it would install with its URL and
sha256, without downloading wheels where the index serves PEP 658 metadata. The other healthy
PyPI mirrors are then asked for the same project's page (PEP 691 JSON): a file there with the
same name *and* the same sha256 is another source of the same bytes.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from mirrorinstall.core.errors import UsageError
from mirrorinstall.fetch.transfer import Job, Source

PAGE_LIMIT = 16 * 1024 * 1024  # a project page bigger than this is not read
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True)
class Resolved:
    project: str
    version: str
    filename: str
    url: str
    sha256: str


def pip_report(
    pip: list[str], args: list[str], environ: Mapping[str, str], timeout_s: float = 600
) -> list[Resolved]:
    """Run ``pip install --dry-run --report -`` with ``args`` (an install's arguments, indexes
    included) and return the files it would install."""
    argv = [*pip, "install", "--dry-run", "--ignore-installed", "--quiet", "--report", "-", *args]
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env=dict(environ),
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(
            f"pip could not resolve the install: {exc}", "Check the command."
        ) from None
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-6:])
        raise UsageError(
            f"pip could not resolve the install (exit code {proc.returncode}):\n{tail}",
            "Run the same command with 'minstall pip ...' to see pip's whole answer.",
        )
    try:
        return parse_report(proc.stdout)
    except (ValueError, AttributeError, TypeError) as exc:
        raise UsageError(
            f"pip's installation report could not be read ({exc})",
            "Upgrade pip (the report needs pip >= 22.2), or run 'minstall pip install ...'.",
        ) from None


def parse_report(text: str) -> list[Resolved]:
    """The files of a pip installation report (JSON), each with its sha256."""
    report = json.loads(text)
    out = []
    for item in report.get("install", []):
        info = item.get("download_info", {})
        url = info.get("url", "")
        hashes = info.get("archive_info", {}).get("hashes", {})
        sha = hashes.get("sha256")
        if not url or not sha:
            continue  # a local path or a VCS checkout: nothing to download
        meta = item.get("metadata", {})
        out.append(
            Resolved(
                meta.get("name", ""),
                meta.get("version", ""),
                unquote(urlsplit(url).path.rsplit("/", 1)[-1]),
                url,
                sha,
            )
        )
    return out


def alternates(
    files: list[Resolved], mirrors: list[tuple[str, str]], origin: str, timeout_s: float = 10
) -> list[Job]:
    """A download job per file: the URL pip chose (mirror ``origin``), plus every other mirror
    (id, simple index URL) whose project page lists the same file with the same sha256."""
    jobs = {f.sha256: Job(f.filename, f.sha256, None, [Source(origin, f.url)]) for f in files}
    projects = sorted({f.project for f in files if f.project})
    with httpx.Client(timeout=timeout_s, headers={"Accept": SIMPLE_JSON}) as client:
        for mirror, simple in mirrors:
            if mirror == origin:
                continue
            for project in projects:
                for entry in _page(client, simple, project):
                    job = jobs.get(entry["sha256"])
                    if job is not None and entry["filename"] == job.name:
                        job.sources.append(Source(mirror, entry["url"]))
                        job.size = job.size or entry.get("size")
    return list(jobs.values())


def _page(client: httpx.Client, simple: str, project: str) -> list[dict]:
    page = f"{simple.rstrip('/')}/{project.lower().replace('_', '-')}/"
    try:
        with client.stream("GET", page, follow_redirects=True) as r:
            if r.status_code != 200 or SIMPLE_JSON not in r.headers.get("content-type", ""):
                return []
            body = b""
            for block in r.iter_bytes():
                body += block
                if len(body) > PAGE_LIMIT:
                    return []
            base = str(r.url)
    except httpx.HTTPError:
        return []
    try:
        files = json.loads(body).get("files", [])
    except ValueError:
        return []
    out = []
    for entry in files:
        sha = (entry.get("hashes") or {}).get("sha256")
        url = entry.get("url")
        if isinstance(sha, str) and isinstance(url, str):
            size = entry.get("size")
            out.append(
                {
                    "filename": entry.get("filename"),
                    "url": urljoin(base, url),
                    "sha256": sha,
                    "size": size if isinstance(size, int) and size >= 0 else None,
                }
            )
    return out
