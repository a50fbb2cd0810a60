"""Shared fixtures: a scrubbed environment, the mirror farm, hermetic pip runs.

``tests/`` is on sys.path (pytest's rootdir-relative import), so tests and
benchmarks import the farm as ``farm``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import winsim
from farm import Content, MirrorFarm, MirrorSpec, build_content

if winsim.enabled():
    # the whole suite as on Windows (README, Testing): this process, and every minstall
    # process a test starts, through tests/winsim_site
    winsim.apply(whole_process=False)
    os.environ.update(winsim.child_environ(dict(os.environ)))
    # commands print for Git Bash, a Windows shell whose lines the tests read with shlex;
    # cmd's and PowerShell's are tested by the tests that ask for them
    os.environ.setdefault("MSYSTEM", "MINGW64")

_SCRUB_PREFIXES = (
    "PIP_",
    "CONDA",
    "MINSTALL_",
    "UV_",
    "MAMBA",
    "VIRTUAL_ENV",
    "XDG_",
    "PYTHONUSERBASE",
    "CI",
    "GITHUB_",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """No test reads this machine's pip/conda/minstall config, caches or home."""
    for name in list(os.environ):
        if name.startswith(_SCRUB_PREFIXES) and name != winsim.ENV_VAR:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    return home


@pytest.fixture
def windows_sim(monkeypatch: pytest.MonkeyPatch) -> None:
    """This test runs as on Windows (tests/winsim.py): in this process until it ends, and in
    every minstall process it starts."""
    winsim.apply(whole_process=False, patch=monkeypatch)
    for name, value in winsim.child_environ(dict(os.environ)).items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="session")
def gbk_locale(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a Chinese Windows' code page 936, as Linux has it: a zh_CN.GBK
    locale made with localedef (Debian's locales package; .ci/run installs it). Python run
    in it reads files and writes pipes in GBK, as it does in cp936 on Windows."""
    import shutil

    folder = tmp_path_factory.mktemp("locales")
    localedef = shutil.which("localedef")
    assert localedef, "localedef is missing: apt-get install locales (see .ci/run)"
    proc = subprocess.run(
        [localedef, "-i", "zh_CN", "-f", "GBK", str(folder / "zh_CN.GBK")],
        capture_output=True,
        text=True,
    )
    assert (folder / "zh_CN.GBK").is_dir(), proc.stderr + " (apt-get install locales)"
    env = {"LOCPATH": str(folder), "LC_ALL": "zh_CN.GBK", "LANG": "zh_CN.GBK"}
    probe = subprocess.run(
        [sys.executable, "-c", "import locale; print(locale.getpreferredencoding(False))"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    assert probe.stdout.strip().lower() == "gbk", probe.stdout + probe.stderr
    return env


@pytest.fixture(scope="session")
def content() -> Content:
    return build_content()


@pytest.fixture
def make_farm(content: Content) -> Iterator:
    """``make_farm(spec, ..., content=None)`` starts a farm (the session's content, unless
    given other) that is closed after the test."""
    farms: list[MirrorFarm] = []

    def start(*specs: MirrorSpec, **kwargs: object) -> MirrorFarm:
        own = kwargs.pop("content", None) or content
        farm = MirrorFarm(specs, content=own, **kwargs)  # type: ignore[arg-type]
        farm.start()
        farms.append(farm)
        return farm

    yield start
    for farm in farms:
        farm.close()


@pytest.fixture(scope="session")
def conda_python() -> Path:
    """The Python of the real conda 26.7.1 venv (built once, see tests/realconda.py)."""
    from realconda import ensure_venv

    return ensure_venv()


@dataclass
class PipResult:
    returncode: int
    stdout: str
    stderr: str
    log: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def run_pip(tmp_path: Path) -> object:
    """Run a real pip install into a fresh venv, hermetic: no pip.conf, no PIP_FIND_LINKS,
    no cache. Returns stdout, stderr and pip's debug log (``--log``), which is where pip
    names the reason a page was skipped (see ../shared/recorded/README.md)."""
    counter = iter(range(1000))

    def run(*args: str, timeout_s: float = 90) -> PipResult:
        n = next(counter)
        target = tmp_path / f"venv{n}"
        venv.EnvBuilder(with_pip=False).create(target)
        python = target / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        log = tmp_path / f"pip{n}.log"
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ["HOME"],
            "LANG": "C.UTF-8",
            "PIP_CONFIG_FILE": os.devnull,
        }
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--log",
            str(log),
            *args,
        ]
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
        )
        return PipResult(
            proc.returncode, proc.stdout, proc.stderr, log.read_text() if log.exists() else ""
        )

    return run


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``network`` talk to the real internet: only when asked for
    (MINSTALL_NETWORK_TESTS=1, read before the autouse fixture scrubs MINSTALL_*)."""
    if os.environ.get("MINSTALL_NETWORK_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="talks to the internet: set MINSTALL_NETWORK_TESTS=1")
    for item in items:
        if "network" in item.keywords:
            item.add_marker(skip)
