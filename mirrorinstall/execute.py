"""Install through the fastest mirror, and fall back to the next one when a mirror fails.

Flow: ranking (cached, or a quick bench) -> candidate mirrors (best first, those carrying what
the command needs; the official host last; at most ``max_attempts``) -> for each: rewrite the
command for that mirror, show the plan, run the child (``runner``), classify a failure
(``classify``): a mirror fault moves on to the next mirror, saying why; a fault of the request
itself (not found, unsatisfiable) or one minstall cannot tell fails at once with the child's
own message and exit code.  [edge: orchestration of process, network, disk]
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mirrorinstall.argv import Command, parse_command
from mirrorinstall.classify import OK, classify
from mirrorinstall.defaults import QUICK_TIMEOUT_S
from mirrorinstall.errors import NoMirrorError, UsageError

if TYPE_CHECKING:
    from mirrorinstall.catalog import Catalog
    from mirrorinstall.cli import AppContext


@dataclass
class Options:
    dry_run: bool = False
    yes: bool = False
    json_events: bool = False
    max_attempts: int = 3
    cuda_mode: str = "keep"
    platform: str | None = None
    mirror_id: str | None = None
    verify: str | None = None  # "torch" / "tensorflow": run minstall verify afterwards
    verify_target: dict[str, str | None] = field(default_factory=dict)  # name/prefix/python
    heartbeat_s: float = 30.0
    timeout_s: float = QUICK_TIMEOUT_S
    emit: Callable[[str], None] = field(
        default=lambda line: print(line, file=sys.stderr, flush=True)
    )


class Events:
    """Progress for people (stderr lines) or for programs (one JSON object per line, stdout)."""

    def __init__(self, opts: Options) -> None:
        self.opts = opts

    def __call__(self, event: str, text: str, **data: Any) -> None:
        if self.opts.json_events:
            print(json.dumps({"event": event, **data}), flush=True)
        else:
            self.opts.emit(f"minstall: {text}")


def candidates(
    catalog: Catalog, order: dict[str, list[str]], cmd: Command, max_attempts: int
) -> list[str]:
    """Mirrors to try, best first, the official host last; at most ``max_attempts``."""
    kind = cmd.kinds[0]
    carrying = [
        m
        for m in order.get(kind, [])
        if (mirror := catalog.get(m)) is not None and mirror.enabled and kind in mirror.kinds
    ]
    mirrors = [m for m in carrying if not catalog.get(m).upstream]  # type: ignore[union-attr]
    upstream = [m.id for m in catalog.enabled() if m.upstream and kind in m.kinds]
    upstream.sort(key=lambda m: carrying.index(m) if m in carrying else len(carrying))
    if max_attempts <= 1:
        return (mirrors or upstream)[:1]
    return mirrors[: max_attempts - 1] + upstream[:1] if upstream else mirrors[:max_attempts]


def _with_flag(argv: list[str], cmd: Command, flag: str, *aliases: str) -> list[str]:
    if any(a in argv for a in (flag, *aliases)):
        return argv
    return [*argv[: len(cmd.head)], flag, *argv[len(cmd.head) :]]


def run_install(app: AppContext, argv: list[str], opts: Options) -> int:
    """Run ``argv`` (a conda/pip/uv command) through the mirrors; return the exit code."""
    from mirrorinstall.planning import plan_rewrite, quote
    from mirrorinstall.ranking import get_ranking
    from mirrorinstall.report import mirror_order
    from mirrorinstall.runner import run_child

    events = Events(opts)
    cmd = parse_command(argv)
    catalog = app.catalog()
    if opts.mirror_id:
        order = {k: [opts.mirror_id] for k in cmd.kinds}
        tries = [opts.mirror_id]
    else:
        report = get_ranking(
            app,
            catalog,
            cmd.kinds,
            None,
            timeout_s=opts.timeout_s,
            refresh=False,
        )
        order = mirror_order(report)
        tries = candidates(catalog, order, cmd, opts.max_attempts)
        if not tries:
            from mirrorinstall.report import failure_summary

            raise NoMirrorError(
                f"no mirror can serve {cmd.kinds[0]} right now:\n"
                + failure_summary(report["results"]),
                "Check your network and proxy; 'minstall bench --refresh' measures again.",
            )
    ci = not sys.stdin.isatty() or app.environ.get("CI", "").lower() in ("1", "true", "yes")
    github = app.environ.get("GITHUB_ACTIONS") == "true"
    log_dir = Path(tempfile.mkdtemp(prefix="minstall-"))
    try:
        for attempt, mirror_id in enumerate(tries, 1):
            plan, _info = plan_rewrite(
                app,
                argv,
                mirror_id=mirror_id,
                cuda_mode=opts.cuda_mode,
                platform=opts.platform,
                strip_channels=False,
                refresh=False,
                timeout_s=opts.timeout_s,
            )
            child = list(plan.argv)
            if cmd.family == "conda" and (opts.yes or ci) and not opts.dry_run:
                child = _with_flag(child, cmd, "-y", "--yes")
            log_file = None
            if cmd.tool == "pip" and not any(a.startswith("--log") for a in child):
                # pip's console cannot tell a blocked mirror from a missing project; its log can
                log_file = log_dir / f"pip-{attempt}.log"
                child = [*child[: len(cmd.head)], "--log", str(log_file), *child[len(cmd.head) :]]
            mirror = catalog.get(mirror_id)
            why = (
                "forced with --mirror"
                if opts.mirror_id
                else (
                    f"rank {order.get(cmd.kinds[0], []).index(mirror_id) + 1} for {cmd.kinds[0]}"
                    if mirror_id in order.get(cmd.kinds[0], [])
                    else "the official host, tried last"
                )
            )
            events(
                "plan" if attempt == 1 else "attempt",
                f"attempt {attempt}/{len(tries)}: mirror {mirror_id} "
                f"({mirror.name if mirror else '?'}; {why})",
                attempt=attempt,
                mirror=mirror_id,
                why=why,
                argv=child,
                env=plan.env,
                notes=plan.notes,
                cuda=plan.cuda,
            )
            if not opts.json_events:
                opts.emit(f"minstall: command: {quote(child, plan.env)}")
                for note in plan.notes:
                    opts.emit(f"minstall:   {note}")
            if opts.dry_run:
                events(
                    "result",
                    "dry run: stopping before running anything",
                    exit_code=0,
                    dry_run=True,
                    mirror=mirror_id,
                )
                return 0
            exe = shutil.which(child[0]) or child[0]
            result = run_child(
                [exe, *child[1:]],
                env={**os.environ, **plan.env},
                heartbeat_s=opts.heartbeat_s,
                github=github,
                title=f"minstall: {quote(child, plan.env)}",
                use_pty=None if not opts.json_events else False,
                # --json keeps stdout for events alone; the child's output goes to stderr
                out=sys.stderr.buffer if opts.json_events else None,
            )
            if result.interrupted:
                events(
                    "result", "interrupted; the child has stopped", exit_code=130, mirror=mirror_id
                )
                return 130
            log = log_file.read_text(errors="replace") if log_file and log_file.exists() else ""
            verdict = classify(cmd.tool, result.exit_code, result.tail, log)
            if verdict.kind == OK:
                events(
                    "result",
                    f"done in {result.duration_s:.1f} s through mirror {mirror_id}",
                    exit_code=0,
                    mirror=mirror_id,
                )
                if opts.verify:
                    return _verify(app, opts, events)
                return 0
            if verdict.retry and attempt < len(tries):
                events(
                    "fallback",
                    f"mirror {mirror_id} failed: {verdict.reason}; trying {tries[attempt]} next",
                    mirror=mirror_id,
                    reason=verdict.reason,
                    next=tries[attempt],
                    exit_code=result.exit_code,
                )
                continue
            events(
                "result",
                f"failed (exit code {result.exit_code}): {verdict.reason}"
                + ("; no mirror left to try" if verdict.retry else ""),
                exit_code=result.exit_code,
                mirror=mirror_id,
                reason=verdict.reason,
                verdict=verdict.kind,
            )
            return result.exit_code
    finally:
        shutil.rmtree(log_dir, ignore_errors=True)
    return 1  # pragma: no cover - the loop always returns


def _verify(app: AppContext, opts: Options, events: Events) -> int:
    from mirrorinstall.host import detect_cuda
    from mirrorinstall.verify import check

    _, found = check(
        app.environ,
        opts.verify or "torch",
        **opts.verify_target,
        driver=detect_cuda(app.environ).host.driver,
    )
    events(
        "verify",
        ("verify: OK: " if found.ok else "verify: FAILED: ")
        + found.message
        + (f" ({found.cause})" if found.cause else ""),
        ok=found.ok,
        message=found.message,
        cause=found.cause,
    )
    return 0 if found.ok else 1


def engine_command(
    app: AppContext,
    packages: list[str],
    *,
    engine: str | None,
    env_name: str | None,
    prefix: str | None,
    python: str | None,
    channels: list[str],
) -> list[str]:
    """The install command for ``minstall [install] PKG...``: conda in a conda environment
    (or with -n/-p), mamba/micromamba when chosen, else pip of the target Python, or uv."""
    environ = app.environ
    in_conda = bool(env_name or prefix or environ.get("CONDA_PREFIX")) and not python
    chosen = engine or ("conda" if in_conda else "pip")
    if chosen in ("conda", "mamba", "micromamba"):
        exe = {
            "conda": environ.get("CONDA_EXE"),
            "mamba": environ.get("MAMBA_EXE"),
            "micromamba": environ.get("MAMBA_EXE"),
        }.get(chosen) or chosen
        target = ["-n", env_name] if env_name else ["-p", prefix] if prefix else []
        chans = [t for c in channels for t in ("-c", c)]
        return [exe, "install", *target, *packages, *chans]
    if channels:
        raise UsageError("-c/--channel is a conda option", "Drop it, or use --engine conda.")
    from mirrorinstall.verify import target_python

    target_py = target_python(environ, python=python)
    if chosen == "uv":
        return ["uv", "pip", "install", "--python", target_py, *packages]
    return [target_py, "-m", "pip", "install", *packages]
