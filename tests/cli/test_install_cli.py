"""The executor end to end: real pip and uv installing from the farm, fallback, exit codes,
heartbeats, Ctrl-C, JSON events, and conda through a stand-in that replays real transcripts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from farm import Fault, MirrorSpec
from farm.content import shared_dir

from .test_cli import farm_env as env_for
from .test_cli import interrupted, minstall, pip_target, started_until_pip_asks

STANDINS = Path(__file__).resolve().parents[1] / "standins"  # mamba only: conda runs for real


@pytest.fixture
def farm_env(make_farm, tmp_path: Path):
    farm = make_farm(
        MirrorSpec("first", latency_s=0.005, bandwidth_bps=16e6),
        MirrorSpec("second", latency_s=0.05, bandwidth_bps=4e6),
        MirrorSpec("third", latency_s=0.15, bandwidth_bps=1e6),
    )
    python, pip_env = pip_target(tmp_path)
    env = env_for(
        farm,
        tmp_path,
        **pip_env,
        PIP_RETRIES="0",  # no backoff waits against the farm
        PIP_TIMEOUT="2",
        PIP_RESUME_RETRIES="0",
        UV_HTTP_RETRIES="0",
    )
    return farm, env, python


def pip_install(env, python, *args, opts=()):
    return minstall("pip", *opts, "--python", python, "install", *args, env=env)


def test_pip_installs_through_a_dead_first_mirror_with_the_fallback_explained(farm_env) -> None:
    farm, env, python = farm_env
    assert minstall("bench", env=env).returncode == 0  # ranked before the fault
    farm["first"].set_faults(Fault("forbidden403", user_agent=r"^pip/"))
    proc = pip_install(env, python, "alpha")
    assert proc.returncode == 0, proc.stderr
    assert "Successfully installed alpha-1.1 beta-1.0 idna-3.7 six-1.16.0" in proc.stdout
    assert "minstall: attempt 1/3: pypi: mirror first, rank 1 of 3 for pypi" in proc.stderr
    assert (
        "minstall: mirror first (pypi) failed: the mirror answered 403 Forbidden (a WAF or "
        "anti-abuse block); next: pypi: mirror second, rank 2 of 3 for pypi"
    ) in proc.stderr
    assert "minstall: done in" in proc.stderr and "through second" in proc.stderr
    assert any(q.path.endswith("alpha-1.1-py3-none-any.whl") for q in farm["second"].requests)


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault("html200", path="/pypi/simple/*"), "a page with no files"),
        (Fault("out-of-sync", path="*/alpha-1.1-*.whl"), "out of sync"),
        (Fault("corrupt", path="*/alpha-*.whl"), "did not match its hash"),
        (Fault("truncate", path="/pypi/simple/*"), "closed or stalled a download"),
        (Fault("error500", path="/pypi/simple/*"), "server errors"),
        (Fault("refuse"), "refused the connection"),
        (Fault("hang", hold_s=20), "did not answer in time"),
        (Fault("stall", path="*/alpha-*.whl", hold_s=20), "closed or stalled a download"),
    ],
    ids=["portal", "out-of-sync", "corrupt", "truncate", "5xx", "refuse", "hang", "stall"],
)
def test_pip_falls_back_after_each_fault_mode(farm_env, fault, reason) -> None:
    farm, env, python = farm_env
    assert minstall("bench", env=env).returncode == 0  # ranked before the fault
    farm["first"].set_faults(fault)
    # pip downloading by itself: minstall reads its failure (tests/cli/test_fetch_install.py
    # has the same faults with minstall downloading)
    proc = pip_install(env, python, "alpha", opts=("--json", "--no-fetch"))
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]  # stdout: events only
    kinds = [e["event"] for e in events]
    assert kinds[0] == "plan" and "fallback" in kinds and kinds[-1] == "result", events[-1]
    fallback = next(e for e in events if e["event"] == "fallback")
    assert fallback["mirror"] == "first" and reason in fallback["reason"]
    assert events[-1]["exit_code"] == 0 and events[-1]["mirror"] == "second"


def test_a_missing_project_fails_at_once_with_pips_exit_code(farm_env) -> None:
    _farm, env, python = farm_env
    proc = pip_install(env, python, "nosuchpkg")
    assert proc.returncode == 1
    assert "No matching distribution found for nosuchpkg" in proc.stdout + proc.stderr
    assert "the project is not on the index (404)" in proc.stderr
    assert "attempt 2/" not in proc.stderr


def test_uv_installs_and_passes_its_exit_code_through(farm_env) -> None:
    farm, env, python = farm_env
    assert minstall("bench", env=env).returncode == 0  # ranked before the fault
    farm["first"].set_faults(Fault("forbidden403", user_agent=r"^uv/"))
    ok = minstall("uv", "--no-fetch", "pip", "install", "--python", python, "alpha", env=env)
    assert ok.returncode == 0, ok.stderr
    assert "returned a 403 Forbidden" in ok.stderr  # uv's own words, on its own stream
    assert (
        "the index answered 403 Forbidden" in ok.stderr and "next: pypi: mirror second" in ok.stderr
    )
    farm["first"].set_faults(Fault("refuse"))
    dead = minstall(
        "uv",
        "--mirror",
        "first",
        "pip",
        "install",
        "--python",
        python,
        "certifi",  # not installed yet
        env={**env, "UV_HTTP_TIMEOUT": "2"},
    )
    assert dead.returncode == 2  # uv's own exit code for a transport failure
    assert "no mirror left to try" in dead.stderr


def test_github_actions_folds_the_childs_output(farm_env) -> None:
    _, env, python = farm_env
    proc = pip_install(env, python, "six", opts=("--mirror", "first"))
    assert "::group::" not in proc.stdout
    gha = pip_install({**env, "GITHUB_ACTIONS": "true"}, python, "idna", opts=("--mirror", "first"))
    lines = gha.stdout.splitlines()
    assert lines[0].startswith("::group::minstall: pip --python") and lines[-1] == "::endgroup::"


def test_heartbeat_when_the_child_is_silent(farm_env) -> None:
    farm, env, python = farm_env
    farm["first"].set_speed(latency_s=1.5)
    # --no-fetch: pip itself waits on the slow mirror (with minstall's fetch, pip installs
    # from local files in half a second, and whether it is ever silent for 0.5 s is luck)
    opts = ("--mirror", "first", "--heartbeat-s", "0.5", "--no-fetch")
    proc = pip_install(env, python, "six", opts=opts)
    assert proc.returncode == 0, proc.stderr
    assert "minstall: pip still running after" in proc.stderr
    assert "without output" in proc.stderr


def test_ctrl_c_goes_to_the_child_and_exits_130(farm_env) -> None:
    farm, env, python = farm_env
    farm["first"].set_faults(Fault("hang", hold_s=30))
    code, err = interrupted(
        ["pip", "--mirror", "first", "--python", python, "install", "six"], env, after_s=2.0
    )
    assert code == 130, err
    assert "interrupted" in err


@pytest.mark.parametrize(("signame", "code"), [("SIGTERM", 143), ("SIGHUP", 129)])
def test_sigterm_and_sighup_stop_the_child_clean_up_and_exit_128_plus_n(
    farm_env, tmp_path, signame, code
) -> None:
    """Before: minstall died at once (exit -15), the pip child went on downloading for 83 s
    and minstall's temporary directory stayed."""
    import signal

    if not hasattr(signal, signame):
        pytest.skip(f"no {signame} here (Windows has none)")
    farm, env, python = farm_env
    farm["first"].set_faults(Fault("hang", hold_s=30))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    child = started_until_pip_asks(
        ["pip", "--mirror", "first", "--python", python, "install", "six"],
        {**env, "TMPDIR": str(tmp)},
        farm["first"],
    )
    child.send_signal(getattr(signal, signame))
    _, err = child.communicate(timeout=60)
    assert child.returncode == code, err
    assert f"stopped by {signame}" in err or "interrupted" in err
    left = subprocess.run(["pgrep", "-f", python], capture_output=True, text=True).stdout
    assert not left.strip(), f"a child still runs: {left}"
    # minstall's own temporary files; what pip leaves when a signal ends it is pip's
    assert not list(tmp.glob("minstall-*")), list(tmp.iterdir())


def test_dry_run_prints_the_plan_and_runs_nothing(farm_env) -> None:
    farm, env, python = farm_env
    proc = minstall(
        "pytorch",
        "torchvision",
        "--cuda",
        "auto",
        "--dry-run",
        "--python",
        python,
        env={**env, "MINSTALL_CUDA_DRIVER": "535.104.05"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "minstall: attempt 1/3: pypi: mirror first" in proc.stderr
    # the farm has torch 2.4.1/2.5.1 only: every newer build is ruled out, each with its
    # reason, and the newest release the mirror has for this driver is taken, not a CPU build
    assert "pytorch -> torch" in proc.stderr
    assert "cu126: mirror first lists no torch 2.13.0+cu126 wheel" in proc.stderr
    assert "torch -> torch==2.5.1+cu124" in proc.stderr and "dry run" in proc.stderr
    assert "+cpu" not in proc.stderr
    pinned = minstall(
        "pytorch==2.5.1",
        "torchvision",
        "--cuda",
        "auto",
        "--dry-run",
        "--python",
        python,
        env={**env, "MINSTALL_CUDA_DRIVER": "535.104.05"},
    )
    command = next(
        line for line in pinned.stderr.splitlines() if line.startswith("minstall: command: ")
    )
    assert "torch==2.5.1+cu124 torchvision==0.20.1+cu124" in command
    assert f"--extra-index-url {farm['first'].url}/whl/cu124" in command
    assert not any(q.user_agent.startswith(("pip/", "uv/")) for q in farm["first"].requests)


def test_mamba_through_a_stand_in_replaying_real_transcripts(farm_env, tmp_path) -> None:
    """mamba cannot be installed here (conda runs for real in test_conda_real.py): the
    stand-in checks its argv and replays the real channel-404 transcript for the first
    mirror, then the real install-ok one; MAMBA_EXE is how minstall finds it."""
    farm, env, _ = farm_env
    log = tmp_path / "mamba-calls.jsonl"
    mamba = tmp_path / "bin" / "mamba"
    mamba.parent.mkdir()
    mamba.symlink_to(STANDINS / "mamba")
    mamba_env = {
        **env,
        "MAMBA_EXE": str(mamba),
        "STANDIN_CONDA_LOG": str(log),
        "STANDIN_CONDA_RECORDED": str(shared_dir() / "recorded" / "conda"),
        "STANDIN_CONDA_FAIL_ON": farm["first"].url,
        "STANDIN_CONDA_FAIL_CASE": "channel-404",
    }
    assert minstall("bench", "--kind", "conda", env=env).returncode == 0
    proc = minstall(
        "install", "--engine", "mamba", "-n", "ml", "pkga", "-c", "conda-forge", env=mamba_env
    )
    assert proc.returncode == 0, proc.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(calls) == 2
    assert calls[0][:4] == ["install", "-y", "-n", "ml"]  # CI=true answers the prompt
    assert farm["first"].channel_url("conda-forge") in calls[0]
    assert farm["second"].channel_url("conda-forge") in calls[1]
    assert "does not carry" in proc.stderr
    assert "Executing transaction: ...working... done" in proc.stdout


def test_every_mirror_dead_is_a_clear_error_not_a_run(make_farm, tmp_path) -> None:
    farm = make_farm(
        MirrorSpec("a", faults=[Fault("refuse")]), MirrorSpec("b", faults=[Fault("html200")])
    )
    proc = minstall("pip", "install", "six", env=env_for(farm, tmp_path))
    assert proc.returncode == 69 and "Traceback" not in proc.stderr
    assert "minstall: error: no mirror can serve pypi right now:" in proc.stderr
    assert "  a pypi: connection refused" in proc.stderr
    assert '  b pypi: served an HTML page ("Wi-Fi login")' in proc.stderr


def test_pip_download_and_uv_pip_compile_go_through_the_mirror(farm_env, tmp_path) -> None:
    """Forms people type (issue 19): pip download and uv pip compile, run by the real tools,
    fetch from the ranked mirror, never refused."""
    farm, env, _ = farm_env
    dest = tmp_path / "wheels"
    proc = minstall("pip", "--mirror", "second", "download", "six", "-d", str(dest), env=env)
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in dest.iterdir()] == ["six-1.16.0-py2.py3-none-any.whl"]
    assert any(q.path.endswith("six-1.16.0-py2.py3-none-any.whl") for q in farm["second"].requests)
    reqs = tmp_path / "requirements.in"
    reqs.write_text("alpha\n")
    out = tmp_path / "requirements.txt"
    compiled = minstall(
        "uv", "--mirror", "second", "pip", "compile", str(reqs), "-o", str(out), env=env
    )
    assert compiled.returncode == 0, compiled.stderr
    assert "alpha==1.1" in out.read_text() and "six==1.16.0" in out.read_text()
    assert reqs.read_text() == "alpha\n"


def test_the_readmes_first_command_shows_the_main_job(make_farm, tmp_path) -> None:
    """README, Quickstart: the first command ends with a dry run of the main job. Against a
    farm where one mirror is unreachable, it plans (bench, detection, the exact command) and
    says what it could not measure (issue 19)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    first = readme.split("## Quickstart", 1)[1].split("```", 2)[1].strip().splitlines()[1]
    tail = first.split(".venv/bin/minstall ", 1)[1].split()
    assert tail == ["pytorch", "torchvision", "--cuda", "auto", "--dry-run"]
    farm = make_farm(
        MirrorSpec("first", latency_s=0.005, pytorch="index"),
        MirrorSpec("dead", latency_s=0.005),
    )
    farm["dead"].set_faults(Fault("refuse"))
    python, pip_env = pip_target(tmp_path)
    env = env_for(farm, tmp_path, **pip_env, MINSTALL_CUDA_DRIVER="535.104.05")
    proc = minstall(*tail, "--python", python, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "could not measure every mirror" in proc.stderr and "dead" in proc.stderr
    assert "pytorch -> torch" in proc.stderr and "dry run" in proc.stderr
    assert "torch==2.5.1+cu124" in proc.stderr  # the farm's newest torch in cu124, driver 535
