"""The real conda client (26.7.1, built from conda's source: ../shared/tools/conda) for tests.

Its venv, ``.venv-conda`` at the repository root, is built once (about 20 s) and reused while
it holds that conda. Each test gets its own home: a condarc (classic solver, no update or error
reports), a package cache and an envs dir, as ../shared/tools/conda/README.md prescribes, and
a two-line wrapper script that CONDA_EXE names (the wheel's own ``conda`` entry point cannot
run ``conda create``). No conda is put on PATH: minstall must find it through CONDA_EXE.

``official`` is the farm mirror that stands for the official hosts: the condarc's
``channel_alias`` and ``default_channels`` point at it, so the *original* command, run by
conda itself, resolves against the same content as the rewritten one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from farm.content import shared_dir

try:
    import fcntl
except ImportError:  # Windows: no parallel workers share the venv there
    fcntl = None  # type: ignore[assignment]

VERSION = "26.7.1"
ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-conda"


def wheel() -> Path:
    return shared_dir() / "tools" / "conda" / f"conda-{VERSION}-py3-none-any.whl"


def _python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(venv: Path = VENV) -> Path:
    """The Python of a venv holding conda VERSION, made if missing or different. Test workers
    (pytest-xdist) run in parallel: one builds it while the others wait on a lock file."""
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        return _ensure_venv(venv)


def _ensure_venv(venv: Path) -> Path:
    python = _python(venv)
    if python.exists():
        probe = subprocess.run(
            [str(python), "-m", "conda", "--version"], capture_output=True, text=True
        )
        if probe.stdout.strip() == f"conda {VERSION}":
            return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    # conda's dependencies come from the package registry this machine's pip is set up for
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(wheel()),
        ],
        check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("PIP_CONFIG_FILE")},
    )
    return python


@dataclass
class CondaHome:
    """One test's conda: run it directly (``run``) or hand ``env`` to minstall."""

    root: Path
    exe: Path  # the wrapper script (what CONDA_EXE names)
    env: dict[str, str]

    @property
    def envs_dir(self) -> Path:
        return self.root / "envs"

    def prefix(self, name: str) -> Path:
        """An existing, empty environment (what `conda create -p X` leaves)."""
        prefix = self.root / "prefixes" / name
        (prefix / "conda-meta").mkdir(parents=True, exist_ok=True)
        (prefix / "conda-meta" / "history").touch()
        return prefix

    def run(
        self, *args: str, timeout_s: float = 120, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.exe), *args],
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
        )

    def installed(self, prefix: Path) -> set[str]:
        """name-version-build of every package in the prefix (conda-meta records)."""
        return {p.name.removesuffix(".json") for p in (prefix / "conda-meta").glob("*.json")}


def make_home(
    python: Path, root: Path, official: str | None, channels: tuple[str, ...]
) -> CondaHome:
    """A private conda home whose official hosts are the farm mirror at ``official``; with
    ``official=None``, a normal user's condarc: conda's own defaults, the real hosts (reach
    them only through a RecordingProxy)."""
    root.mkdir(parents=True, exist_ok=True)
    exe = root / "bin" / "conda"
    exe.parent.mkdir(exist_ok=True)
    exe.write_text(f'#!/bin/sh\nexec "{python}" -m conda "$@"\n')
    exe.chmod(0o755)
    condarc = root / "condarc"
    lines = ["solver: classic", f"channels: {json.dumps(list(channels))}"]
    if official is not None:
        lines += [
            f"channel_alias: {official}/conda",
            f"default_channels: {json.dumps([f'{official}/conda/main', f'{official}/conda/r'])}",
        ]
    lines += [
        "auto_update_conda: false",
        "notify_outdated_conda: false",
        "report_errors: false",
        f"envs_dirs: [{root / 'envs'}]",
    ]
    condarc.write_text("\n".join(lines) + "\n")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(root),
        "LANG": "C.UTF-8",
        "CONDARC": str(condarc),
        "CONDA_PKGS_DIRS": str(root / "pkgs"),
        "CONDA_EXE": str(exe),
    }
    return CondaHome(root, exe, env)


def linked(dry_run_json: str) -> set[str]:
    """name-version-build of what a ``--dry-run --json`` would link."""
    data = json.loads(dry_run_json)
    return {
        f"{p['name']}-{p['version']}-{p['build_string']}"
        for p in data.get("actions", {}).get("LINK", [])
    }
