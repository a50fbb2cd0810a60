"""Install through the fastest mirrors, and fall back when a mirror fails.
[edge: orchestration of process, network, disk]

Flow: gather the facts once (``context.gather``: ranking, driver, files, conda's channels)
-> plan (the same rewrite ``minstall rewrite`` prints: the best mirror *per kind*) -> run the
installer (``runner``) -> read a failure (``classify``). A mirror's fault drops that mirror
for the kind that failed (``fallback``) and the rewrite runs again over the same facts, up to
``--max-attempts`` (the last attempt goes to the official host); a fault of the request
itself (not found anywhere, unsatisfiable) or one minstall cannot read fails at once with the
installer's own message and exit code.

Output: the installer's stdout goes to stdout and its stderr to stderr. With minstall's
``--json`` stdout carries minstall's events alone (the installer's output goes to stderr);
with conda's own ``--json`` stdout carries conda's document of the final attempt alone.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mirrorinstall.context.facts import Ranking
from mirrorinstall.core.argv import Command, parse_command
from mirrorinstall.core.credentials import credentials, embed
from mirrorinstall.core.defaults import QUICK_TIMEOUT_S
from mirrorinstall.core.settings import Session
from mirrorinstall.rewrite import Context, Plan
from mirrorinstall.run.classify import (
    DECLINED,
    MISSING,
    OK,
    Verdict,
    classify,
    wrong_hash_given,
)
from mirrorinstall.run.fallback import (
    Route,
    blame,
    describe_route,
    next_ranking,
    routes,
    upstream_blamed,
)
from mirrorinstall.run.timeouts import child_timeouts

CHILD_JSON_LIMIT = 64 * 1024 * 1024  # conda's --json document is held until we know it is final


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
    fetch: bool = True  # conda/pip/uv: minstall downloads the files, the installer installs
    connections: int = 6
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


class _Bounded(io.BytesIO):
    """Holds a child's stdout until the attempt is known to be the last one (bounded)."""

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.tell() + len(data) > CHILD_JSON_LIMIT:
            return len(data)  # beyond the limit: dropped (the tail still has the end)
        return super().write(data)


def _with_flag(argv: list[str], cmd: Command, flag: str, *aliases: str) -> list[str]:
    if any(a in argv for a in (flag, *aliases)):
        return argv
    return [*argv[: len(cmd.head)], flag, *argv[len(cmd.head) :]]


def _route_summary(plan_routes: list[Route], ranking: Ranking, ctx: Context) -> str:
    catalog = ctx.facts.catalog
    return "; ".join(describe_route(r, ranking, catalog) for r in plan_routes) or (
        "nothing to route (no index or channel)"
    )


def _mirror_ids(plan_routes: list[Route]) -> list[str]:
    return list(dict.fromkeys(r.mirror for r in plan_routes if r.mirror))


def run_install(session: Session, argv: list[str], opts: Options) -> int:
    """Run ``argv`` (a conda/pip/uv command) through the mirrors; return the exit code."""
    from mirrorinstall.context.gather import gather
    from mirrorinstall.core.engines import require_engine
    from mirrorinstall.run.planning import make_plan, quote, user_shell

    started = time.monotonic()  # "done in" is the whole command's time: bench, fetch, install
    events = Events(opts)
    cmd = parse_command(argv)
    environ = session.environ
    # a missing installer is known before anything is measured
    exe = None if opts.dry_run else require_engine(cmd.head[0], environ)  # mim: python
    facts = gather(
        session,
        cmd,
        cuda_mode=opts.cuda_mode,
        mirror_id=opts.mirror_id,
        platform=opts.platform,
        timeout_s=opts.timeout_s,
    )
    ranking = facts.ranking
    if cmd.kinds and not ranking.forced and not ranking.measured(cmd.kinds[0]):
        from mirrorinstall.core.errors import NoMirrorError

        failed = ranking.failed.get(cmd.kinds[0], {})
        raise NoMirrorError(
            f"no mirror can serve {cmd.kinds[0]} right now: every probe failed:\n"
            + "\n".join(f"  {m} {cmd.kinds[0]}: {why}" for m, why in failed.items()),
            "Check your network and proxy; 'minstall bench --refresh' measures again, and "
            "--mirror ID uses one mirror without measuring.",
        )
    unmeasured = _unmeasured(cmd.kinds, ranking)
    if unmeasured:
        events("bench", unmeasured, unmeasured=True)
    ctx = Context(facts, opts.cuda_mode)
    log_dir = Path(tempfile.mkdtemp(prefix="minstall-"))
    try:
        full = make_plan(cmd, ctx)
        total = len(full.before) + 1
        # every installer a step needs is found before the first step runs
        exes: dict[str | None, str | None] = {None: exe}  # None: the user's own command
        for step in full.before:
            if not opts.dry_run and step.argv[0] not in exes:
                exes[step.argv[0]] = require_engine(step.argv[0], environ)
        run = _Run(session, cmd, opts, events, log_dir, exes, total, started)
        done: list[str] = []
        for k in range(total):
            code, ctx, full = run.step(k, ctx, full)
            if code is not None:
                if done:
                    events(
                        "steps",
                        f"stopped at step {k + 1} of {total}; done before it: " + "; ".join(done),
                        steps_done=done,
                        failed_step=k + 1,
                    )
                return code
            done.append(f"step {k + 1}: {quote(full.steps()[k].argv, {}, user_shell(environ))}")
        if opts.dry_run:
            return 0
        if opts.verify:
            return _verify(environ, opts, events)
        return 0
    finally:
        shutil.rmtree(log_dir, ignore_errors=True)


@dataclass
class _Run:
    """One install: runs the plan's steps in order, each with its own fallback."""

    session: Session
    cmd: Command  # the user's command (its plan's last step)
    opts: Options
    events: Events
    log_dir: Path
    exes: dict[str | None, str | None]  # a step's tool -> its executable (None: the last)
    total: int
    started: float  # time.monotonic() when the command began

    def step(self, k: int, ctx: Context, full: Plan) -> tuple[int | None, Context, Plan]:
        """Run step ``k`` of ``full`` until it succeeds or nothing is left to try. Returns
        (None: it succeeded; else the exit code to stop with), the context and the full plan
        it ended with (a fallback re-plans every step; only this one's command is taken)."""
        from mirrorinstall.core import hostos
        from mirrorinstall.run.planning import quote, step_json, user_shell, write_copies
        from mirrorinstall.run.runner import interrupt_status, run_child

        opts, events, environ = self.opts, self.events, self.session.environ
        shell = user_shell(environ)
        last_step = k == self.total - 1
        plan = full.steps()[k]
        cmd = self.cmd if last_step else parse_command(plan.argv)
        in_ci = environ.get("CI", "").lower() in ("1", "true", "yes")
        ci = in_ci or not hostos.stdin_is_interactive()
        github = environ.get("GITHUB_ACTIONS") == "true"
        child_json = (
            last_step and cmd.family == "conda" and "--json" in cmd.args and not opts.json_events
        )
        label = f"step {k + 1}/{self.total}: " if self.total > 1 else ""
        # a mirror's token rides in its URLs in the child's argv (core/credentials.py);
        # everything minstall prints masks it
        known = credentials(ctx.facts.catalog, environ)
        for attempt in range(1, opts.max_attempts + 1):
            write_copies(full, ctx.facts)
            child = embed(list(plan.argv), known)
            if cmd.family == "conda" and (opts.yes or ci) and not opts.dry_run:
                child = _with_flag(child, cmd, "-y", "--yes")
            log_file = None
            if cmd.tool == "pip" and not any(a.startswith("--log") for a in child):
                # pip's console cannot tell a blocked mirror from a missing project; its log can
                log_file = self.log_dir / f"pip-{k + 1}-{attempt}.log"
                child = [*child[: len(cmd.head)], "--log", str(log_file), *child[len(cmd.head) :]]
            ranking = ctx.facts.ranking
            plan_routes = routes(plan.mirrors)
            why = _route_summary(plan_routes, ranking, ctx)
            mirrors = _mirror_ids(plan_routes)
            # short waits on a silent mirror, so the fallback comes soon (run/timeouts.py)
            child_env = {
                **plan.env,
                **child_timeouts(
                    cmd.tool,
                    [(r.kind, r.mirror) for r in plan_routes if r.mirror],
                    ranking,
                    environ,
                    child,
                ),
            }
            first_event = k == 0 and attempt == 1
            events(
                "plan" if first_event else "step" if attempt == 1 else "attempt",
                (f"{label}{plan.step}; " if plan.step else label)
                + f"attempt {attempt}/{opts.max_attempts}: {why}",
                attempt=attempt,
                step=k + 1,
                steps=step_json(full, shell) if first_event else None,
                mirror=mirrors[0] if mirrors else None,
                mirrors={r.what: r.mirror for r in plan_routes},
                why=why,
                argv=child,
                env=child_env,
                notes=plan.notes,
                cuda=plan.cuda,
            )
            if not opts.json_events:
                opts.emit(f"minstall: {label}command: {quote(child, child_env, shell)}")
                for note in plan.notes:
                    opts.emit(f"minstall:   {note}")
            if opts.dry_run:
                if last_step:
                    events(
                        "result",
                        "dry run: stopping before running anything",
                        exit_code=0,
                        dry_run=True,
                        installed=False,
                        mirror=mirrors[0] if mirrors else None,
                    )
                return None, ctx, full
            held = _Bounded() if child_json else None
            result = log = None
            # the installer's own --dry-run downloads nothing, and neither does minstall for it
            # (a dry run that filled the store would also hide conda's FETCH actions)
            fetch = opts.fetch and "--dry-run" not in cmd.args
            if fetch and cmd.tool == "conda" and cmd.action in ("install", "create", "update"):
                result = self.fetch_conda(k, cmd, child, child_env, ctx)
                log = "" if result is not None else None
            run_env = {**_without(environ, plan.unset), **child_env}
            loop = (
                self.loopback(cmd, child, run_env, ctx)
                if fetch and cmd.family == "pip" and cmd.action == "install"
                else contextlib.nullcontext(None)
            )
            with loop as looped:
                if result is None:
                    result = run_child(
                        [
                            self.exes.get(None if last_step else child[0]) or child[0],
                            *(looped.argv if looped else child)[1:],
                        ],
                        env=looped.env
                        if looped
                        else {**_without(environ, plan.unset), **child_env},
                        heartbeat_s=opts.heartbeat_s,
                        github=github,
                        title=f"minstall: {quote(child, child_env, shell)}",
                        use_pty=None if not (opts.json_events or child_json) else False,
                        # --json keeps stdout for events alone; the child's output goes to stderr
                        out=sys.stderr.buffer if opts.json_events else held,
                        shown=looped.index.unlooped_bytes if looped else None,
                    )
            if looped is not None:
                result, log = self.after_loopback(looped, cmd, child, result, log_file)
            used = ", ".join(mirrors) or "no mirror"
            first = mirrors[0] if mirrors else None
            if result.interrupted:
                _release(held)
                code = interrupt_status(result.signal)
                events(
                    "result",
                    f"{label}interrupted; the child has stopped",
                    exit_code=code,
                    installed=False,
                    mirror=first,
                )
                return code, ctx, full
            if log is None:
                log = log_file.read_text(errors="replace") if log_file and log_file.exists() else ""
            verdict = classify(cmd.tool, result.exit_code, result.tail, log)
            if looped is not None and looped.supply is not None:
                served = {o.job.sha256 for o in looped.supply.outcomes() if o.path}
                verdict = wrong_hash_given(result.tail, served) or verdict
            if verdict.kind in (OK, DECLINED):
                _release(held)
                done = verdict.kind == OK
                if done and not last_step:
                    events(
                        "step-done",
                        f"{label}done in {result.duration_s:.1f} s through {used}",
                        step=k + 1,
                        exit_code=0,
                        mirror=first,
                        mirrors=mirrors,
                    )
                    return None, ctx, full
                whole = time.monotonic() - self.started
                events(
                    "result",
                    f"{label}done in {whole:.1f} s ({cmd.tool} {result.duration_s:.1f} s) "
                    f"through {used}"
                    if done
                    else f"nothing was installed: {verdict.reason}",
                    exit_code=result.exit_code,
                    installed=done,
                    mirror=first,
                    mirrors=mirrors,
                    reason=None if done else verdict.reason,
                )
                return (None if done else result.exit_code), ctx, full
            following = _next(
                self.cmd,
                k,
                ctx,
                plan,
                plan_routes,
                verdict,
                result.tail + "\n" + log,
                last=attempt + 1 == opts.max_attempts,
            )
            if following is not None and attempt < opts.max_attempts:
                _release(held, sys.stderr.buffer)  # not the final attempt's: off stdout
                blamed, ctx, full = following
                plan = full.steps()[k]
                by_mirror: dict[str | None, list[str]] = {}
                for r in blamed:
                    by_mirror.setdefault(r.mirror, []).append(r.what)
                names = ", ".join(f"{m} ({', '.join(w)})" for m, w in by_mirror.items())
                events(
                    "fallback",
                    f"{label}mirror {names} failed: {verdict.reason}; next: "
                    + _route_summary(routes(plan.mirrors), ctx.facts.ranking, ctx),
                    mirror=blamed[0].mirror,
                    failed=[{"mirror": r.mirror, "kind": r.kind, "what": r.what} for r in blamed],
                    reason=verdict.reason,
                    next=_mirror_ids(routes(plan.mirrors)),
                    exit_code=result.exit_code,
                    elapsed_s=round(result.duration_s, 1),
                )
                continue
            _release(held)
            code = _fail(events, verdict, result.exit_code, first, attempt, opts, following)
            return code, ctx, full
        return 1, ctx, full  # pragma: no cover - the loop always returns

    def loopback(self, cmd: Command, child: list[str], env: dict[str, str], ctx: Context) -> Any:
        """The installer's command and environment with its public indexes served by a
        loopback index for the run: pip or uv resolves there as it would on the mirror, and
        the files it then asks for come from the multi-mirror fetch (fetch/loopback.py)."""
        from mirrorinstall.core import hostos
        from mirrorinstall.run.fetching import FetchProgress, ahead_of, certain, through_loopback

        opts, events = self.opts, self.events
        # on a POSIX terminal the installer gets a pseudo-terminal and draws its own bar as
        # the bytes arrive; without one (Windows: pipes) it draws nothing until the end, so
        # minstall's line comes every 2 s there, every 10 s in CI
        bare = sys.stderr.isatty() and (hostos.windows_rules() or not sys.stdin.isatty())
        progress = FetchProgress(
            None if opts.json_events else opts.emit,
            (lambda data: events("fetch-progress", "", **data)) if opts.json_events else None,
            terminal=False,
            every_s=2.0 if bare else 0.0,
        )
        timeout = env.get("PIP_TIMEOUT") or env.get("UV_HTTP_TIMEOUT") or ""
        return through_loopback(
            self.session,
            child,
            env,
            ctx=ctx,
            speculate=cmd.tool == "pip",
            connections=opts.connections,
            progress=progress,
            timeout_s=float(timeout) if timeout.replace(".", "", 1).isdigit() else 30.0,
            # an exact pin on a flat listing: its wheel is fetched while the installer starts
            early=certain(child, ctx),
            # pip resolves one project at a time: its next pages, read before it asks
            ahead=ahead_of(child, ctx),
        )

    def after_loopback(
        self, looped: Any, cmd: Command, child: list[str], result: Any, log_file: Path | None
    ) -> tuple[Any, str]:
        """The run's result and log as the installer would have written them against the
        mirror (loopback URLs written back as the mirror's), the fetch said as an event, and
        the user's own ``--report`` file written back too."""
        from mirrorinstall.run.fetching import FetchReport, keep_to_limit, summary

        index, supply = looped.index, looped.supply
        log = log_file.read_text(errors="replace") if log_file and log_file.exists() else ""
        reports = [child[k + 1] for k, a in enumerate(child[:-1]) if a == "--report"]
        reports += [a.split("=", 1)[1] for a in child if a.startswith("--report=")]
        for report in reports:
            if report != "-":
                _unloop_file(Path(report), index)
        outcomes = supply.outcomes() if supply is not None else []
        keep_to_limit(self.session, outcomes)
        if outcomes:
            by_mirror = supply.bytes_by_mirror
            report = FetchReport(
                outcomes,
                max(0.0, supply.finished - supply.started),
                sum(by_mirror.values()),
                by_mirror,
                None,
            )
            events = self.events
            events("fetch", "fetched " + summary(report), fetched=True, **report.as_json())
        return replace(result, tail=index.unlooped(result.tail)), index.unlooped(log)

    def _download(self, jobs: list) -> Any:
        """The jobs fetched into the store (a FetchReport, said as a ``fetch`` event), or why
        not every file could be."""
        from mirrorinstall.run.fetching import FetchProgress, download, summary

        opts, events = self.opts, self.events
        progress = FetchProgress(
            None if opts.json_events else opts.emit,
            (lambda data: events("fetch-progress", "", **data)) if opts.json_events else None,
        )
        try:
            fetched = download(self.session, jobs, connections=opts.connections, progress=progress)
        finally:
            progress.close()
        failed = [o for o in fetched.outcomes if o.path is None]
        if failed:
            return "no mirror gave " + "; ".join(f"{o.job.name} ({o.error})" for o in failed)
        events("fetch", "fetched " + summary(fetched), fetched=True, **fetched.as_json())
        return fetched

    def fetch_conda(
        self, k: int, cmd: Command, child: list[str], child_env: dict[str, str], ctx: Context
    ) -> Any:
        """conda's own dry run of ``child`` names the packages it would download; minstall
        fetches them and puts them into conda's package cache, where conda takes them as
        already downloaded. A dry run that fails on a mirror's fault is the attempt's result
        (returned, read as conda's own failure would be, so the fallback comes at once);
        anything else that goes wrong leaves conda to download, and says why (None)."""
        from mirrorinstall.run.classify import classify
        from mirrorinstall.run.fetching import (
            DryRunFailed,
            conda_channel_jobs,
            conda_dry_run,
            conda_pkgs_dir,
            into_package_cache,
        )
        from mirrorinstall.run.runner import RunResult

        events, environ = self.events, self.session.environ
        exe = self.exes.get(None if k == self.total - 1 else child[0]) or child[0]

        def as_typed(why: str) -> None:
            events(
                "fetch", f"conda downloads the packages itself: {why}", fetched=False, reason=why
            )

        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            # conda's package cache is asked for while conda solves: two conda starts at once
            asked = pool.submit(conda_pkgs_dir, exe, {**environ, **child_env})
            files = conda_dry_run([exe, *child[1:]], {**environ, **child_env})
            pkgs = asked.result()
        if isinstance(files, DryRunFailed):
            verdict = classify("conda", files.exit_code, files.output, "")
            if verdict.retry and verdict.kind != MISSING:
                # a mirror's network fault: the attempt's failure, its output shown as
                # conda's own (on stderr), and the fallback comes at once
                sys.stderr.write(files.output)
                sys.stderr.flush()
                return RunResult(files.exit_code, files.output, files.duration_s)
            # anything else (a package missing, this machine's virtual packages, a prefix
            # that exists) is for conda itself to say, in its own words
            return as_typed(files.reason)
        if isinstance(files, str):
            return as_typed(files)
        if not files:
            return None
        if pkgs is None:
            return as_typed("no writable package cache")
        fetched = self._download(conda_channel_jobs(ctx, files))
        if isinstance(fetched, str):
            return as_typed(fetched)
        try:
            into_package_cache(fetched.outcomes, {f.sha256: f.url for f in files}, pkgs)
        except OSError as exc:
            return as_typed(f"cannot write to {pkgs}: {exc.strerror or exc}")
        return None


def _next(
    cmd: Command,
    k: int,
    ctx: Context,
    plan: Plan,
    plan_routes: list[Route],
    verdict: Verdict,
    output: str,
    *,
    last: bool,
) -> tuple[list[Route], Context, Plan] | None:
    """The culprits of step ``k``'s failure, the next context and the whole plan made over
    it; None when nothing else can be tried."""
    from mirrorinstall.run.planning import make_plan

    ranking = ctx.facts.ranking
    if not verdict.retry or ranking.forced:
        return None
    step_cmd = parse_command(plan.argv) if plan.step else cmd
    if not step_cmd.kinds:
        return None  # no mirror was used: none to blame or to fall back from
    blamed = blame(plan_routes, verdict.evidence, output, step_cmd.kinds[0])
    if not blamed or upstream_blamed(ctx.facts.catalog, blamed):
        return None
    following = ctx.with_ranking(
        next_ranking(ranking, blamed, last=last, catalog=ctx.facts.catalog)
    )
    new_full = make_plan(cmd, following)
    new_step = new_full.steps()[k]
    if (new_step.argv, new_step.env) == (plan.argv, plan.env):
        return None
    return blamed, following, new_full


def _fail(
    events: Events,
    verdict: Verdict,
    exit_code: int,
    mirror: str | None,
    attempt: int,
    opts: Options,
    following: object,
) -> int:
    reason = verdict.reason
    if verdict.kind == MISSING:
        reason = "a requested package is not in the channels (on any mirror tried)"
    elif verdict.retry:
        reason += (
            f"; no attempts left (--max-attempts {opts.max_attempts})"
            if attempt >= opts.max_attempts and following is not None
            else "; no mirror left to try"
        )
    events(
        "result",
        f"failed (exit code {exit_code}): {reason}",
        exit_code=exit_code,
        installed=False,
        mirror=mirror,
        reason=reason,
        verdict=verdict.kind,
    )
    return exit_code


def _release(held: io.BytesIO | None, to: Any = None) -> None:
    """A held stdout (conda's --json document) goes to stdout when its attempt is the final
    one, and to ``to`` (stderr) when a fallback follows."""
    if held is not None:
        sink = to or sys.stdout.buffer
        sink.write(held.getvalue())
        sink.flush()


def _verify(environ: Any, opts: Options, events: Events) -> int:
    from mirrorinstall.cuda.host import detect_cuda
    from mirrorinstall.cuda.verify import check

    _, found = check(
        environ,
        opts.verify or "torch",
        **opts.verify_target,
        driver=detect_cuda(environ).host.driver,
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


def _unloop_file(path: Path, index: Any) -> None:
    """A file the installer wrote (pip's --report) with loopback URLs written back as the
    mirror's: nothing the user keeps names this run's loopback address."""
    try:
        if path.stat().st_size > 64 * 1024 * 1024:
            return
        text = path.read_text(encoding="utf-8")
        back = index.unlooped(text)
        if back != text:
            from mirrorinstall.core.cache import write_atomic

            write_atomic(path, back)
    except (OSError, UnicodeDecodeError):
        return


def _without(environ: Mapping[str, str], names: list[str]) -> dict[str, str]:
    """``environ`` less the variables a plan says its child must not see."""
    return {k: v for k, v in environ.items() if k not in names}


def _unmeasured(kinds: list[str], ranking: Ranking) -> str | None:
    """What the bench could not measure for this command, in one line (None: all answered):
    on a machine that cannot reach the mirrors the plan still stands, on what did answer."""
    parts = []
    for kind in kinds:
        failed = ranking.failed.get(kind, {})
        if not failed:
            continue
        answered = len(ranking.of(kind))
        names = ", ".join(list(failed)[:4]) + (", ..." if len(failed) > 4 else "")
        parts.append(f"{kind}: {len(failed)} of {len(failed) + answered} not measured ({names})")
    if not parts:
        return None
    return (
        "could not measure every mirror (no answer in time): " + "; ".join(parts) + ". The plan "
        "uses those that answered; 'minstall bench' shows why each failed, --refresh measures "
        "again."
    )
