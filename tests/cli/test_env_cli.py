"""`minstall env` end to end: the lines it prints, evaluated by a real bash, send a real pip
and uv to the fastest farm mirror; `--shell github` appends to $GITHUB_ENV."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from farm import MirrorSpec

from .test_cli import farm_env as env_for
from .test_cli import minstall, pip_target


def _farm(make_farm, tmp_path: Path):
    farm = make_farm(
        MirrorSpec("slow", latency_s=0.2, bandwidth_bps=1e6),
        MirrorSpec("fast", latency_s=0.005, bandwidth_bps=16e6),
    )
    python, pip_env = pip_target(tmp_path)
    return farm, env_for(farm, tmp_path, **pip_env), python


def test_eval_of_its_output_sends_pip_and_uv_to_the_fastest_mirror(make_farm, tmp_path) -> None:
    farm, env, python = _farm(make_farm, tmp_path)
    proc = minstall("env", "--shell", "bash", env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"export PIP_INDEX_URL={farm['fast'].simple_url}" in proc.stdout
    assert f"export CONDA_DEFAULT_CHANNELS={farm['fast'].channel_url('main')}," in proc.stdout
    for m in farm:
        m.reset_log()
    shell_env = {k: v for k, v in {**os.environ, **env}.items() if k != "PIP_FIND_LINKS"}
    script = (
        proc.stdout
        + f'pip download --no-deps six -d "{tmp_path / "dl"}" -q\n'
        + f'uv pip install --python "{python}" six -q\n'
    )
    done = subprocess.run(["bash", "-c", script], env=shell_env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "dl" / "six-1.16.0-py2.py3-none-any.whl").is_file()
    fast = [r.user_agent.split("/")[0] for r in farm["fast"].requests if r.path.endswith(".whl")]
    assert {"pip", "uv"} <= set(fast), fast
    assert not farm["slow"].requests


def test_github_appends_to_github_env(make_farm, tmp_path) -> None:
    farm, env, _ = _farm(make_farm, tmp_path)
    target = tmp_path / "github_env"
    target.write_text("EARLIER=1\n")
    proc = minstall("env", "--shell", "github", env={**env, "GITHUB_ENV": str(target)})
    assert proc.returncode == 0, proc.stderr
    lines = target.read_text().splitlines()
    assert lines[0] == "EARLIER=1"  # appended, nothing lost
    assert f"PIP_INDEX_URL={farm['fast'].simple_url}" in lines
    assert f"UV_DEFAULT_INDEX={farm['fast'].simple_url}" in lines
    missing = minstall("env", "--shell", "github", env=env)
    assert missing.returncode == 64 and "GITHUB_ENV" in missing.stderr


def test_the_real_conda_reads_the_conda_variables(make_farm, conda_python, tmp_path) -> None:
    """conda 26.7.1 (../shared/tools/conda) under the printed variables: its defaults and its
    channel alias are the fastest mirror's, and `conda create` from conda-forge by name reaches
    that mirror only."""
    from realconda import make_home

    farm, env, _ = _farm(make_farm, tmp_path)
    conda = make_home(conda_python, tmp_path / "conda", None, ("defaults",))
    proc = minstall("env", "--shell", "bash", env=env)
    assert proc.returncode == 0, proc.stderr
    exported = dict(
        line.removeprefix("export ").split("=", 1)
        for line in proc.stdout.splitlines()
        if line.startswith("export ")
    )
    shown = conda.run(
        "config", "--show", "default_channels", "channel_alias", "--json", env=exported
    )
    assert shown.returncode == 0, shown.stderr
    config = json.loads(shown.stdout)

    def url(channel) -> str:  # conda's JSON shows a channel as its parts
        if isinstance(channel, str):
            return channel.rstrip("/")
        return f"{channel['scheme']}://{channel['location']}/{channel['name']}".rstrip("/")

    assert [url(c) for c in config["default_channels"]] == [
        farm["fast"].channel_url("main").rstrip("/"),
        farm["fast"].channel_url("r").rstrip("/"),
    ]
    assert url(config["channel_alias"]) == farm["fast"].url + "/conda"
    for m in farm:
        m.reset_log()
    created = conda.run(
        "create", "-p", str(conda.prefix("viaenv")), "-c", "conda-forge", "pkga", "-y",
        env=exported,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr[-2000:]
    assert any(r.path.startswith("/conda/conda-forge/") for r in farm["fast"].requests)
    assert not farm["slow"].requests


def test_github_env_without_a_final_line_break_keeps_both_lines(make_farm, tmp_path) -> None:
    """Issue 21: an earlier step's `printf 'A=1' >> $GITHUB_ENV` left no line break; our first
    line was glued to it (A=1PIP_INDEX_URL=...), changing A and losing ours."""
    farm, env, _ = _farm(make_farm, tmp_path)
    target = tmp_path / "github_env"
    target.write_bytes(b"EARLIER=1")
    proc = minstall("env", "--shell", "github", env={**env, "GITHUB_ENV": str(target)})
    assert proc.returncode == 0, proc.stderr
    lines = target.read_text().splitlines()
    assert lines[0] == "EARLIER=1"
    assert f"PIP_INDEX_URL={farm['fast'].simple_url}" in lines


def test_github_env_that_is_a_fifo_is_refused_not_waited_on(make_farm, tmp_path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    _f, env, _ = _farm(make_farm, tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    proc = minstall("env", "--shell", "github", env={**env, "GITHUB_ENV": str(fifo)})
    assert proc.returncode != 0 and "not a regular file" in proc.stderr, proc.stderr
