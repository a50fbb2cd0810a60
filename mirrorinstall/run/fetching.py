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
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from mirrorinstall.core.argv import parse_command
from mirrorinstall.core.errors import NoMirrorError, UsageError
from mirrorinstall.core.settings import Session
from mirrorinstall.fetch.store import Store
from mirrorinstall.fetch.transfer import Fetcher, Outcome, Progress

ALTERNATE_MIRRORS = 3  # the best PyPI mirrors asked for copies of each file
CI_EVERY_S = 10.0


@dataclass
class FetchReport:
    outcomes: list[Outcome]
    elapsed_s: float
    fetched_bytes: int
    by_mirror: dict[str, int]
    dest: Path | None
    files: list[Path] = field(default_factory=list)

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
        }


def fetch_pip(
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
    """Fetch what ``argv`` (``pip install ...``) would install."""
    from mirrorinstall.context.gather import gather
    from mirrorinstall.core.engines import require_engine
    from mirrorinstall.fetch.resolve import alternates, pip_report
    from mirrorinstall.rewrite import Context
    from mirrorinstall.rewrite.common import ranked
    from mirrorinstall.run.planning import make_plan, write_copies

    cmd = parse_command(argv)
    if cmd.tool != "pip" or cmd.action != "install":
        raise UsageError(
            f"minstall fetch resolves pip install commands (got {' '.join(argv[:3])})",
            "Give 'pip install ...' or package names; uv and conda commands come later.",
        )
    facts = gather(session, cmd, mirror_id=mirror_id, timeout_s=timeout_s)
    ctx = Context(facts)
    plan = make_plan(cmd, ctx)
    write_copies(plan)
    args = plan.argv[len(cmd.head) :]
    resolver = _resolver(session.environ, python) or [require_engine("pip", session.environ)]
    if python and len(resolver) == 1:
        args = ["--python", python, *args]
    files = pip_report(resolver, args, {**session.environ, **plan.env})
    pypi = [m for m in ranked(ctx, "pypi") if m.pypi][:ALTERNATE_MIRRORS]
    catalog = ctx.facts.catalog
    jobs = alternates(
        files,
        [(m.id, m.pypi.simple) for m in pypi if m.pypi],
        origin=_owner([f.url for f in files], catalog) or "origin",
    )
    started = time.monotonic()
    fetcher = Fetcher(
        Store(session.cache_dir / "store"), connections=connections, on_progress=progress
    )
    with _interruptible():
        outcomes = fetcher.run(jobs)
    report = FetchReport(
        outcomes,
        time.monotonic() - started,
        sum(fetcher.bytes_by_mirror.values()),
        fetcher.bytes_by_mirror,
        dest,
    )
    failed = [o for o in outcomes if o.path is None]
    if failed:
        raise NoMirrorError(
            "could not fetch " + "; ".join(f"{o.job.name}: {o.error}" for o in failed),
            "Run the install without fetching (minstall pip install ...): pip then downloads "
            "as it would; 'minstall bench --refresh' measures the mirrors again.",
        )
    if dest is not None:
        report.files = [_place(o, dest) for o in outcomes]
    return report


@contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C stops the transfer (KeyboardInterrupt), as it stops an install, even when
    minstall was started with SIGINT ignored (a background job of a script); the journal
    keeps what arrived."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


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
    hosts = {urlsplit(u)[:2] for u in urls}
    for mirror in catalog.enabled():
        if any(urlsplit(base)[:2] in hosts for base in mirror.urls()):
            return mirror.id
    return None


def _place(outcome: Outcome, dest: Path) -> Path:
    """The verified file under its own name in ``dest`` (a hard link where possible)."""
    assert outcome.path is not None
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / outcome.job.name
    if target.exists():
        target.unlink()
    try:
        os.link(outcome.path, target)
    except OSError:
        shutil.copy2(outcome.path, target)
    return target


class ProgressLine:
    """Progress for people: a tqdm bar on a terminal, a line every 10 s in CI."""

    def __init__(self, emit: Callable[[str], None], terminal: bool | None = None) -> None:
        self.emit = emit
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self.bar = None
        self.last = 0.0

    def __call__(self, p: Progress) -> None:
        if self.terminal:
            from tqdm import tqdm

            if self.bar is None:
                self.bar = tqdm(total=p.total, unit="B", unit_scale=True, file=sys.stderr)
            self.bar.n = p.done
            self.bar.set_postfix_str(
                f"{len(p.in_flight)} files, mirrors {', '.join(sorted(p.by_mirror))}",
                refresh=True,
            )
            return
        if p.elapsed_s - self.last >= CI_EVERY_S:
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
        f"minstall: {len(report.outcomes)} files ({reused} already in the store); fetched "
        f"{_mib(report.fetched_bytes)} MiB in {report.elapsed_s:.1f} s ({_mib(rate)} MiB/s)"
        + (f" from {shares}" if shares else "")
    )
    if dropped:
        text += "\nminstall: mirrors left out: " + "; ".join(dropped)
    return text


def _mib(n: float) -> str:
    return f"{n / 1024 / 1024:.1f}"
