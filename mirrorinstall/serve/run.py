"""`minstall serve` from the ranking to a running nginx.  [edge: disk, process]"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from mirrorinstall.core import hostos
from mirrorinstall.core.errors import UsageError
from mirrorinstall.core.settings import Session
from mirrorinstall.serve import nginx
from mirrorinstall.serve.nginxconf import Settings, render
from mirrorinstall.serve.plan import CachePlan, Route, catalog_entry, plan_cache

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes on Linux, 104 on macOS; the name adds 12


@dataclass(frozen=True)
class ServeOptions:
    listen: str = "0.0.0.0:8790"
    url: str | None = None
    cache_dir: Path | None = None
    max_size: int = 50 * 1024**3
    page_minutes: int = 10
    cache_id: str = "fleet-cache"
    write_dir: Path | None = None
    mirror_id: str | None = None
    refresh: bool = False


@dataclass
class Prepared:
    plan: CachePlan
    settings: Settings
    config: str
    entry: str
    url: str
    conf_path: Path
    nginx: str | None
    notes: list[str] = field(default_factory=list)
    temporary_sockets: bool = False
    cache_id: str = "fleet-cache"

    def check_free(self) -> None:
        """Refuse a second nginx on the same cache: two cache managers trimming one folder
        and two writers of one pid file (the pid file names a live process)."""
        pid_file = Path(self.settings.run_dir) / "nginx.pid"
        try:
            pid = int(pid_file.read_text(errors="replace").strip()[:12])
        except (OSError, ValueError):
            return
        try:
            os.kill(pid, 0)  # POSIX only: serve refuses to run on Windows before this
        except ProcessLookupError:
            return  # left by a run that was killed
        except OSError:
            pass  # alive, another user's
        raise UsageError(
            f"another nginx (pid {pid}) is serving the cache in {self.settings.cache_dir}",
            "Stop it first, or give this one another --cache-dir.",
        )

    def write(self) -> None:
        """The folders and nginx.conf, checked by nginx itself."""
        s = self.settings
        if self.nginx is None:
            raise AssertionError("write() needs nginx")  # prepare() found it
        for folder in (Path(s.run_dir) / "tmp", Path(s.cache_dir), Path(s.socket_dir)):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UsageError(
                    f"cannot create {folder}: {exc.strerror or exc}",
                    "Choose folders you can write to (--cache-dir, --write).",
                ) from None
        from mirrorinstall.core.cache import write_atomic

        write_atomic(self.conf_path, self.config)
        write_atomic(Path(s.run_dir) / "catalog.toml", self.entry)
        nginx.check(self.nginx, self.conf_path, Path(s.run_dir))

    def summary(self) -> list[str]:
        lines = [f"minstall serve: the cache is {self.url}/ (nginx.conf: {self.conf_path})"]
        for route in self.plan.routes:
            first, *rest = [u.mirror for u in route.upstreams]
            then = f" (then {', '.join(rest)})" if rest else ""
            lines.append(f"minstall serve:   {route.prefix} <- {first}{then}")
        lines.append(
            "minstall serve: on each client, put the entry below (also at "
            f"{self.url}/minstall-serve/catalog.toml) in the file 'minstall mirrors --path' "
            "names (without its 'schema = 1' line if the file has one), then run 'minstall "
            f"bench --refresh' (to write it into the tools' own config: 'minstall config apply "
            f"--mirror {self.cache_id}', or 'minstall env --mirror {self.cache_id}'); clients "
            "fall back to the public mirrors when the cache is down"
        )
        return lines

    def service_lines(self) -> list[str]:
        s = self.settings
        return [
            "minstall serve: written; to run it as a service (systemd):",
            "  [Service]",
            f"  ExecStart={self.nginx} -p {s.run_dir} -c {self.conf_path}",
            "  ExecReload=/bin/kill -HUP $MAINPID",
            "  Restart=on-failure",
            f"  # the service's user must be able to write {s.cache_dir} and {s.run_dir}",
        ]


def prepare(session: Session, options: ServeOptions, *, need_nginx: bool = True) -> Prepared:
    """Everything `minstall serve` writes, decided; nothing written yet. ``need_nginx``:
    find it now (to check and run the configuration; printing it needs none)."""
    from mirrorinstall.context.facts import Facts
    from mirrorinstall.context.gather import current_subdir, get_ranking_for
    from mirrorinstall.rewrite import Context
    from mirrorinstall.serve.packaged import load_absolutes

    if not _ID.match(options.cache_id):
        raise UsageError(
            f"--id {options.cache_id!r} is not a catalog id",
            "Use lower-case letters, digits, - and _ (for example lab-cache).",
        )
    if need_nginx and options.write_dir is None and hostos.windows_rules():
        raise UsageError(
            "minstall serve does not run nginx on Windows", nginx.install_hint("win32")
        )
    host, port = _listen(options.listen)
    ranking = get_ranking_for(
        session, ["pypi", "pytorch", "conda"], mirror_id=options.mirror_id, refresh=options.refresh
    )
    facts = Facts(
        catalog=session.catalog,
        ranking=ranking,
        platform=current_subdir(session.environ),
        environ=session.environ,
    )
    plan = plan_cache(Context(facts), load_absolutes())
    plan = _resolvable(plan)
    if not plan.routes:
        raise UsageError(
            "nothing to serve: " + "; ".join(plan.notes),
            "Run 'minstall bench' to see why each mirror failed.",
        )
    base = options.write_dir or session.cache_dir / "serve"
    cache_dir = (options.cache_dir or base / "cache").resolve()
    # one nginx per cache: its pid, configuration and temporary files live beside the cache
    run_dir = base.resolve() if options.write_dir else cache_dir / "run"
    temporary = options.write_dir is None
    if temporary:
        socket_dir = Path(tempfile.gettempdir()) / f"mi-serve-{os.getpid()}"
    else:
        socket_dir = run_dir / "sock"
    if len(str(socket_dir)) > _SOCKET_PATH_MAX:
        raise UsageError(
            f"{socket_dir} is too long a folder for the cache's sockets",
            "Give --write a shorter folder (for example /srv/mcache).",
        )
    euid = getattr(os, "geteuid", None)
    settings = Settings(
        listen_host=host,
        port=port,
        run_dir=str(run_dir),
        socket_dir=str(socket_dir),
        cache_dir=str(cache_dir),
        max_size_bytes=options.max_size,
        page_minutes=options.page_minutes,
        error_log="stderr" if temporary else str(run_dir / "error.log"),
        # workers write the cache: as root they would drop to a user that cannot
        worker_user="root" if euid is not None and euid() == 0 else None,
    )
    url = (options.url or _default_url(host, port)).rstrip("/")
    notes = list(plan.notes)
    if settings.worker_user == "root":
        notes.append("running as root: nginx's workers run as root too; a service user is safer")
    return Prepared(
        plan=plan,
        settings=settings,
        config=render(plan, settings),
        entry=catalog_entry(options.cache_id, url, plan),
        url=url,
        conf_path=run_dir / "nginx.conf",
        nginx=nginx.find_nginx(session.environ) if need_nginx else None,
        notes=notes,
        temporary_sockets=temporary,
        cache_id=options.cache_id,
    )


def start(prepared: Prepared) -> int:
    """nginx in the foreground until Ctrl-C; its exit code (130 for Ctrl-C)."""
    assert prepared.nginx is not None
    try:
        return nginx.run_foreground(
            prepared.nginx, prepared.conf_path, Path(prepared.settings.run_dir)
        )
    finally:
        if prepared.temporary_sockets:
            shutil.rmtree(prepared.settings.socket_dir, ignore_errors=True)


def _resolvable(plan: CachePlan) -> CachePlan:
    """``plan`` without the mirrors whose host does not resolve here (nginx would not start)."""
    hosts = {u.host for r in plan.routes for u in r.upstreams}
    bad = nginx.unresolvable(hosts)
    if not bad:
        return plan
    out = CachePlan([], list(plan.notes))
    for route in plan.routes:
        kept = tuple(u for u in route.upstreams if u.host not in bad)
        for u in route.upstreams:
            if u.host in bad:
                out.notes.append(f"{route.prefix}: {u.mirror} left out: {u.host} {bad[u.host]}")
        if kept:
            out.routes.append(Route(route.name, route.prefix, kept, route.files, route.rewrites))
    return out


def _listen(value: str) -> tuple[str, int]:
    match = re.fullmatch(r"\[?([0-9A-Za-z.:-]+?)\]?:(\d{1,5})", value.strip())
    if not match or not 0 < int(match.group(2)) < 65536:
        raise UsageError(
            f"--listen {value!r} is not HOST:PORT", "For example 0.0.0.0:8790 or [::]:8790."
        )
    return match.group(1), int(match.group(2))


def _default_url(host: str, port: int) -> str:
    if host in ("0.0.0.0", "::"):
        host = socket.gethostname()
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
