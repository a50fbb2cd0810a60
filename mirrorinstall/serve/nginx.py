"""nginx itself: found, its configuration checked, run in the foreground.  [edge: process]"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from mirrorinstall.core import capped
from mirrorinstall.core.errors import EngineNotFound, UsageError

# where package managers put nginx when /usr/sbin is not on a user's PATH
_PLACES = (
    "/usr/sbin/nginx",
    "/usr/local/sbin/nginx",
    "/opt/homebrew/bin/nginx",
    "/usr/local/bin/nginx",
)


def install_hint(platform: str = sys.platform) -> str:
    """The command that installs nginx here (nginx-light: Debian's smallest build with the
    slice and sub modules the cache uses)."""
    if platform == "darwin":
        return "Install it with 'brew install nginx', then run the command again."
    if platform.startswith("win"):
        return (
            "Run the cache on a Linux machine (or WSL): nginx's Windows build is a beta without "
            "Unix sockets. Windows clients use the cache like any mirror."
        )
    if Path("/etc/debian_version").exists():
        return "Install it with 'sudo apt install nginx-light', then run the command again."
    if Path("/etc/fedora-release").exists() or Path("/etc/redhat-release").exists():
        return "Install it with 'sudo dnf install nginx', then run the command again."
    return "Install nginx (1.19 or newer, with the slice and sub modules), then run it again."


def find_nginx(environ: Mapping[str, str]) -> str:
    """The nginx to run: $MINSTALL_NGINX, then PATH, then where packages put it."""
    named = environ.get("MINSTALL_NGINX")
    if named:
        if shutil.which(named):
            return str(shutil.which(named))
        raise EngineNotFound(f"MINSTALL_NGINX={named!r} is not a program", install_hint())
    found = shutil.which("nginx", path=environ.get("PATH"))
    if found:
        return found
    for place in _PLACES:
        if os.access(place, os.X_OK):
            return place
    raise EngineNotFound(
        "nginx is not installed (minstall serve runs it as the cache)", install_hint()
    )


def unresolvable(hosts: Iterable[str], timeout_s: float = 5.0) -> dict[str, str]:
    """Host -> why, for each name that does not resolve: nginx resolves every upstream name
    when it starts and refuses to start on one it cannot, so such mirrors are left out."""
    names = sorted({h for h in hosts})
    out: dict[str, str] = {}
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=8)
    try:
        futures = {h: pool.submit(socket.getaddrinfo, h, None) for h in names}
        for host, future in futures.items():
            try:
                future.result(timeout=timeout_s)
            except concurrent.futures.TimeoutError:
                out[host] = f"no DNS answer within {timeout_s:g} s"
            except OSError as exc:
                out[host] = f"does not resolve ({exc.strerror or exc})"
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return out


def check(nginx: str, conf: Path, prefix: Path) -> None:
    """``nginx -t`` on the written configuration; its own words when it refuses."""
    try:
        proc = capped.run(
            [nginx, "-t", "-q", "-p", str(prefix), "-c", str(conf)], text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineNotFound(
            f"{nginx} could not check the configuration: {exc}", install_hint()
        ) from None
    if proc.returncode != 0:
        said = "\n".join(proc.stderr.strip().splitlines()[-4:])
        raise UsageError(
            f"nginx refused the configuration minstall wrote ({conf}):\n{said}",
            "If nginx says a module or directive is unknown, it is too old or lacks the slice "
            "and sub modules; " + install_hint(),
        )


def run_foreground(nginx: str, conf: Path, prefix: Path) -> int:
    """nginx in the foreground until it ends; Ctrl-C (or SIGTERM) goes to it, and nginx stops
    at once (its fast shutdown). Its exit code."""
    from mirrorinstall.run.runner import interrupt_status, run_child

    result = run_child(
        [nginx, "-p", str(prefix), "-c", str(conf)], use_pty=False, heartbeat_s=float("inf")
    )
    if result.interrupted:
        return interrupt_status(result.signal)
    return result.exit_code
