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
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import httpx

from mirrorinstall.core import capped
from mirrorinstall.core.errors import UsageError
from mirrorinstall.core.urls import split_url
from mirrorinstall.fetch import paced
from mirrorinstall.fetch.jobs import Job, Source, plain_name
from mirrorinstall.fetch.simplepage import SIMPLE_JSON, PageFile, parse_page

PAGE_LIMIT = 16 * 1024 * 1024  # a project page bigger than this is not read
SIMPLE_HTML = ("text/html", "application/vnd.pypi.simple.v1+html")
# JSON preferred, HTML taken (PEP 691's negotiation; most mirrors serve HTML only)
SIMPLE_ACCEPT = f"{SIMPLE_JSON}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
PAGE_CONNECTIONS = 8


@dataclass(frozen=True)
class Resolved:
    project: str
    version: str
    filename: str
    url: str
    sha256: str


@dataclass(frozen=True)
class Resolution:
    """What pip would install: the index files minstall can fetch, and the rest, each with
    why it cannot be fetched ahead (pip then gets it itself)."""

    files: list[Resolved]
    direct: list[str]  # `name @ URL`, a VCS checkout, a local path: pip takes them as given
    unfetchable: list[str]  # an index file minstall cannot fetch ahead, with the reason
    # index files whose page gives no sha256 (a flat PyTorch listing): another mirror's
    # index-layout copy may still hash them (fetch/supply.py)
    unhashed: list[Resolved] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.files or self.direct or self.unfetchable)

    @property
    def sdists(self) -> list[str]:
        return [f.filename for f in self.files if not f.filename.endswith(".whl")]


def pip_report(
    pip: list[str],
    args: list[str],
    environ: Mapping[str, str],
    *,
    ignore_installed: bool = True,
    timeout_s: float = 600,
) -> Resolution:
    """Run ``pip install --dry-run --report -`` with ``args`` (an install's arguments, indexes
    included) and return what it would install; ``ignore_installed`` as ``pip download`` (every
    file), else only what the target environment lacks (an install)."""
    extra = ["--ignore-installed"] if ignore_installed else []
    argv = [*pip, "install", "--dry-run", *extra, "--quiet", "--report", "-", *args]
    try:
        proc = capped.run(
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


class ReportError(Exception):
    """pip's report could not be read."""


REPORT_LIMIT = 64 * 1024 * 1024


def read_report(path: Path) -> Resolution:
    """The report pip wrote to ``path`` (bounded, checked)."""
    try:
        if path.stat().st_size > REPORT_LIMIT:
            raise ReportError(f"pip's report is bigger than {REPORT_LIMIT // 2**20} MiB")
        return parse_report(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportError(f"pip wrote no report ({exc.strerror or exc})") from None
    except (ValueError, AttributeError, TypeError) as exc:
        raise ReportError(f"pip's report could not be read ({exc})") from None


def parse_report(text: str) -> Resolution:
    """The files of a pip installation report (JSON), each with its sha256."""
    report = json.loads(text)
    files, direct, unfetchable, unhashed = [], [], [], []
    for item in report.get("install", []):
        info = item.get("download_info") or {}
        meta = item.get("metadata") or {}
        name = str(meta.get("name", "?"))
        url = str(info.get("url", ""))
        hashes = (info.get("archive_info") or {}).get("hashes") or {}
        sha = hashes.get("sha256")
        parts = split_url(url)
        filename = unquote(parts.path.rsplit("/", 1)[-1]) if parts else ""
        if item.get("is_direct") or parts is None or parts.scheme not in ("http", "https"):
            direct.append(name)  # in the command as a URL or path: pip gets it as told
        elif not plain_name(filename):
            unfetchable.append(f"{name}: its file name is not a plain name ({filename!r})")
        elif not isinstance(sha, str) or len(sha) != 64:
            unfetchable.append(f"{name}: the index gives no sha256 for {filename}")
            unhashed.append(Resolved(name, str(meta.get("version", "")), filename, url, ""))
        else:
            files.append(Resolved(name, str(meta.get("version", "")), filename, url, sha.lower()))
    return Resolution(files, direct, unfetchable, unhashed)


def alternates(
    files: list[Resolved],
    mirrors: list[tuple[str, str]],
    origin: str,
    timeout_s: float = 10,
    auth: httpx.Auth | None = None,
) -> list[Job]:
    """A download job per file: the URL pip chose (mirror ``origin``), plus every other mirror
    (id, simple index URL) whose project page lists the same file with the same sha256."""
    from concurrent.futures import ThreadPoolExecutor

    jobs = {f.sha256: Job(f.filename, f.sha256, None, [Source(origin, f.url)]) for f in files}
    projects = sorted({f.project for f in files if f.project})
    asks = [(m, simple, p) for m, simple in mirrors if m != origin for p in projects]
    limits = httpx.Limits(max_connections=PAGE_CONNECTIONS)
    with (
        httpx.Client(
            timeout=timeout_s, headers={"Accept": SIMPLE_ACCEPT}, limits=limits, auth=auth
        ) as client,
        ThreadPoolExecutor(PAGE_CONNECTIONS) as pool,
    ):
        # every page at once: each costs a round trip, and there are mirrors x projects
        pages = list(pool.map(lambda ask: page_copies(client, ask[1], ask[2]), asks))
    for (mirror, _simple, _project), entries in zip(asks, pages, strict=True):
        for entry in entries:
            job = jobs.get(entry.sha256 or "")
            if job is not None and entry.filename == job.name:
                job.sources.append(Source(mirror, entry.url))
                job.size = job.size or entry.size
    return list(jobs.values())


def page_copies(client: httpx.Client, simple: str, project: str) -> list[PageFile]:
    """The files a mirror's project page lists with a sha256 (the only ones a copy can be
    matched by): PEP 691 JSON, or PEP 503 HTML with ``#sha256=`` fragments (TUNA and most
    mirrors serve only that), read by fetch/simplepage.py; none when the page cannot be had."""
    page = f"{simple.rstrip('/')}/{project.lower().replace('_', '-')}/"
    try:
        with client.stream("GET", page, follow_redirects=True) as r:
            kind = r.headers.get("content-type", "").split(";")[0].strip()
            if r.status_code != 200 or kind not in (SIMPLE_JSON, *SIMPLE_HTML):
                return []
            body = paced.body(r, PAGE_LIMIT, "page")
            base = str(r.url)
        return [f for f in parse_page(body, kind, base) if f.sha256]
    except (httpx.HTTPError, paced.Unfit, ValueError):
        return []
