"""minstall end to end, through the installed console script (a real child process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from farm import MirrorSpec

from mirrorinstall import __version__

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).parent / ("minstall.exe" if os.name == "nt" else "minstall")


def minstall(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    assert SCRIPT.exists(), f"{SCRIPT} missing: install the project first (README, Quickstart)"
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def pip_target(tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A fresh venv to install into (its python) and the environment a real pip needs to
    install there from the farm alone: no pip.conf, this environment's pip and uv on PATH, no
    version check or cache, CI mode."""
    import venv

    target = tmp_path / "target"
    venv.EnvBuilder(with_pip=False).create(target)
    env = {
        "PIP_CONFIG_FILE": os.devnull,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_CACHE_DIR": "1",
        "CI": "true",
    }
    return str(target / "bin" / "python"), env


def started(args: list[str], env: dict[str, str], **popen: object) -> subprocess.Popen:
    """minstall running in the background, its output in pipes."""
    return subprocess.Popen(
        [str(SCRIPT), *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,  # type: ignore[call-overload]
    )


def interrupted(
    args: list[str], env: dict[str, str], after_s: float, *, ignoring: bool = False
) -> tuple[int, str]:
    """Run minstall, press Ctrl-C (SIGINT) after ``after_s``; its exit code and stderr. Under
    the Windows simulation Ctrl-C goes where a console sends it: to minstall's whole group.
    ``ignoring``: minstall starts with SIGINT ignored, as a script's background job does
    (``cmd &``; on Windows, a process group created with Ctrl-C disabled)."""
    import signal
    import time

    import winsim

    console = winsim.ENV_VAR in os.environ
    if ignoring:
        # the shell sets SIGINT to "ignore" and exec keeps it, as for `minstall ... &`
        script = ["sh", "-c", 'trap "" INT; exec "$0" "$@"', str(SCRIPT)]
        child = subprocess.Popen(
            [*script, *args],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=console,
        )
    else:
        child = started(args, env, start_new_session=console)
    time.sleep(after_s)
    if console:
        winsim.POSIX["killpg"](child.pid, signal.SIGINT)  # type: ignore[operator]
    else:
        child.send_signal(signal.SIGINT)
    _out, err = child.communicate(timeout=60)
    return child.returncode, err


def started_until_pip_asks(
    args: list[str], env: dict[str, str], mirror, **popen: object
) -> subprocess.Popen:
    """minstall started with ``args``, once pip (not the bench before it) has sent ``mirror``
    a request."""
    import time

    child = started(args, env, **popen)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(
        r.user_agent.startswith("pip/") for r in mirror.requests
    ):
        time.sleep(0.05)
    return child


def farm_env(farm, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment that points minstall at a farm: its catalog alone, a private cache, a
    fixed network id (so cached rankings are found again), plus ``extra``."""
    return {
        "MINSTALL_CATALOG": str(farm.write_catalog(tmp_path / "farm.toml")),
        "MINSTALL_CACHE_DIR": str(tmp_path / "cache"),
        "MINSTALL_NETWORK_ID": "test",
        **extra,
    }


def test_version_from_script_and_module() -> None:
    assert minstall("--version").stdout.strip() == f"minstall, version {__version__}"
    mod = subprocess.run(
        [sys.executable, "-m", "mirrorinstall", "--version"], capture_output=True, text=True
    )
    assert mod.returncode == 0 and __version__ in mod.stdout


def test_the_console_script_runs_the_code_in_this_checkout() -> None:
    """The README's test command installs editable, so the script the CLI tests run imports
    this checkout, not a copy made at install time."""
    proc = subprocess.run(
        [sys.executable, "-c", "import mirrorinstall; print(mirrorinstall.__file__)"],
        capture_output=True,
        text=True,
        cwd="/",
    )
    assert Path(proc.stdout.strip()).resolve().is_relative_to(ROOT / "mirrorinstall"), proc.stdout
    shebang = SCRIPT.read_text().splitlines()[0]
    assert Path(shebang[2:]).parent == Path(sys.executable).parent, shebang


def test_help_imports_no_heavy_modules() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mirrorinstall", "--help"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and "mirrors" in proc.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    heavy = {name for name in imported if name.split(".")[0] in ("httpx", "tqdm", "httpcore")}
    assert not heavy, heavy


def test_mirrors_json_lists_the_packaged_catalog() -> None:
    proc = minstall("mirrors", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["schema"] == 1 and len(data["mirrors"]) >= 15
    for m in data["mirrors"]:
        assert m["sources"] and m["kinds"] and m["region"]
    tuna = next(m for m in data["mirrors"] if m["id"] == "tuna")
    assert tuna["pypi"]["simple"] == "https://pypi.tuna.tsinghua.edu.cn/simple"
    assert tuna["conda"]["conda-forge"]["url"].endswith("/anaconda/cloud/conda-forge")
    assert data["channels"]["pytorch"]["frozen_after"] == "2.5"


def test_mirrors_table_on_stdout_summary_on_stderr() -> None:
    proc = minstall("mirrors")
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[0].split() == [
        "ID",
        "REGION",
        "CONDA",
        "PYPI",
        "PYTORCH",
        "NAME",
    ]
    assert any(
        line.startswith("aliyun ") and "find-links" in line for line in proc.stdout.splitlines()
    )
    assert "mirrors (" in proc.stderr


def test_broken_user_catalog_is_a_one_line_error(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "mirrors.toml").write_text(
        "schema = 1\n[mirror.tuna.pypi]\nsimpel = 'https://x.example/simple'\n"
    )
    proc = minstall("mirrors", env={"MINSTALL_CONFIG_DIR": str(cfg)})
    assert proc.returncode == 78
    lines = proc.stderr.splitlines()
    assert lines[0] == (
        f"minstall: error: {cfg / 'mirrors.toml'}: mirror 'tuna', key "
        "'pypi.simpel': unknown key (expected one of: note, simple, source)"
    )
    assert lines[1].startswith("hint: ") and "Traceback" not in proc.stderr
    debug = minstall("--debug", "mirrors", env={"MINSTALL_CONFIG_DIR": str(cfg)})
    assert debug.returncode == 78 and "Traceback" in debug.stderr


def test_user_catalog_path_and_merge(tmp_path: Path) -> None:
    env = {"MINSTALL_CONFIG_DIR": str(tmp_path)}
    assert minstall("mirrors", "--path", env=env).stdout.strip() == str(tmp_path / "mirrors.toml")
    xdg = minstall("mirrors", "--path", env={"XDG_CONFIG_HOME": str(tmp_path / "x")})
    assert xdg.stdout.strip() == str(tmp_path / "x" / "minstall" / "mirrors.toml")
    (tmp_path / "mirrors.toml").write_text(
        "schema = 1\n[mirror.tuna]\nenabled = false\n"
        "[mirror.lab]\nname = 'Lab proxy'\nregion = 'lab'\n"
        "[mirror.lab.pypi]\nsimple = 'https://pypi.lab.example/simple'\n"
    )
    data = json.loads(minstall("mirrors", "--json", env=env).stdout)
    by_id = {m["id"]: m for m in data["mirrors"]}
    assert not by_id["tuna"]["enabled"] and by_id["lab"]["pypi"]["simple"].startswith("https://")
    assert by_id["lab"]["origins"] == [str(tmp_path / "mirrors.toml")]


def test_catalog_option_and_env_use_only_that_file(make_farm, tmp_path: Path) -> None:
    farm = make_farm(MirrorSpec("fast"), MirrorSpec("slow", latency_s=0.1, pypi=False))
    path = farm.write_catalog(tmp_path / "farm.toml")
    for args, env in (((f"--catalog={path}",), {}), ((), {"MINSTALL_CATALOG": str(path)})):
        data = json.loads(minstall(*args, "mirrors", "--json", env=env).stdout)
        assert [m["id"] for m in data["mirrors"]] == ["fast", "slow"]
        assert data["mirrors"][1]["pypi"] is None


def test_usage_errors_exit_64() -> None:
    proc = minstall("mirrors", "--no-such-option")
    assert proc.returncode == 64 and "No such option" in proc.stderr
    # an unknown word is a package to install (minstall PKG...); an unknown option is an error
    assert minstall("--no-such-option").returncode == 64


def test_missing_catalog_file_exits_78(tmp_path: Path) -> None:
    proc = minstall("--catalog", str(tmp_path / "gone.toml"), "mirrors")
    assert proc.returncode == 78 and "file not found" in proc.stderr


@pytest.mark.timeout(180)
def test_wheel_ships_the_catalog_and_the_console_script(tmp_path: Path) -> None:
    """The built wheel holds mirrors.toml (identical to the repository's) and `minstall`."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-cache-dir",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wheel = next(tmp_path.glob("mirrorinstall-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read("mirrorinstall/mirrors.toml") == (ROOT / "mirrors.toml").read_bytes()
        for table in ("cuda_drivers.toml", "pytorch.toml", "tensorflow.toml"):
            assert (
                zf.read(f"mirrorinstall/data/{table}")
                == (ROOT / "mirrorinstall" / "data" / table).read_bytes()
            )
        entry = next(n for n in zf.namelist() if n.endswith("entry_points.txt"))
        assert "minstall = mirrorinstall.cli:main" in zf.read(entry).decode()


@pytest.mark.parametrize(
    ("args", "message", "command"),
    [
        (
            ["verify", "foo"],
            "Invalid value for '[torch|pytorch|tensorflow|tensorflow-gpu|jax|paddle|paddlepaddle|"
            "onnxruntime]': 'foo' is not one of",
            "verify",
        ),
        (["bench", "--kind", "foo"], "Invalid value for '--kind': 'foo' is not one of", "bench"),
        (["--nope"], "No such option '--nope'", ""),
        (["rewrite"], "Missing argument 'COMMAND...'", "rewrite"),
    ],
)
def test_usage_errors_use_minstalls_error_format(args, message, command) -> None:
    proc = minstall(*args)
    assert proc.returncode == 64
    lines = proc.stderr.splitlines()
    assert lines[0].startswith(f"minstall: error: {message}"), proc.stderr
    assert (
        lines[1]
        == f"hint: Run '{' '.join(['minstall', command]).strip()} --help' for what it takes."
    )
    assert "Usage:" not in proc.stderr  # click's own format is not used
