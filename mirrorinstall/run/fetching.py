"""`minstall fetch`: resolve a pip command with pip itself, then download every file it would
install in parallel ranges across the healthy mirrors, verified, into the store (and --dest).
[edge: orchestration of process, network, disk]

Flow: gather the facts and rewrite the command as `minstall rewrite` does (the best PyPI
mirror) -> pip's `--dry-run --report` names each file with its sha256 -> the next-ranked PyPI
mirrors' pages add their copies of the same files (same name and sha256) -> the fetcher
downloads -> files are linked into --dest under their own names.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urljoin

from mirrorinstall.core import capped, fileops
from mirrorinstall.core.argv import parse_command
from mirrorinstall.core.credentials import credentials, embed
from mirrorinstall.core.errors import NoMirrorError, UsageError
from mirrorinstall.core.settings import Session
from mirrorinstall.core.urls import split_url
from mirrorinstall.fetch.jobs import plain_name
from mirrorinstall.fetch.loopback import LoopbackIndex, project_of
from mirrorinstall.fetch.readahead import Ahead
from mirrorinstall.fetch.resolve import Resolution
from mirrorinstall.fetch.simplepage import PageFile
from mirrorinstall.fetch.store import Store
from mirrorinstall.fetch.supply import FileSupply
from mirrorinstall.fetch.transfer import Fetcher, Outcome, Progress

ALTERNATE_MIRRORS = 3  # the best PyPI mirrors asked for copies of each file
CI_EVERY_S = 10.0
JSON_EVERY_S = 1.0


@dataclass
class FetchReport:
    outcomes: list[Outcome]
    elapsed_s: float
    fetched_bytes: int
    by_mirror: dict[str, int]
    dest: Path | None
    files: list[Path] = field(default_factory=list)
    left: list[str] = field(default_factory=list)  # files the installer gets itself, and why

    def as_json(self) -> dict:
        return {
            "files": [
                {
                    "name": o.job.name,
                    "sha256": o.job.sha256,
                    "path": str(o.path) if o.path else None,
                    "reused": o.reused,
                    "error": o.error,
                    "by_mirror": o.by_mirror,
                    "dropped": o.dropped,
                }
                for o in self.outcomes
            ],
            "elapsed_s": round(self.elapsed_s, 2),
            "fetched_bytes": self.fetched_bytes,
            "by_mirror": self.by_mirror,
            "dest": str(self.dest) if self.dest else None,
            "left_to_installer": self.left,
        }


def fetch_command(
    session: Session,
    argv: list[str],
    *,
    dest: Path | None = None,
    mirror_id: str | None = None,
    python: str | None = None,
    connections: int = 6,
    timeout_s: float = 4.0,
    progress: Callable[[Progress], None] | None = None,
) -> FetchReport:
    """Fetch what ``argv`` (``pip install ...``, ``uv pip install ...``, ``conda install ...``)
    would install."""
    from mirrorinstall.context.gather import gather
    from mirrorinstall.core.engines import require_engine
    from mirrorinstall.fetch.offline import uv_as_pip
    from mirrorinstall.fetch.resolve import pip_report
    from mirrorinstall.rewrite import Context
    from mirrorinstall.run.planning import make_plan, write_copies

    cmd = parse_command(argv)
    if dest is not None:
        dest_folder(dest)  # before anything is resolved or downloaded
    supported = (cmd.family == "pip" and cmd.action == "install") or (
        cmd.tool == "conda" and cmd.action in ("install", "create", "update")
    )
    if not supported:
        raise UsageError(
            f"minstall fetch resolves pip, uv pip and conda install commands "
            f"(got {' '.join(argv[:3])})",
            "Give 'pip install ...', 'uv pip install ...', 'conda install ...' or package names.",
        )
    facts = gather(session, cmd, mirror_id=mirror_id, timeout_s=timeout_s)
    ctx = Context(facts)
    plan = make_plan(cmd, ctx)
    write_copies(plan, facts)
    environ = {**session.environ, **plan.env}
    # the resolver gets a mirror's token as the installer would (core/credentials.py)
    planned = embed(list(plan.argv), credentials(session.catalog, session.environ))
    if cmd.family == "conda":
        exe = require_engine("conda", session.environ)
        files = conda_dry_run([exe, *planned[1:]], environ)
        if isinstance(files, DryRunFailed):
            files = files.reason
        if isinstance(files, str):
            raise UsageError(
                f"conda could not plan the install: {files}",
                "Run the same command with 'minstall conda ...' to see conda's whole answer.",
            )
        report = download(
            session, conda_channel_jobs(ctx, files), connections=connections, progress=progress
        )
    else:
        args = planned[len(cmd.head) :]
        if cmd.tool == "uv":
            uv = uv_as_pip(args)
            args, python = uv.pip_args, python or uv.python
        resolver = _resolver(session.environ, python) or [require_engine("pip", session.environ)]
        if python and len(resolver) == 1:
            args = ["--python", python, *args]
        # resolved and fetched as an install is (fetch/supply.py): files join the transfer as
        # pip reads their metadata, a flat listing's file is hashed by an index-layout copy
        with through_loopback(
            session,
            args,
            environ,
            ctx=ctx,
            speculate=True,
            connections=connections,
            progress=progress,
        ) as looped:
            try:
                resolution = pip_report(resolver, looped.argv, looped.env)
            except UsageError as exc:  # pip's words about the loopback, as the mirror's
                raise UsageError(looped.index.unlooped(exc.message), exc.hint) from None
            report = _supplied(session, looped, resolution, connections, progress)
    failed = [o for o in report.outcomes if o.path is None]
    if failed:
        raise NoMirrorError(
            "could not fetch " + "; ".join(f"{o.job.name}: {o.error}" for o in failed),
            "Run the install without fetching (minstall pip install --no-fetch ...): pip then "
            "downloads as it would; 'minstall bench --refresh' measures the mirrors again.",
        )
    if dest is not None:
        report.files = [place(o, dest) for o in report.outcomes]
        report.dest = dest
    return report


def dest_folder(dest: Path) -> None:
    """``dest`` made a folder files can be put in, or a UsageError that says why not."""
    if dest.exists() and not dest.is_dir():
        raise UsageError(
            f"--dest {dest} is a file, not a folder; nothing was downloaded",
            "Name a folder (it is created if missing), or move that file away.",
        )
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot create the folder --dest {dest}: {exc.strerror or exc}; nothing was "
            "downloaded",
            "Name a folder you can write to.",
        ) from None


def _supplied(
    session: Session,
    looped: Looped,
    resolution: Resolution,
    connections: int,
    progress: Callable[[Progress], None] | None,
) -> FetchReport:
    """Every file of ``resolution`` fetched: those pip found through the loopback index by
    its supply (across the ranked mirrors), a private index's from there alone (its project
    names are never asked about on public mirrors). What cannot be fetched ahead is named in
    the report's ``left``: pip downloads it itself."""
    from mirrorinstall.fetch.jobs import Job, Source
    from mirrorinstall.fetch.supply import UNHASHED

    index, supply = looped.index, looped.supply
    assert supply is not None
    mine = [f for f in [*resolution.files, *resolution.unhashed] if index.original(f.url)]
    private = [f for f in resolution.files if not index.original(f.url)]
    outcomes = index.fetch([f.url for f in mine])
    # the transfer's own time: files joined it while pip resolved
    elapsed = max(0.0, supply.finished - supply.started) if supply.started else 0.0
    by_mirror = dict(supply.bytes_by_mirror)
    if private:
        jobs = [Job(f.filename, f.sha256, None, [Source("origin", f.url)]) for f in private]
        other = download(session, jobs, connections=connections, progress=progress)
        outcomes, elapsed = outcomes + other.outcomes, elapsed + other.elapsed_s
        for mirror, n in other.by_mirror.items():
            by_mirror[mirror] = by_mirror.get(mirror, 0) + n
    keep_to_limit(session, outcomes)
    unhashed = [o for o in outcomes if o.error == UNHASHED]
    left = [f"{o.job.name}: no mirror's page gives its sha256" for o in unhashed]
    # an unhashed file the loopback did not serve (a private index's) is said as pip said it
    looped = {f.filename for f in mine}
    left += [
        u
        for u in resolution.unfetchable
        if "no sha256" not in u or not any(name in u for name in looped)
    ]
    left += [f"{name}: given as a URL or path" for name in resolution.direct]
    return FetchReport(
        [o for o in outcomes if o.error != UNHASHED],
        elapsed,
        sum(by_mirror.values()),
        by_mirror,
        None,
        left=left,
    )


# where pip and uv also read indexes from (uv's UV_INDEX items may be ``name=URL``)
ROUTED_VARIABLES = (
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_INDEX",
    "UV_FIND_LINKS",
)
_LINK_VARIABLES = ("PIP_FIND_LINKS", "UV_FIND_LINKS")


@dataclass
class Looped:
    """A command routed through a loopback index, and what served it."""

    argv: list[str]
    env: dict[str, str]
    index: LoopbackIndex
    supply: FileSupply | None


@contextmanager
def through_loopback(
    session: Session,
    args: list[str],
    env: dict[str, str],
    *,
    ctx=None,
    speculate: bool = False,
    connections: int = 6,
    progress: Callable[[Progress], None] | None = None,
    timeout_s: float = 30.0,
    early: Sequence[str] = (),
    ahead: Ahead | None = None,
) -> Iterator[Looped]:
    """``args`` and ``env`` with every public index and find-links page (a catalogued mirror,
    an official host) served by a loopback index for as long as the block runs: metadata
    without whole wheels (fetch/loopback.py). With ``ctx`` (the run's facts) the index also
    supplies the files, fetched across the ranked PyPI mirrors that carry them
    (fetch/supply.py); without, files pass through from their mirror (a resolve alone).
    A private index stays as it is, never asked about anywhere else. ``early``: files of a
    flat PyTorch listing the installer is certain to take (:func:`certain`), fetched from
    the start instead of once the installer has started and read their metadata.
    ``ahead``: read pages and metadata before pip asks (:func:`ahead_of`)."""
    from mirrorinstall.fetch.offline import with_indexes
    from mirrorinstall.fetch.supply import FileSupply
    from mirrorinstall.fetch.transfer import OriginAuth

    catalog = session.catalog
    known = credentials(catalog, session.environ)
    auth = OriginAuth(known)
    store = Store(session.cache_dir / "store")
    supply = None
    copies: list[tuple[str, str]] = []
    torch: list[tuple[str, str, str]] = []  # (mirror, layout, base) of the PyTorch copies
    relink = None
    if ctx is not None:
        from mirrorinstall.rewrite.common import host_copy, ranked

        if any(m.hosts for m in catalog.enabled()):  # else every link on every page asks

            def relink(url: str) -> str:
                found = host_copy(ctx, url)
                return found[1] if found else url

        pypi = [m for m in ranked(ctx, "pypi") if m.pypi and not m.upstream][:ALTERNATE_MIRRORS]
        copies = [(m.id, m.pypi.simple) for m in pypi if m.pypi]
        torch = [
            (m.id, m.pytorch.layout, m.pytorch.base.rstrip("/"))
            for m in ranked(ctx, "pytorch")
            if m.pytorch and not m.upstream
        ]

        def make_fetcher(on_done: Callable[[Outcome], None]) -> Fetcher:
            return Fetcher(
                store,
                connections=connections,
                on_progress=progress,
                credentials=known,
                on_done=on_done,
            )

        supply = FileSupply(store, make_fetcher, speculate=speculate, auth=auth)
        for url in early:
            mirror = _owner([url], catalog) or "origin"
            name = unquote(url.rsplit("/", 1)[-1])
            supply.head_start(
                PageFile(name, url, None), mirror, project_of(name), _siblings(url, mirror, torch)
            )
    try:
        with LoopbackIndex(
            store, auth=auth, timeout_s=timeout_s, supply=supply, ahead=ahead, relink=relink
        ) as index:

            def route(value: str, links: bool) -> str:
                name, eq, url = value.partition("=")
                if not eq or "://" in name:
                    name, eq, url = "", "", value
                parts = split_url(url)
                if parts is None or parts.scheme not in ("http", "https"):
                    return value
                if not _public(url, catalog):
                    return value
                mirror = _owner([url], catalog) or "origin"
                if links:
                    return name + eq + index.links(url, mirror, _siblings(url, mirror, torch))
                same = _same_index(url, copies)
                others = [c for c in copies if c[0] != same] if same else []
                return name + eq + index.index(url, mirror, others)

            routed = dict(env)
            for variable in ROUTED_VARIABLES:
                if env.get(variable):
                    links = variable in _LINK_VARIABLES
                    routed[variable] = " ".join(route(u, links) for u in env[variable].split())
            yield Looped(with_indexes(args, route), routed, index, supply)
    finally:
        if supply is not None:
            supply.close()


def ahead_of(argv: Sequence[str], ctx) -> Ahead | None:
    """What the loopback index reads ahead for a pip command ``argv`` (its requirements by
    name, the target's Python and platform); None for uv (it resolves in parallel itself) or
    when the target's Python is not known."""
    from mirrorinstall.fetch.readahead import named
    from mirrorinstall.rewrite.pip import requirement_tokens

    facts = ctx.facts
    if facts.python is None:
        return None
    try:
        cmd = parse_command(list(argv))
    except UsageError:
        return None
    if cmd.tool != "pip":
        return None
    return Ahead(tuple(named(requirement_tokens(cmd.args))), facts.python, facts.platform)


def certain(argv: Sequence[str], ctx) -> list[str]:
    """URLs of the wheels the installer is certain to take from the flat PyTorch listings
    ``argv`` names (exact pins, one fitting file each: rewrite/torchpin.py certain_files),
    read from the listings the rewrite already read."""
    from mirrorinstall.rewrite.common import ranked
    from mirrorinstall.rewrite.torchpin import certain_files

    facts = ctx.facts
    if facts.wheels is None or facts.python is None:
        return []
    links = [argv[k + 1] for k, a in enumerate(argv[:-1]) if a in ("--find-links", "-f")]
    links += [a.split("=", 1)[1] for a in argv if a.startswith("--find-links=")]
    out = []
    for m in ranked(ctx, "pytorch"):
        if m.pytorch is None or m.pytorch.layout != "find-links" or m.upstream:
            continue
        base = m.pytorch.base.rstrip("/") + "/"
        for url in links:
            variant = url[len(base) :].split("/", 1)[0] if url.startswith(base) else ""
            if not variant or m.pytorch.variant_url(variant) != url:
                continue
            listing = facts.wheels(m.id, variant) or ()
            for name in certain_files(argv, listing, facts.python, facts.platform):
                out.append(urljoin(url, quote(name)))
    return out


def _siblings(
    url: str, mirror: str, torch: list[tuple[str, str, str]]
) -> tuple[tuple[str, str, str], ...]:
    """A PyTorch find-links page's directory (``<base>/cu121/``) on the other ranked PyTorch
    mirrors: (mirror, "index" | "flat", the same directory there)."""
    base = next((b for m, _layout, b in torch if m == mirror and url.startswith(b + "/")), None)
    if base is None:
        return ()
    directory = url[len(base) + 1 :].rsplit("/", 1)[0] if "/" in url[len(base) + 1 :] else ""
    if not directory or "/" in directory or directory in (".", ".."):
        return ()  # the every-variant page: its files are in many directories
    return tuple(
        (other, "index" if layout == "index" else "flat", f"{b}/{directory}/")
        for other, layout, b in torch
        if other != mirror
    )


def _same_index(url: str, copies: list[tuple[str, str]]) -> str | None:
    """The mirror among ``copies`` whose simple index ``url`` is (credentials aside)."""
    parts = split_url(url)
    if parts is None:
        return None
    where = (parts.scheme, parts.hostname, parts.port, parts.path.rstrip("/"))
    for mirror, simple in copies:
        other = split_url(simple)
        if other and (other.scheme, other.hostname, other.port, other.path.rstrip("/")) == where:
            return mirror
    return None


_PUBLIC_HOSTS = ("files.pythonhosted.org", "pypi.org", "download.pytorch.org")


def _public(url: str, catalog) -> bool:
    """Is ``url`` on a catalogued mirror or an official public host?"""
    parts = split_url(url)
    if parts is None:
        return False
    return parts.hostname in _PUBLIC_HOSTS or _owner([url], catalog) is not None


def conda_channel_jobs(ctx, files: list) -> list:
    """A job per conda package: its URL, then the same path on the next-ranked mirrors that
    carry its channel."""
    from mirrorinstall.fetch.conda import conda_jobs
    from mirrorinstall.rewrite.common import ranked

    channels = []
    for m in ranked(ctx, "conda"):
        urls = {name: entry.url for name, entry in m.conda.items()}
        channels.append((m.id, urls))
    # another copy comes from a mirror, never an official host (those are only the source
    # of a package the plan itself takes from them)
    upstream = {m.id for m in ctx.facts.catalog.enabled() if m.upstream}
    return conda_jobs(files, channels, alternates_from=lambda mirror: mirror not in upstream)


def download(
    session: Session,
    jobs: list,
    *,
    connections: int = 6,
    progress: Callable[[Progress], None] | None = None,
) -> FetchReport:
    """Fetch every job into the store, then trim the store to its size limit (this run's
    files stay)."""
    started = time.monotonic()
    store = Store(session.cache_dir / "store")
    fetcher = Fetcher(
        store,
        connections=connections,
        on_progress=progress,
        credentials=credentials(session.catalog, session.environ),
    )
    outcomes = fetcher.run(jobs)
    keep_to_limit(session, outcomes)
    return FetchReport(
        outcomes,
        time.monotonic() - started,
        sum(fetcher.bytes_by_mirror.values()),
        fetcher.bytes_by_mirror,
        None,
    )


def keep_to_limit(session: Session, outcomes: list[Outcome]) -> None:
    """The store trimmed to MINSTALL_STORE_LIMIT_MB, oldest first; this run's files stay."""
    from mirrorinstall.core.settings import store_limit_mb

    limit = store_limit_mb(session.environ)
    if limit:
        Store(session.cache_dir / "store").trim(
            limit * 1024 * 1024, {o.job.sha256 for o in outcomes if o.job.sha256}
        )


def into_package_cache(outcomes: list[Outcome], urls: dict[str, str], pkgs_dir: Path) -> None:
    """Put verified packages into conda's package cache as conda itself leaves a download:
    the file under its name, its URL in ``urls.txt``, so conda takes it as already fetched
    (conda checks its size and md5 against the plan; both follow from the sha256)."""
    pkgs_dir.mkdir(parents=True, exist_ok=True)
    listed = pkgs_dir / "urls.txt"
    known = set(listed.read_text(errors="replace").split()) if listed.exists() else set()
    for outcome in outcomes:
        assert outcome.path is not None
        target = pkgs_dir / outcome.job.name
        if not target.exists():
            _put(outcome.path, target)
        url = urls[outcome.job.sha256]
        if url not in known:
            with listed.open("a", encoding="utf-8") as f:
                f.write(url + "\n")
            known.add(url)


CONDA_PLAN_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True)
class DryRunFailed:
    """conda's dry run ended in an error: why (for people), its exit code and its output
    (for the installer's classifier: a mirror fault there is the attempt's failure)."""

    reason: str
    exit_code: int
    output: str
    duration_s: float


def conda_dry_run(argv: list[str], environ) -> list | str | DryRunFailed:
    """The packages conda would download for ``argv`` (its executable first), from its own
    ``--dry-run --json``; or why they cannot be known. Ctrl-C stops it (and minstall)."""
    import subprocess

    from mirrorinstall.fetch.conda import parse_dry_run

    argv = [*argv, *(a for a in ("--dry-run", "--json") if a not in argv)]
    started = time.monotonic()
    try:
        proc = capped.run(argv, env=environ, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"its dry run did not finish ({exc})"
    if proc.returncode != 0:
        output = proc.stdout[-CONDA_ERROR_LIMIT:] + b"\n" + proc.stderr[-CONDA_ERROR_LIMIT:]
        return DryRunFailed(
            f"its dry run failed (exit code {proc.returncode}){_conda_error(proc.stdout)}",
            proc.returncode,
            output.decode("utf-8", "replace"),
            time.monotonic() - started,
        )
    try:
        if len(proc.stdout) > CONDA_PLAN_LIMIT:
            raise ValueError("the plan is too big to read")
        return parse_dry_run(proc.stdout.decode("utf-8", "replace"))
    except ValueError as exc:
        return f"its plan could not be read ({exc})"


def _conda_error(stdout: bytes) -> str:
    """conda's own message from its --json error document, printable and bounded."""
    import json

    try:
        data = json.loads(stdout[:CONDA_ERROR_LIMIT].decode("utf-8", "replace"))
        message = str(data.get("message") or data.get("error") or "")
    except (ValueError, AttributeError):
        return ""
    message = "".join(c if c.isprintable() else " " for c in message).strip()
    return f": {message[:500]}" if message else ""


CONDA_ERROR_LIMIT = 1024 * 1024


def conda_pkgs_dir(exe: str, environ) -> Path | None:
    """conda's first writable package cache, as conda reports it."""
    import json
    import subprocess

    try:
        proc = capped.run(
            [exe, "config", "--show", "pkgs_dirs", "--json"],
            capture_output=True,
            text=True,
            env=dict(environ),
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        dirs = json.loads(proc.stdout).get("pkgs_dirs") if proc.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError, AttributeError):
        return None
    for d in dirs or []:
        path = Path(str(d))
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK):
            return path
    return None


RESOLVER_PIP = "24.0"  # from here on --dry-run takes PEP 658 metadata and downloads no wheel


def _resolver(environ, python: str | None) -> list[str] | None:
    """A pip new enough to resolve without downloading wheels (the one minstall runs with),
    resolving for the target interpreter (``--python``, else the active environment's);
    None to use the pip on PATH instead."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.version import Version

    from mirrorinstall.cuda.verify import target_python

    try:
        if Version(version("pip")) < Version(RESOLVER_PIP):
            return None
    except PackageNotFoundError:
        return None
    target = python or target_python(environ)
    pip = [sys.executable, "-m", "pip"]
    return pip if target == sys.executable else [*pip, "--python", target]


def _owner(urls: list[str], catalog) -> str | None:
    """The catalog mirror the resolved files came from (by scheme and host)."""
    hosts = {parts[:2] for u in urls if (parts := split_url(u)) is not None}
    for mirror in catalog.enabled():
        if any((split_url(base) or ("", ""))[:2] in hosts for base in mirror.urls()):
            return mirror.id
    return None


def place(outcome: Outcome, dest: Path) -> Path:
    """The verified file under its own name in ``dest``."""
    assert outcome.path is not None
    target = dest / outcome.job.name
    try:
        _put(outcome.path, target)
    except OSError as exc:
        raise UsageError(
            f"cannot put {outcome.job.name} into --dest {dest}: {exc.strerror or exc}",
            f"The verified file stays in the store ({outcome.path}); free that name in the "
            "folder or name another folder, then run the command again (nothing is "
            "downloaded twice).",
        ) from None
    return target


def _put(source: Path, target: Path) -> None:
    """``source`` at ``target``, a hard link where the file system allows (else a copy),
    whole or absent: staged beside it and renamed over it. The name was checked to be a
    plain one when the index or plan was read (fetch.jobs.plain_name)."""
    if not plain_name(target.name):
        raise UsageError(
            f"refusing to write a file named {target.name!r}",
            "The index or conda's plan gave a file name that is not a plain name; "
            "report the mirror.",
        )
    # a short staging name: the target's own may already be at the 255-byte limit
    staging = target.with_name(f".minstall-{os.getpid()}-{threading.get_ident() % 10**6}")
    fileops.remove(staging)
    try:
        try:
            os.link(source, staging)
        except OSError:
            shutil.copy2(source, staging)
        fileops.replace(staging, target)
    finally:
        fileops.remove(staging)


class ProgressLine:
    """Progress for people: a tqdm bar on a terminal, a line every 10 s in CI."""

    def __init__(
        self, emit: Callable[[str], None], terminal: bool | None = None, every_s: float = 0.0
    ) -> None:
        self.emit = emit
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self.every_s = every_s or CI_EVERY_S  # the line's pace when there is no bar
        self.bar = None
        self.last = 0.0

    def __call__(self, p: Progress) -> None:
        if self.terminal:
            from tqdm import tqdm

            if self.bar is None:
                # a terminal that reports no size (a fresh pty) still gets an 80-column bar
                width = shutil.get_terminal_size().columns
                self.bar = tqdm(
                    total=p.total, unit="B", unit_scale=True, file=sys.stderr, ncols=width
                )
            self.bar.n = p.done
            self.bar.set_postfix_str(
                f"{len(p.in_flight)} files, mirrors {', '.join(sorted(p.by_mirror))}",
                refresh=True,
            )
            return
        if p.elapsed_s - self.last >= self.every_s:
            self.last = p.elapsed_s
            rate = p.done / p.elapsed_s if p.elapsed_s else 0.0
            eta = (p.total - p.done) / rate if rate else float("inf")
            self.emit(
                f"minstall: fetched {_mib(p.done)} of {_mib(p.total)} MiB "
                f"({100 * p.done / max(p.total, 1):.0f}%), {_mib(rate)} MiB/s"
                + (f", about {eta:.0f} s left" if eta != float("inf") else "")
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class FetchProgress:
    """A transfer's progress as people read it (ProgressLine) or as events for programs
    (``json``: called with a dict at most once a second, and at the end)."""

    def __init__(
        self,
        text: Callable[[str], None] | None,
        json: Callable[[dict], None] | None = None,
        terminal: bool | None = None,
        every_s: float = 0.0,
    ) -> None:
        self.line = ProgressLine(text, terminal, every_s) if text is not None else None
        self.json = json
        self.last = -1.0

    def __call__(self, p: Progress) -> None:
        if self.line is not None:
            self.line(p)
        if self.json is not None and (p.elapsed_s - self.last >= JSON_EVERY_S or p.done >= p.total):
            self.last = p.elapsed_s
            rate = p.done / p.elapsed_s if p.elapsed_s else 0.0
            self.json(
                {
                    "done_bytes": p.done,
                    "total_bytes": p.total,
                    "rate_bps": round(rate),
                    "elapsed_s": round(p.elapsed_s, 2),
                    "in_flight": list(p.in_flight),
                    "by_mirror": p.by_mirror,
                }
            )

    def close(self) -> None:
        if self.line is not None:
            self.line.close()


def summary(report: FetchReport) -> str:
    reused = sum(1 for o in report.outcomes if o.reused)
    rate = report.fetched_bytes / report.elapsed_s if report.elapsed_s else 0.0
    shares = ", ".join(
        f"{m} {_mib(b)} MiB" for m, b in sorted(report.by_mirror.items(), key=lambda kv: -kv[1])
    )
    dropped = [
        f"{o.job.name}: {m} ({why})" for o in report.outcomes for m, why in o.dropped.items()
    ]
    text = (
        f"{len(report.outcomes)} files ({reused} already in the store); fetched "
        f"{_mib(report.fetched_bytes)} MiB in {report.elapsed_s:.1f} s ({_mib(rate)} MiB/s)"
        + (f" from {shares}" if shares else "")
    )
    if dropped:
        text += "; mirrors left out: " + "; ".join(dropped)
    if report.left:
        text += "; not fetched ahead (the installer downloads them): " + "; ".join(report.left)
    return text


def _mib(n: float) -> str:
    return f"{n / 1024 / 1024:.1f}"
