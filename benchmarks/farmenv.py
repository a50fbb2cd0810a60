"""What the benchmarks share: the environment that points minstall, pip and uv at a farm."""

from __future__ import annotations

import os
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def farm_env(farm, root: Path) -> dict[str, str]:
    """Only the farm (its catalog, a private cache, a fixed network id), no pip or uv config
    or cache of this machine, and this checkout's tools first on PATH."""
    env = {
        **os.environ,
        "MINSTALL_CATALOG": str(farm.write_catalog(root / "farm.toml")),
        "MINSTALL_CACHE_DIR": str(root / "cache"),
        "MINSTALL_NETWORK_ID": "bench",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_CACHE_DIR": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "UV_NO_CACHE": "1",
        "PATH": f"{BIN}:{os.environ['PATH']}",
    }
    env.pop("PIP_FIND_LINKS", None)
    return env


def timed(cmd: list[str], env: dict[str, str]) -> float:
    """Seconds ``cmd`` took; the run stops with its output if it fails."""
    import subprocess
    import time

    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}")
    return time.perf_counter() - t0


def fresh_venv(root: Path, name: str) -> str:
    """An empty venv's Python (no pip: the installer under test brings its own)."""
    import venv

    venv.EnvBuilder(with_pip=False).create(root / name)
    return str(root / name / "bin" / "python")


def report(floors: list[tuple[str, bool]]) -> int:
    """PASS/FAIL per floor; the exit code (1 if one failed)."""
    print()
    for text, ok in floors:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for _, ok in floors) else 1
