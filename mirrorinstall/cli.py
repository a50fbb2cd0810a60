"""The ``minstall`` command line: parses options, prints results, turns errors into exit codes.
[edge: the terminal]

Commands wire the edges (settings, probes, the child runner) to the pure core; only this
module exits. Progress while a child runs is streamed by ``execute``/``runner`` to stderr.
Heavy modules (httpx, tqdm) are imported inside the commands that need them,
so ``minstall --help`` stays fast; a test holds that line.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, NoReturn

import click

from mirrorinstall import __version__
from mirrorinstall.config.locations import SCOPES
from mirrorinstall.core import fileops, hostos
from mirrorinstall.core.catalog import KINDS
from mirrorinstall.core.defaults import (
    DEFAULT_BUDGET_BYTES,
    DEFAULT_MAX_LAG_S,
    DEFAULT_TIMEOUT_S,
    DEFAULT_TTL_S,
    QUICK_TIMEOUT_S,
)
from mirrorinstall.core.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CacheError,
    MinstallError,
    NoMirrorError,
    UsageError,
)
from mirrorinstall.core.guarded import add_secret, echo, guard_streams
from mirrorinstall.core.settings import (
    Session,
    cache_dir,
    environ_snapshot,
    load_catalog,
    user_catalog_path,
)
from mirrorinstall.core.shellquote import SHELLS
from mirrorinstall.core.suggest import mistyped
from mirrorinstall.core.untrusted import finite, printable


@dataclass
class AppContext:
    """What every command gets: the global options and the environment, read once."""

    catalog_flag: str | None = None
    cache_dir_flag: str | None = None
    debug: bool = False
    environ: Mapping[str, str] = field(default_factory=dict)

    _session: Session | None = field(default=None, repr=False)

    def session(self) -> Session:
        """The catalog (read and checked once), the cache dir and the environment."""
        if self._session is None:
            self._session = Session(
                environ=self.environ,
                catalog=load_catalog(self.catalog_flag, self.environ),
                cache_dir=cache_dir(self.cache_dir_flag, self.environ).value,
            )
            for mirror in self._session.catalog.mirrors:
                if mirror.token_env:  # a mirror's token is never printed
                    add_secret(self.environ.get(mirror.token_env))
        return self._session


class ByteSize(click.ParamType):
    """Sizes such as 2MiB, 512k, 1.5M or 1048576 (bytes)."""

    name = "SIZE"
    _UNITS: ClassVar[dict[str, int]] = {
        "": 1,
        "b": 1,
        "k": 1024,
        "kb": 1000,
        "kib": 1024,
        "m": 1024**2,
        "mb": 1000**2,
        "mib": 1024**2,
        "g": 1024**3,
        "gb": 1000**3,
        "gib": 1024**3,
    }

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        import re

        if isinstance(value, int):
            return value
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(value))
        if not m or m.group(2).lower() not in self._UNITS:
            self.fail(f"{value!r} is not a size such as 2MiB, 512k or 1048576", param, ctx)
        size = int(float(m.group(1)) * self._UNITS[m.group(2).lower()])
        if size < 1024:
            self.fail(f"{value!r} is below 1 KiB, too little to measure anything", param, ctx)
        return size


class _DefaultInstall(click.Group):
    """``minstall PKG...`` means ``minstall install PKG...``."""

    def resolve_command(self, ctx: click.Context, args: list[str]):  # type: ignore[override]
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            meant = mistyped(args[0], self.commands)
            if meant:
                raise click.UsageError(
                    f"{args[0]!r} is not a minstall command; did you mean {meant!r}? (To "
                    f"install a package named {args[0]!r}: minstall install {args[0]})",
                    ctx,
                )
            return "install", self.commands["install"], args
        return super().resolve_command(ctx, args)


@click.group(cls=_DefaultInstall, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="minstall")
@click.option(
    "--catalog",
    "catalog_flag",
    metavar="FILE",
    envvar="MINSTALL_CATALOG",
    help="Use only this mirror catalog (no packaged or user catalog). Env: MINSTALL_CATALOG.",
)
@click.option(
    "--cache-dir",
    "cache_dir_flag",
    metavar="DIR",
    envvar="MINSTALL_CACHE_DIR",
    help="Where rankings and downloads are cached. Env: MINSTALL_CACHE_DIR.",
)
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(
    ctx: click.Context, catalog_flag: str | None, cache_dir_flag: str | None, debug: bool
) -> None:
    """minstall: install heavy Python packages (PyTorch, TensorFlow, CUDA) through the
    fastest healthy mirror, with the CUDA build your driver can run.
    """
    ctx.obj = AppContext(catalog_flag, cache_dir_flag, debug, environ_snapshot())


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the catalog as JSON (stable schema).")
@click.option(
    "--path",
    "show_path",
    is_flag=True,
    help="Print the path of the user catalog (created by you; merges by mirror id).",
)
@click.pass_obj
def mirrors(app: AppContext, as_json: bool, show_path: bool) -> None:
    """List every mirror minstall knows: what it carries, its region and sources."""
    if show_path:
        path = user_catalog_path(app.environ)
        echo(str(path))
        if not path.is_file():
            echo(
                "(does not exist yet; create it with 'schema = 1' and [mirror.<id>] "
                "tables to add or override mirrors)",
                err=True,
            )
        return
    from mirrorinstall.core.listing import catalog_to_json, format_mirror_table

    catalog = app.session().catalog
    if as_json:
        echo(json.dumps(catalog_to_json(catalog), indent=2))
        return
    echo(format_mirror_table(catalog.mirrors))
    enabled = len(catalog.enabled())
    echo(
        f"\n{len(catalog.mirrors)} mirrors ({enabled} enabled) from {', '.join(catalog.paths)}",
        err=True,
    )


@cli.command()
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(KINDS),
    help="Only this kind (repeatable). Default: all.",
)
@click.option(
    "--mirror",
    "mirror_ids",
    multiple=True,
    metavar="ID",
    help="Only this mirror (repeatable; also a disabled one). Default: enabled mirrors.",
)
@click.option(
    "--timeout-s",
    type=click.FloatRange(1, 300),
    default=DEFAULT_TIMEOUT_S,
    show_default=True,
    help="One deadline for the whole bench, whatever the number of mirrors.",
)
@click.option(
    "--budget",
    "budget_bytes",
    type=ByteSize(),
    default=DEFAULT_BUDGET_BYTES,
    show_default=True,
    help="Most bytes downloaded from each mirror.",
)
@click.option(
    "--max-lag-h",
    type=click.FloatRange(0),
    default=DEFAULT_MAX_LAG_S / 3600,
    show_default=True,
    help="Mirrors lagging the newest copy by more rank below fresh ones.",
)
@click.option(
    "--ttl-h",
    type=click.FloatRange(0),
    default=DEFAULT_TTL_S / 3600,
    show_default=True,
    help="Reuse a ranking of this network younger than this.",
)
@click.option("--refresh", is_flag=True, help="Measure again even if a fresh ranking is cached.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (see README).")
@click.option("--explain", is_flag=True, help="Say how each rank was reached.")
@click.pass_obj
def bench(
    app: AppContext,
    kinds: tuple[str, ...],
    mirror_ids: tuple[str, ...],
    timeout_s: float,
    budget_bytes: int,
    max_lag_h: float,
    ttl_h: float,
    refresh: bool,
    as_json: bool,
    explain: bool,
) -> None:
    """Time every mirror in parallel, check it serves what it claims, and rank them."""

    from mirrorinstall.bench import report
    from mirrorinstall.bench.rank import explain as explain_row

    session = app.session()
    catalog = session.catalog
    unknown = [i for i in mirror_ids if catalog.get(i) is None]
    if unknown:
        meant = [m for i in unknown if (m := mistyped(i, [x.id for x in catalog.mirrors]))]
        raise UsageError(
            f"no mirror with id {', '.join(unknown)} in the catalog"
            + (f" (did you mean {', '.join(meant)}?)" if meant else ""),
            "Run 'minstall mirrors' for the ids.",
        )
    kind_list = list(kinds or KINDS)
    mirror_list = sorted(set(mirror_ids)) or None
    from mirrorinstall.bench.ranking import get_ranking

    result = get_ranking(
        session,
        kind_list,
        mirror_list,
        timeout_s=timeout_s,
        budget_bytes=budget_bytes,
        max_lag_s=max_lag_h * 3600,
        ttl_s=ttl_h * 3600,
        refresh=refresh,
    )
    rows = result["results"]
    if as_json:
        echo(json.dumps(finite(result), indent=2))
    else:
        echo(report.format_table(result))
        if explain:
            echo("")
            for row in sorted(rows, key=lambda r: (r["kind"], r["rank"] or 1e9, r["mirror"])):
                echo(explain_row(row))
        upstream = any(r.get("upstream") for r in rows)
        echo(
            f"\n{len(rows)} probes of {len({r['mirror'] for r in rows})} mirrors in "
            f"{result['elapsed_s']:.1f} s" + (" (* = official host)" if upstream else ""),
            err=True,
        )
    if not any(r["ok"] for r in rows):
        # the table (or the JSON report) on stdout already gives each mirror's failure
        where = "the JSON report" if as_json else "the table"
        raise NoMirrorError(
            f"no mirror answered usefully: all {len(rows)} probes failed ({where} says why)",
            "Check your network connection and proxy settings; 'minstall mirrors' lists the "
            "mirrors, and the failures say what each one did.",
        )


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--json", "as_json", is_flag=True, help="Print argv, env, notes, mirrors and CUDA.")
@click.option("--mirror", "mirror_id", metavar="ID", help="Use this mirror (no ranking).")
@click.option(
    "--cuda",
    "cuda_mode",
    default="keep",
    show_default=True,
    metavar="MODE",
    help="keep (check pins), auto, cpu, X.Y or cuXYZ.",
)
@click.option(
    "--platform",
    "platform_",
    metavar="SUBDIR",
    help="Plan for another machine: linux-64, win-64, osx-arm64, ... (CONDA_SUBDIR).",
)
@click.option(
    "--strip-channels",
    is_flag=True,
    help="Drop -c options and rely on the configured channels instead.",
)
@click.option("--refresh", is_flag=True, help="Measure the mirrors again first.")
@click.option(
    "--timeout-s",
    type=click.FloatRange(1, 300),
    default=QUICK_TIMEOUT_S,
    show_default=True,
    help="Deadline of the quick bench run when no fresh ranking is cached.",
)
@click.option(
    "--shell",
    type=click.Choice(SHELLS),
    help="Write the command for this shell (default: the one minstall runs in; posix is "
    "bash, zsh, fish and Git Bash; cmd is also Anaconda Prompt).",
)
@click.argument("command", nargs=-1, type=click.UNPROCESSED, required=True)
@click.pass_obj
def rewrite(
    app: AppContext,
    as_json: bool,
    mirror_id: str | None,
    cuda_mode: str,
    platform_: str | None,
    strip_channels: bool,
    refresh: bool,
    timeout_s: float,
    shell: str | None,
    command: tuple[str, ...],
) -> None:
    """Print COMMAND rewritten for the fastest mirrors and the CUDA build this driver runs.

    \b
    minstall rewrite -- conda install pytorch torchvision cudatoolkit=10.1 -c pytorch
    minstall rewrite --cuda auto -- pip install torch torchvision
    """
    from mirrorinstall.context.gather import gather
    from mirrorinstall.core.argv import parse_command
    from mirrorinstall.rewrite import Context
    from mirrorinstall.run.planning import (
        make_plan,
        quote_plan,
        step_json,
        user_shell,
        write_copies,
    )

    _no_own_options(
        list(command), ["minstall", "rewrite"], ["--", command[0]], ("--cuda", "--mirror")
    )
    cmd = parse_command(list(command))
    facts = gather(
        app.session(),
        cmd,
        cuda_mode=cuda_mode,
        mirror_id=mirror_id,
        platform=platform_,
        refresh=refresh,
        timeout_s=timeout_s,
    )
    plan = make_plan(cmd, Context(facts, cuda_mode, strip_channels))
    write_copies(plan, facts)
    ranking = facts.ranking
    shell = shell or user_shell(facts.environ)
    info = {
        "command": quote_plan(plan, shell),
        "platform": facts.platform,
        "ranking": {"source": ranking.source, "created_at": ranking.created_at}
        if not ranking.forced
        else {"source": ranking.source},
        "input": list(command),
    }
    if as_json:
        echo(
            json.dumps(
                {
                    **info,
                    "argv": plan.argv,
                    "env": plan.env,
                    "unset": plan.unset,
                    "notes": plan.notes,
                    "mirrors": plan.mirrors,
                    "cuda": plan.cuda,
                    "files": sorted(w for step in plan.steps() for w in step.writes),
                    "steps": step_json(plan, shell),
                },
                indent=2,
            )
        )
        return
    echo(info["command"])
    for k, step in enumerate(plan.before, start=1):
        for note in step.notes:
            echo(f"# step {k}: {note}", err=True)
    for note in plan.notes:
        echo(f"# {note}", err=True)


@cli.command()
# pytorch and tensorflow-gpu: the names people install them by (conda's pytorch, the old
# tensorflow-gpu wheel), for the same check
@click.argument(
    "framework",
    type=click.Choice(
        [
            "torch",
            "pytorch",
            "tensorflow",
            "tensorflow-gpu",
            "jax",
            "paddle",
            "paddlepaddle",
            "onnxruntime",
        ]
    ),
    default="torch",
)
@click.option("-n", "--name", "env_name", metavar="ENV", help="A conda environment by name.")
@click.option("-p", "--prefix", metavar="PREFIX", help="A conda environment or venv by path.")
@click.option("--python", "python_path", metavar="PATH", help="The Python to check with.")
@click.option("--json", "as_json", is_flag=True, help="Print the facts and the verdict as JSON.")
@click.pass_obj
def verify(
    app: AppContext,
    framework: str,
    env_name: str | None,
    prefix: str | None,
    python_path: str | None,
    as_json: bool,
) -> int:
    """Check that FRAMEWORK really uses the GPU in an environment (exit 1 if not)."""
    from mirrorinstall.cuda.host import detect_cuda
    from mirrorinstall.cuda.verify import check

    framework = {
        "pytorch": "torch",
        "tensorflow-gpu": "tensorflow",
        "paddlepaddle": "paddle",
    }.get(framework, framework)
    facts, found = check(
        app.environ,
        framework,
        name=env_name,
        prefix=prefix,
        python=python_path,
        driver=detect_cuda(app.environ).host.driver,
    )
    if as_json:
        echo(
            json.dumps(
                {
                    "ok": found.ok,
                    "message": found.message,
                    "cause": found.cause,
                    "next_step": found.next_step,
                    "facts": facts,
                },
                indent=2,
            )
        )
    else:
        echo(("OK: " if found.ok else "FAILED: ") + found.message)
        if found.cause:
            echo(f"likely cause: {found.cause}")
        if found.next_step:
            echo(f"next: {found.next_step}")
    return 0 if found.ok else 1


@cli.command()
@click.argument("message", required=False)
@click.option("--log", "log_file", metavar="FILE", help="Diagnose the errors in a log file.")
@click.option("--python", "python_path", metavar="PATH", help="The Python environment to check.")
@click.option("--platform", "platform_", metavar="SUBDIR", help="Give fixes for a conda subdir.")
@click.option("--json", "as_json", is_flag=True, help="Print every finding as JSON.")
@click.pass_obj
def doctor(
    app: AppContext,
    message: str | None,
    log_file: str | None,
    python_path: str | None,
    platform_: str | None,
    as_json: bool,
) -> int:
    """Explain an error and give this machine's fix; with no MESSAGE, check the machine.

    \b
    minstall doctor "CUDA driver version is insufficient for CUDA runtime version"
    minstall doctor --log train.log        (or: ... 2>&1 | minstall doctor -)
    minstall doctor                        (driver, GPUs, torch/TensorFlow, channels, indexes)

    Exit code: 0 when the text was recognised (or the machine has no error), 1 otherwise.
    """
    from mirrorinstall.doctor.diagnose import diagnose_machine, diagnose_text
    from mirrorinstall.doctor.machine import gather_machine, load_patterns

    text = _doctor_text(message, log_file)
    machine = gather_machine(
        app.session(), python=python_path, platform=platform_, check_envs=text is None
    )
    findings = (
        diagnose_text(text, machine, load_patterns())
        if text is not None
        else diagnose_machine(machine)
    )
    recognised = bool(findings) if text is not None else True
    errors = text is None and any(f.severity == "error" for f in findings)
    if as_json:
        echo(
            json.dumps(
                {
                    "mode": "text" if text is not None else "machine",
                    "recognised": recognised,
                    "findings": [f.as_json() for f in findings],
                },
                indent=2,
            )
        )
    elif not findings:
        echo("minstall doctor: no known error in the text; nothing to fix found.")
    for finding in [] if as_json else findings:
        echo(f"{finding.severity}: {printable(finding.title)}")
        if finding.evidence:
            echo(f"  seen: {printable(finding.evidence)}")
        echo(f"  why: {printable(finding.cause)}")
        for fix in finding.fixes:
            echo(f"  fix: {printable(fix)}")
        if finding.sources:
            echo(f"  source: {', '.join(finding.sources)}")
    return 0 if recognised and not errors else 1


_DOCTOR_LIMIT = 8 * 1024 * 1024  # the tail of a bigger log is where the error is
_DOCTOR_STREAM_CAP = 64 * 1024 * 1024  # read from a pipe or device at most, then stop


def _doctor_text(message: str | None, log_file: str | None) -> str | None:
    from mirrorinstall.core.childtext import decode_log

    if log_file:
        try:
            with fileops.open_stream(log_file) as f:  # a FIFO with no writer: empty
                head, data = _bounded_tail(f)
        except OSError as exc:
            raise UsageError(
                f"cannot read {log_file}: {exc.strerror or exc}", "Check the --log path."
            ) from None
        return decode_log(data, hostos.locale_encoding(), head)
    if message == "-":
        head, data = _bounded_tail(sys.stdin.buffer)
        return decode_log(data, hostos.locale_encoding(), head)
    return message


def _bounded_tail(f) -> tuple[bytes, bytes]:
    """The first 4 bytes and at most the last _DOCTOR_LIMIT bytes of ``f``: a regular file's
    tail by seeking; a pipe or a device (``yes |``, /dev/zero) read for at most
    _DOCTOR_STREAM_CAP bytes, keeping the last _DOCTOR_LIMIT (it never ends by itself)."""
    import stat

    try:
        regular = stat.S_ISREG(os.fstat(f.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        regular = False
    if regular:
        head = f.read(4)
        f.seek(0, 2)
        f.seek(max(0, f.tell() - _DOCTOR_LIMIT))
        return head, f.read(_DOCTOR_LIMIT)
    kept = bytearray()
    head, total = b"", 0
    while total < _DOCTOR_STREAM_CAP:
        block = f.read(min(1024 * 1024, _DOCTOR_STREAM_CAP - total))
        if not block:
            break
        head = head or block[:4]
        total += len(block)
        kept += block
        if len(kept) > 2 * _DOCTOR_LIMIT:
            del kept[: len(kept) - _DOCTOR_LIMIT]
    return head, bytes(kept[-_DOCTOR_LIMIT:])


@cli.command(name="env")
@click.option(
    "--shell",
    "shell",
    type=click.Choice(["bash", "zsh", "fish", "powershell", "cmd", "github"]),
    help="Write for this shell (default: $SHELL's, else bash; PowerShell on Windows); github "
    "appends to $GITHUB_ENV.",
)
@click.option("--mirror", "mirror_id", metavar="ID", help="Use this mirror, without measuring.")
@click.option("--refresh", is_flag=True, help="Measure the mirrors again, ignoring the cache.")
@click.pass_obj
def env_command(app: AppContext, shell: str | None, mirror_id: str | None, refresh: bool) -> None:
    """Print the variables that send pip, uv and conda to the fastest mirrors, for eval.

    \b
    eval "$(minstall env)"                   # bash, zsh
    minstall env --shell fish | source
    minstall env --shell powershell | Invoke-Expression
    minstall env --shell github              # a GitHub Actions step: appends to $GITHUB_ENV
    """
    from mirrorinstall.context.facts import Facts
    from mirrorinstall.context.gather import current_subdir, get_ranking_for
    from mirrorinstall.rewrite import Context
    from mirrorinstall.rewrite.envvars import Unwritable, default_shell, render, variables

    session = app.session()
    environ = app.environ
    subdir = current_subdir(environ)
    shell = shell or default_shell(environ, subdir.startswith("win") or hostos.windows_rules())
    ranking = get_ranking_for(session, ["pypi", "conda"], mirror_id=mirror_id, refresh=refresh)
    facts = Facts(catalog=session.catalog, ranking=ranking, platform=subdir, environ=environ)
    found = variables(Context(facts))
    if not found and (ranking.measured("pypi") or ranking.measured("conda")):
        # the official hosts answered fastest: nothing to point anywhere else
        if shell != "github":
            remark = "rem" if shell == "cmd" else "#"
            echo(f"{remark} minstall: the official hosts are the fastest here; nothing to set")
        return
    if not found:
        raise NoMirrorError(
            "no measured mirror carries PyPI or conda's channels here",
            "Run 'minstall bench' to see why each mirror failed.",
        )
    try:
        text = render(found, shell)
    except Unwritable as exc:
        raise UsageError(
            f"cannot write the variables for {shell}: {exc}",
            "The value comes from the mirror catalog: fix that mirror's URL there, or choose "
            "another --shell (or --mirror).",
        ) from None
    if shell == "github":
        target = environ.get("GITHUB_ENV")
        if not target:
            raise UsageError(
                "--shell github appends to the file $GITHUB_ENV names, and it is not set",
                "Run it in a GitHub Actions step, or choose another --shell.",
            )
        try:
            # newline="": LF on Windows too (the runner reads NAME=value lines); a file whose
            # last line has no line break yet (an earlier step's printf) gets one first, or
            # our first line would be glued to it
            if os.path.exists(target) and not os.path.isfile(target):
                raise OSError(
                    0, "not a regular file (a FIFO or a device would block or swallow it)"
                )
            with open(target, "a+b") as out:
                out.seek(0, os.SEEK_END)
                if out.tell():
                    out.seek(out.tell() - 1)
                    last = out.read(1)
                    out.seek(0, os.SEEK_END)
                    if last != b"\n":
                        out.write(b"\n")
                out.write(text.encode("utf-8"))
        except OSError as exc:
            raise CacheError(
                f"cannot append to $GITHUB_ENV ({target}): {exc.strerror or exc}",
                "Check the runner's GITHUB_ENV file.",
            ) from None
        echo(f"minstall: appended to $GITHUB_ENV ({target}):", err=True)
    if shell in ("bash", "zsh", "fish"):
        # Git Bash on Windows: a CRLF line would leave a CR at the end of every value
        sys.stdout.reconfigure(newline="\n")  # type: ignore[union-attr]
    echo(text, nl=False)


@cli.command()
@click.option(
    "--listen",
    default="0.0.0.0:8790",
    show_default=True,
    metavar="HOST:PORT",
    help="Where the cache answers (0.0.0.0: every interface of this machine).",
)
@click.option(
    "--url", metavar="URL", help="The cache's URL as clients reach it (default: this host's name)."
)
@click.option(
    "--cache-dir",
    metavar="DIR",
    help="Where the cached files go (default: minstall's cache folder).",
)
@click.option(
    "--max-size",
    "max_size",
    type=ByteSize(),
    default="50G",
    show_default=True,
    help="Most bytes the cached files take; the least used go first.",
)
@click.option(
    "--page-minutes",
    type=click.IntRange(1, 1440),
    default=10,
    show_default=True,
    help="How long an index page is served before it is asked for again.",
)
@click.option(
    "--id", "cache_id", default="fleet-cache", show_default=True, help="The catalog id clients use."
)
@click.option(
    "--print", "print_only", is_flag=True, help="Print nginx's configuration; run nothing."
)
@click.option(
    "--write",
    "write_dir",
    metavar="DIR",
    help="Write the configuration and folders into DIR for a service (systemd); run nothing.",
)
@click.option(
    "--mirror", "mirror_id", metavar="ID", help="Serve from this mirror alone, unmeasured."
)
@click.option("--refresh", is_flag=True, help="Measure the mirrors again, ignoring the cache.")
@click.pass_obj
def serve(
    app: AppContext,
    listen: str,
    url: str | None,
    cache_dir: str | None,
    max_size: int,
    page_minutes: int,
    cache_id: str,
    print_only: bool,
    write_dir: str | None,
    mirror_id: str | None,
    refresh: bool,
) -> int:
    """Run one cache for a lab or a CI fleet: nginx in front of the fastest mirrors.

    \b
    minstall serve                          # nginx in the foreground; Ctrl-C stops it
    minstall serve --write /srv/mcache      # the files for a systemd service
    minstall warm --cache http://HOST:8790 -- pip install torch   # fill it before a class

    Every file crosses the slow link once; clients use the cache as a mirror (the catalog
    entry it prints) and fall back to the public mirrors when it is down.
    """
    from mirrorinstall.serve.run import ServeOptions, prepare, start

    options = ServeOptions(
        listen=listen,
        url=url,
        cache_dir=Path(cache_dir) if cache_dir else None,
        max_size=max_size,
        page_minutes=page_minutes,
        cache_id=cache_id,
        write_dir=Path(write_dir) if write_dir else None,
        mirror_id=mirror_id,
        refresh=refresh,
    )
    prepared = prepare(app.session(), options, need_nginx=not print_only)
    for note in prepared.notes:
        echo(f"minstall: {note}", err=True)
    if print_only:
        echo(prepared.config, nl=False)
        return 0
    if not write_dir:
        prepared.check_free()
    prepared.write()
    for line in prepared.summary():
        echo(line, err=True)
    echo(prepared.entry, nl=False)
    if write_dir:
        for line in prepared.service_lines():
            echo(line, err=True)
        return 0
    return start(prepared)


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option(
    "--cache",
    "cache_url",
    required=True,
    metavar="URL",
    help="The cache 'minstall serve' runs (on its own host: http://127.0.0.1:8790).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the files and what they cost.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED, required=True)
@click.pass_obj
def warm(app: AppContext, cache_url: str, as_json: bool, command: tuple[str, ...]) -> int:
    """Pull an install's files through a fleet cache once, before the clients come.

    \b
    minstall warm --cache http://127.0.0.1:8790 -- pip install torch --index-url \\
        https://download.pytorch.org/whl/cu121
    minstall warm --cache http://127.0.0.1:8790 torch torchvision

    Resolves as 'minstall fetch' does, through the cache alone; nothing is installed.
    """
    from mirrorinstall.run.fetching import FetchProgress, summary
    from mirrorinstall.serve.warm import warm as warm_through

    argv = _install_argv(command)
    line = FetchProgress(None if as_json else lambda text: echo(text, err=True), None)
    try:
        report = warm_through(app.session(), cache_url, argv, progress=line)
    finally:
        line.close()
    if as_json:
        echo(json.dumps(report.as_json(), indent=2))
    else:
        echo("minstall warm: " + summary(report), err=True)
    return 0


@cli.group()
def config() -> None:
    """Write the fastest mirrors into conda's, pip's, uv's and pixi's own configuration.

    \b
    minstall config apply --conda --pip     # then plain 'conda install', 'pip install'
    minstall config show                    # what each tool uses now, and the bench's verdict
    minstall config undo --conda            # put back what apply replaced, byte for byte
    """


_TOOL_FILES = {
    "conda": "conda's .condarc (mamba and micromamba read it too)",
    "pip": "pip's pip.conf (pip.ini on Windows)",
    "uv": "uv's uv.toml",
    "pixi": "pixi's config.toml",
}


def _tool_flags(func):
    for tool, what in reversed(_TOOL_FILES.items()):
        func = click.option(f"--{tool}", f"want_{tool}", is_flag=True, help=what)(func)
    return func


def _named_tools(kw: dict) -> list[str]:
    return [t for t in _TOOL_FILES if kw.pop(f"want_{t}")]


def _confirm(yes: bool, dry_run: bool) -> bool:
    """Whether to write: never with --dry-run, always with --yes or without a terminal to
    ask at (CI), else the user's answer."""
    if dry_run:
        echo("minstall: --dry-run: nothing written", err=True)
        return False
    if yes or not hostos.stdin_is_interactive():
        return True
    if click.confirm("Write these changes?", default=False, err=True):
        return True
    echo("minstall: nothing written", err=True)
    return False


@config.command("apply")
@_tool_flags
@click.option("--mirror", "mirror_id", metavar="ID", help="Use this mirror, without measuring.")
@click.option(
    "--scope",
    type=click.Choice(SCOPES),
    default="user",
    show_default=True,
    help="Which of each tool's files: yours, the active environment's, or the machine's.",
)
@click.option("--dry-run", is_flag=True, help="Show the diff, write nothing.")
@click.option("-y", "--yes", is_flag=True, help="Write without asking.")
@click.option("--refresh", is_flag=True, help="Measure the mirrors again, ignoring the cache.")
@click.pass_obj
def config_apply(
    app: AppContext, mirror_id: str | None, scope: str, dry_run: bool, yes: bool, refresh: bool,
    **kw: bool,
) -> None:  # fmt: skip
    """Point each tool's configuration file at the fastest mirrors (diff first, backup kept).

    With no tool named: every one found here (pip always; conda, uv, pixi when installed).
    """
    from mirrorinstall.config.actions import plan, platform_of, tools_found, write
    from mirrorinstall.context.facts import Facts
    from mirrorinstall.context.gather import current_subdir, get_ranking_for
    from mirrorinstall.rewrite import Context

    session = app.session()
    tools = _named_tools(kw) or tools_found(app.environ)
    kinds = ["conda"] if "conda" in tools or "pixi" in tools else []
    kinds += ["pypi", "pytorch"] if {"pip", "uv", "pixi"} & set(tools) else []
    ranking = get_ranking_for(session, kinds, mirror_id=mirror_id, refresh=refresh)
    facts = Facts(
        catalog=session.catalog,
        ranking=ranking,
        platform=current_subdir(app.environ),
        environ=app.environ,
    )
    changes = plan(tools, scope, platform_of(app.environ), Context(facts))
    for change in changes:
        state = "" if change.changed else ": already up to date"
        echo(f"{change.tool}: {change.location.path} ({change.location.how}){state}", err=True)
        echo(change.diff(), nl=False)
        for note in change.notes:
            echo(f"  note: {note}", err=True)
    todo = [c for c in changes if c.changed]
    if not todo or not _confirm(yes, dry_run):
        return
    write(todo, session.cache_dir)
    for change in todo:
        kept = f"backup: {change.backup}" if change.backup else "a new file"
        echo(f"minstall: wrote {change.location.path} ({kept})", err=True)
    undo = " ".join(f"--{c.tool}" for c in todo)
    echo(f"minstall: to put it back: minstall config undo {undo}", err=True)


@config.command("undo")
@_tool_flags
@click.option("--force", is_flag=True, help="Restore even a file edited since apply wrote it.")
@click.option("--dry-run", is_flag=True, help="Show the diff, restore nothing.")
@click.option("-y", "--yes", is_flag=True, help="Restore without asking.")
@click.pass_obj
def config_undo(app: AppContext, force: bool, dry_run: bool, yes: bool, **kw: bool) -> None:
    """Put back the files the last 'config apply' changed, byte for byte (diff first)."""
    from mirrorinstall.config.actions import plan_undo, restore

    tools = _named_tools(kw) or ["conda", "pip", "uv", "pixi"]
    cache_dir = app.session().cache_dir
    changes = plan_undo(tools, cache_dir, force)
    if not changes:
        echo(f"minstall: nothing to undo for {', '.join(tools)}", err=True)
        return
    for change in changes:
        what = f"from {change.backup}" if change.backup else "removing it: apply created it"
        echo(f"{change.tool}: {change.location.path}: restore {what}", err=True)
        echo(change.diff(), nl=False)
    if not _confirm(yes, dry_run):
        return
    restore(changes, cache_dir)
    for change in changes:
        echo(f"minstall: restored {change.location.path}", err=True)


@config.command("show")
@_tool_flags
@click.option("--json", "as_json", is_flag=True, help="Print every setting as JSON.")
@click.option("--refresh", is_flag=True, help="Measure the mirrors again, ignoring the cache.")
@click.pass_obj
def config_show(app: AppContext, as_json: bool, refresh: bool, **kw: bool) -> int:
    """What conda, pip, uv and pixi fetch from now, where each setting comes from, and the
    bench's verdict on each host. Exits 1 when a setting needs fixing (the fix is printed)."""
    from mirrorinstall.config.actions import platform_of
    from mirrorinstall.config.files import read
    from mirrorinstall.config.locations import read_order
    from mirrorinstall.config.show import report
    from mirrorinstall.context.gather import get_ranking_for

    session = app.session()
    tools = _named_tools(kw) or ["conda", "pip", "uv", "pixi"]
    p = platform_of(app.environ)
    texts: dict[str, list] = {tool: [] for tool in tools}
    unreadable = []
    for tool in tools:
        for loc in read_order(tool, p):
            try:
                texts[tool].append((loc, read(loc.path, tool).text))
            except MinstallError as exc:  # one bad file must not hide the others
                unreadable.append(exc.message)
    kinds = ["conda", "pypi", "pytorch"]
    ranking = get_ranking_for(session, kinds, mirror_id=None, refresh=refresh)
    found = report(texts, app.environ, session.catalog, ranking)
    found.problems[:0] = unreadable
    if as_json:
        rows = [s.__dict__ for s in found.seen]
        doc = {"settings": rows, "problems": found.problems, "fixes": found.fixes}
        echo(json.dumps(doc, indent=2))
    else:
        for tool in tools:
            echo(tool)
            for s in (s for s in found.seen if s.tool == tool):
                mark = "*" if s.effective else " "
                echo(f" {mark} {s.setting} = {s.value}")
                echo(f"      from {s.source}; {s.verdict}")
            if tool in found.fixes:
                echo(f"  fix: {found.fixes[tool]}")
        for problem in found.problems:
            echo(f"minstall: {problem}", err=True)
        echo("(* = the setting that takes effect)")
    return 1 if found.fixes or found.problems else 0


def _install_argv(command: tuple[str, ...]) -> list[str]:
    """The command as given, or package names as `pip install` of them."""
    argv = list(command)
    if argv[0] not in ("pip", "pip3", "python", "python3", "uv", "conda", "mamba", "micromamba"):
        argv = ["pip", "install", *argv]
    return argv


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--dest", metavar="DIR", help="Also put the files here, under their own names.")
@click.option("--json", "as_json", is_flag=True, help="Print the files and where they came from.")
@click.option("--mirror", "mirror_id", metavar="ID", help="Resolve through this mirror.")
@click.option("--python", "python_path", metavar="PATH", help="Resolve for this Python.")
@click.option(
    "--connections", default=6, show_default=True, help="Connections per mirror.", type=int
)
@click.option(
    "--timeout-s",
    default=QUICK_TIMEOUT_S,
    show_default=True,
    type=float,
    help="Per-probe timeout of a quick bench, when one is needed.",
)
@click.argument("command", nargs=-1, type=click.UNPROCESSED, required=True)
@click.pass_obj
def fetch(
    app: AppContext,
    dest: str | None,
    as_json: bool,
    mirror_id: str | None,
    python_path: str | None,
    connections: int,
    timeout_s: float,
    command: tuple[str, ...],
) -> int:
    """Download what an install would download, in parallel across the mirrors, verified.

    \b
    minstall fetch --dest wheels -- pip install -r requirements.txt
    minstall fetch torch torchvision           (= pip install torch torchvision)
    minstall fetch --dest pkgs -- conda install -c conda-forge numpy

    Files go to the content-addressed store (minstall cache info); --dest links them there too,
    for `pip install --no-index --find-links DIR` on an air-gapped machine or a CI cache.
    """
    from mirrorinstall.run.fetching import FetchProgress, fetch_command, summary

    argv = _install_argv(command)
    # --json: the files document on stdout at the end, progress events on stderr meanwhile
    line = FetchProgress(
        None if as_json else lambda text: echo(text, err=True),
        (lambda data: echo(json.dumps({"event": "fetch-progress", **data}), err=True))
        if as_json
        else None,
    )
    try:
        report = fetch_command(
            app.session(),
            argv,
            dest=Path(dest) if dest else None,
            mirror_id=mirror_id,
            python=python_path,
            connections=connections,
            timeout_s=timeout_s,
            progress=line,
        )
    finally:
        line.close()
    if as_json:
        echo(json.dumps(report.as_json(), indent=2))
    else:
        echo("minstall: " + summary(report), err=True)
        for path in report.files:
            echo(str(path))
    return 0


@cli.group()
def cache() -> None:
    """The store of downloaded files (minstall fetch)."""


@cache.command("info")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def cache_info(app: AppContext, as_json: bool) -> None:
    """How many files, and how many bytes, the store holds."""
    from mirrorinstall.fetch.store import Store

    root = app.session().cache_dir / "store"
    info = Store(root).info()
    if as_json:
        echo(json.dumps({"path": str(root), **info.__dict__}))
        return
    echo(
        f"{root}: {info.files} files, {info.bytes / 1024 / 1024:.1f} MiB; "
        f"{info.partial_files} partial ({info.partial_bytes / 1024 / 1024:.1f} MiB)"
    )


@cache.command("clean")
@click.option("--keep-mb", default=0, type=int, help="Keep up to this many MiB, newest first.")
@click.pass_obj
def cache_clean(app: AppContext, keep_mb: int) -> None:
    """Remove partial downloads, and stored files beyond --keep-mb (oldest first)."""
    from mirrorinstall.fetch.store import Store

    freed = Store(app.session().cache_dir / "store").clean(keep_mb * 1024 * 1024)
    echo(f"freed {freed / 1024 / 1024:.1f} MiB")


def _run_options(func):  # the options every installing command shares
    options = [
        click.option("--dry-run", is_flag=True, help="Show the plan, run nothing."),
        click.option("-y", "--yes", is_flag=True, help="Answer conda's prompt (also in CI)."),
        click.option(
            "--json",
            "json_events",
            is_flag=True,
            help="One JSON event per line: plan, attempt, fallback, result.",
        ),
        click.option(
            "--max-attempts",
            type=click.IntRange(1, 20),
            default=3,
            show_default=True,
            help="Mirrors to try, the official host last.",
        ),
        click.option(
            "--cuda",
            "cuda_mode",
            default="keep",
            show_default=True,
            metavar="MODE",
            help="keep (check pins), auto, cpu, X.Y or cuXYZ.",
        ),
        click.option("--mirror", "mirror_id", metavar="ID", help="Use only this mirror."),
        click.option("--platform", "platform_", metavar="SUBDIR", help="Plan for a conda subdir."),
        click.option(
            "--fetch/--no-fetch",
            default=None,
            help="pip/uv: minstall downloads the files in parallel across the mirrors "
            "(default; MINSTALL_FETCH=0 turns it off), or the installer downloads them.",
        ),
        click.option("--heartbeat-s", type=click.FloatRange(0.1), default=30.0, hidden=True),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _options(kw: dict, environ: Mapping[str, str]) -> object:
    from mirrorinstall.core.settings import fetch_setting
    from mirrorinstall.run.execute import Options

    return Options(
        dry_run=kw["dry_run"],
        yes=kw["yes"],
        json_events=kw["json_events"],
        max_attempts=kw["max_attempts"],
        cuda_mode=kw["cuda_mode"],
        mirror_id=kw["mirror_id"],
        platform=kw["platform_"],
        heartbeat_s=kw["heartbeat_s"],
        verify=kw.get("verify"),
        verify_target=kw.get("verify_target") or {},
        fetch=kw["fetch"] if kw["fetch"] is not None else fetch_setting(environ),
    )


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("packages", nargs=-1, required=True)
@click.option("-n", "--name", "env_name", metavar="ENV", help="conda environment to install into.")
@click.option("-p", "--prefix", metavar="PREFIX", help="conda environment path to install into.")
@click.option("--python", "python_path", metavar="PATH", help="pip/uv: the target Python.")
@click.option(
    "--engine",
    type=click.Choice(["conda", "mamba", "micromamba", "pip", "uv"]),
    help="Which installer runs (default: conda in a conda env, else pip).",
)
@click.option(
    "-c",
    "--channel",
    "channels",
    multiple=True,
    metavar="CHANNEL",
    help="conda channel (repeatable).",
)
@click.option(
    "--verify/--no-verify",
    "verify_after",
    default=False,
    help="Run minstall verify afterwards (torch or tensorflow, from the packages).",
)
@_run_options
@click.pass_obj
def install(
    app: AppContext,
    packages: tuple[str, ...],
    env_name: str | None,
    prefix: str | None,
    python_path: str | None,
    engine: str | None,
    channels: tuple[str, ...],
    verify_after: bool,
    **kw: object,
) -> int:
    """Install PACKAGES through the fastest mirror (minstall PKG... means the same).

    \b
    minstall pytorch torchvision --cuda auto
    minstall install -n ml numpy -c conda-forge --yes
    """
    from mirrorinstall.run.engine import engine_command
    from mirrorinstall.run.execute import run_install

    argv = engine_command(
        app.environ,
        list(packages),
        engine=engine,
        env_name=env_name,
        prefix=prefix,
        python=python_path,
        channels=list(channels),
    )
    if verify_after:
        names = " ".join(packages).lower()
        kw["verify"] = "tensorflow" if "tensorflow" in names else "torch"
        kw["verify_target"] = {"name": env_name, "prefix": prefix, "python": python_path}
    return run_install(app.session(), argv, _options(kw, app.environ))  # type: ignore[arg-type]


# minstall's options that none of conda, mamba, pip or uv has: after the tool's words they
# would reach the child ("unrecognized arguments: --cuda")
_OWN_ONLY = ("--cuda", "--mirror", "--max-attempts", "--fetch", "--no-fetch", "--heartbeat-s")


def _no_own_options(
    argv: Sequence[str],
    head: list[str],
    tail: list[str],
    movable: Sequence[str] = _OWN_ONLY,
) -> None:
    """Refuse minstall's own options among the tool's arguments (``argv``, the tool's name
    first). The hint is the command as it should be: ``head``, the options (those the command
    takes, ``movable``), ``tail``, then the tool's other arguments."""
    own: list[str] = []
    rest: list[str] = []
    found = None
    words = iter(argv[1:])
    for arg in words:
        name = arg.split("=", 1)[0]
        if name not in _OWN_ONLY:
            rest.append(arg)
            continue
        found = found or name
        taken = [arg]
        if "=" not in arg and name not in ("--fetch", "--no-fetch"):
            taken.append(next(words, ""))
        if name in movable:
            own += taken
    if found:
        raise UsageError(
            f"{found} is minstall's option, but it stands among {argv[0]}'s arguments, where "
            f"{argv[0]} would get it",
            "Put minstall's options before the command: " + " ".join([*head, *own, *tail, *rest]),
        )


def _passthrough(tool: str):
    @cli.command(
        name=tool,
        context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
        help=f"Rewrite and run a {tool} command as typed: minstall {tool} "
        f"[minstall options] {'pip ' if tool == 'uv' else ''}install ...",
    )
    @click.argument("args", nargs=-1, type=click.UNPROCESSED, required=True)
    @_run_options
    @click.pass_obj
    def command(app: AppContext, args: tuple[str, ...], **kw: object) -> int:
        from mirrorinstall.run.execute import run_install

        _no_own_options([tool, *args], ["minstall", tool], [])
        return run_install(app.session(), [tool, *args], _options(kw, app.environ))  # type: ignore[arg-type]

    return command


for _tool in ("conda", "mamba", "micromamba", "pip", "uv", "mim"):
    _passthrough(_tool)


def _report(message: str, hint: str | None) -> None:
    echo(f"minstall: error: {message}", err=True)
    if hint:
        echo(f"hint: {hint}", err=True)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Console-script entry point: run the CLI and turn every outcome into an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    guard_streams()
    received: list[int] = []

    def as_interrupt(signum: int, frame: object) -> None:
        # SIGTERM (a CI job cancelled, systemd) and SIGHUP (the terminal closed) unwind like
        # Ctrl-C: temp dirs removed, partial downloads journaled, nothing half-written
        received.append(signum)
        raise KeyboardInterrupt

    hostos.honour_ctrl_c()
    # SIGBREAK: Ctrl-Break in a Windows console (which gives it to the child as well)
    for name in ("SIGTERM", "SIGHUP", "SIGBREAK"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), as_interrupt)
    try:
        result = cli.main(args=args, prog_name="minstall", standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except MinstallError as exc:
        if debug:
            traceback.print_exc()
        _report(exc.message, exc.hint)
        code = exc.exit_code
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "minstall"
        _report(exc.format_message(), f"Run '{command} --help' for what it takes.")
        code = EXIT_USAGE
    except click.ClickException as exc:
        _report(exc.format_message(), None)
        code = exc.exit_code
    except (KeyboardInterrupt, click.Abort):
        if received and received[0] == getattr(signal, "SIGBREAK", None):
            echo("minstall: interrupted (Ctrl-Break)", err=True)
            code = EXIT_INTERRUPTED
        elif received:
            echo(f"minstall: stopped by {signal.Signals(received[0]).name}", err=True)
            code = 128 + received[0]
        else:
            echo("minstall: interrupted", err=True)
            code = EXIT_INTERRUPTED
    except Exception as exc:  # a bug: say so, and how to report it
        if debug:
            traceback.print_exc()
        _report(
            f"internal error: {type(exc).__name__}: {exc}",
            "This is a bug in minstall. Rerun with --debug and report the traceback.",
        )
        code = EXIT_INTERNAL
    sys.exit(code)
