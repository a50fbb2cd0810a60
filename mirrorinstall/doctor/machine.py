"""Gather what doctor needs to know about this machine, once.
[edge: host (driver), process (the verify check, conda, pip), disk (the cached ranking)]

Nothing is measured: the mirrors' state is the cached bench result of this network (``minstall
bench`` refreshes it), so doctor answers in seconds and offline.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Mapping

from mirrorinstall.context.facts import Ranking
from mirrorinstall.core import capped
from mirrorinstall.core.settings import Session
from mirrorinstall.doctor.diagnose import EnvCheck, Machine, Source
from mirrorinstall.doctor.patterns import Pattern, parse_patterns

FRAMEWORKS = ("torch", "tensorflow")


def load_patterns() -> tuple[Pattern, ...]:
    from importlib.resources import files

    text = files("mirrorinstall.data").joinpath("error_patterns.toml").read_text("utf-8")
    return parse_patterns(text)


def gather_machine(
    session: Session,
    *,
    python: str | None = None,
    platform: str | None = None,
    check_envs: bool = True,
) -> Machine:
    """The machine's facts; ``check_envs`` also runs the verify check and reads the
    configured channels and indexes (the no-argument doctor)."""
    from mirrorinstall.context.gather import current_subdir
    from mirrorinstall.cuda.host import detect_cuda
    from mirrorinstall.cuda.packaged import load_tables

    environ = session.environ
    detected = detect_cuda(environ)
    subdir = platform or current_subdir(environ)
    os_name = "windows" if subdir.startswith("win") else "macos" if "osx" in subdir else "linux"
    driver_os = "windows" if detected.windows_driver or os_name == "windows" else os_name
    ranking, age = _cached(session)
    envs: tuple[EnvCheck, ...] = ()
    sources: tuple[Source, ...] = ()
    if check_envs:
        envs = tuple(_check(environ, fw, python, detected.host.driver) for fw in FRAMEWORKS)
        sources = (*_conda_sources(environ), *_pip_sources(environ))
    accel = None
    if not detected.host.has_driver:  # as gather does: NVIDIA's driver first, then the rest
        from mirrorinstall.cuda.accelhost import detect_accelerators

        accel = detect_accelerators(environ)
    return Machine(
        accel=accel,
        host=detected.host,
        tables=load_tables(),
        catalog=session.catalog,
        os=os_name,
        driver_os=driver_os,
        python=f"{sys.version_info.major}.{sys.version_info.minor}",
        envs=envs,
        sources=sources,
        ranking=ranking,
        ranking_age=age,
    )


def _cached(session: Session) -> tuple[Ranking | None, str | None]:
    from mirrorinstall.bench.ranking import cached_ranking

    found = cached_ranking(session)
    if found is None:
        return None, None
    minutes = max(0, int((time.time() - float(found.get("created_at_s", time.time()))) / 60))
    age = f"{minutes} min ago" if minutes < 120 else f"{minutes // 60} h ago"
    return Ranking.from_report({**found, "cached": True}), age


def _check(environ: Mapping[str, str], framework: str, python: str | None, driver) -> EnvCheck:
    from mirrorinstall.cuda.verify import run_check, target_python, verdict

    target = target_python(environ, python=python)
    facts = run_check(target, framework, environ, timeout_s=120)
    found = verdict(facts, driver)
    installed = "import_error" not in facts
    version = facts.get("version")
    return EnvCheck(
        python=target,
        framework=framework,
        installed=installed,
        ok=found.ok,
        message=found.message,
        cause=found.cause,
        version=str(version) if version is not None else None,
    )


def _conda_sources(environ: Mapping[str, str]) -> list[Source]:
    from mirrorinstall.context.condaconfig import detect_conda_channels
    from mirrorinstall.core.engines import find_engine

    exe = find_engine("conda", environ)
    if exe is None:
        return []
    channels, where = detect_conda_channels(exe, environ)
    return [Source("conda", c, where) for c in channels]


def _pip_sources(environ: Mapping[str, str]) -> list[Source]:
    if environ.get("PIP_INDEX_URL"):
        return [Source("pip", environ["PIP_INDEX_URL"], "PIP_INDEX_URL")]
    try:
        proc = capped.run(
            [sys.executable, "-m", "pip", "config", "list"],
            capture_output=True,
            text=True,
            env=dict(environ),
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        proc = None
    for line in (proc.stdout if proc and proc.returncode == 0 else "").splitlines():
        match = re.match(r"^(global|install)\.index-url='(.*)'$", line.strip())
        if match:
            return [Source("pip", match.group(2), f"pip config ({match.group(1)}.index-url)")]
    return [Source("pip", "https://pypi.org/simple", "pip's default")]
