"""The forms people use and the words around them (issue 19, first part): minstall's options
typed after the tool's arguments, a mistyped mirror id, `verify pytorch`, a short driver
version, and `minstall env` where the official hosts are the fastest."""

from __future__ import annotations

import pytest
from farm import MirrorSpec

from .test_cli import farm_env as env_for
from .test_cli import minstall


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (
            ["conda", "install", "pytorch", "--cuda", "auto", "-c", "pytorch"],
            "minstall conda --cuda auto install pytorch -c pytorch",
        ),
        (
            ["pip", "install", "torch", "--mirror=tuna", "--no-fetch"],
            "minstall pip --mirror=tuna --no-fetch install torch",
        ),
        (
            ["rewrite", "--", "uv", "pip", "install", "torch", "--cuda", "cu121"],
            "minstall rewrite --cuda cu121 -- uv pip install torch",
        ),
    ],
)
def test_minstalls_options_after_the_tools_words_are_an_error_with_the_right_command(
    argv, hint
) -> None:
    """Before: `--cuda auto` went to conda ("unrecognized arguments: --cuda")."""
    proc = minstall(*argv)
    assert proc.returncode == 64, proc.stderr
    assert "is minstall's option" in proc.stderr
    assert f"hint: Put minstall's options before the command: {hint}" in proc.stderr


def test_a_mistyped_mirror_id_gets_the_one_it_resembles(make_farm, tmp_path) -> None:
    env = env_for(make_farm(MirrorSpec("tuna")), tmp_path)
    for argv in (["rewrite", "--mirror", "tnua", "--", "pip", "install", "six"],
                 ["bench", "--mirror", "tnua"]):  # fmt: skip
        proc = minstall(*argv, env=env)
        assert proc.returncode == 64 and "(did you mean tuna?)" in proc.stderr, proc.stderr


def test_verify_pytorch_is_verify_torch(tmp_path) -> None:
    python = tmp_path / "no-python"
    as_torch = minstall("verify", "torch", "--python", str(python), "--json")
    as_pytorch = minstall("verify", "pytorch", "--python", str(python), "--json")
    assert as_pytorch.returncode == as_torch.returncode
    assert "invalid choice" not in as_pytorch.stderr
    assert as_pytorch.stdout == as_torch.stdout


def test_a_short_driver_version_plans_for_it_and_a_wrong_one_is_exit_78(make_farm, tmp_path):
    env = env_for(make_farm(MirrorSpec("a")), tmp_path)
    line = ["rewrite", "--mirror", "a", "--cuda", "auto", "--", "pip", "install", "torch"]
    ok = minstall(*line, env={**env, "MINSTALL_CUDA_DRIVER": "535"})
    assert ok.returncode == 0, ok.stderr
    assert "/whl/cpu" not in ok.stdout and "cu1" in ok.stdout  # a CUDA build, not the CPU one
    bad = minstall(*line, env={**env, "MINSTALL_CUDA_DRIVER": "latest"})
    assert bad.returncode == 78 and "not a driver version such as 535" in bad.stderr


def test_env_says_so_and_succeeds_where_the_official_hosts_are_fastest(make_farm, tmp_path):
    """Before: exit 69, "no measured mirror carries PyPI", in a CI step that only wanted the
    fastest source."""
    farm = make_farm(
        MirrorSpec("official", latency_s=0.005, bandwidth_bps=16e6, upstream=True),
        MirrorSpec("slow", latency_s=0.3, bandwidth_bps=5e5),
    )
    env = env_for(farm, tmp_path)
    proc = minstall("env", "--shell", "bash", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "# minstall: the official hosts are the fastest here; nothing to set\n"


def test_done_in_is_the_whole_commands_time_with_the_installers_beside_it(
    make_farm, tmp_path
) -> None:
    """Before: "done in" gave pip's own seconds, not the bench, resolve and download before."""
    import re
    import time

    from .test_cli import pip_target

    python, pip_env = pip_target(tmp_path)
    env = env_for(make_farm(MirrorSpec("a", latency_s=0.05)), tmp_path, **pip_env)
    started = time.monotonic()
    proc = minstall("pip", "--python", python, "install", "six", env=env)
    took = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    found = re.search(r"done in ([\d.]+) s \(pip ([\d.]+) s\) through a", proc.stderr)
    assert found, proc.stderr
    whole, pip = float(found[1]), float(found[2])
    assert pip < whole <= took  # the bench ran first: the whole command took longer than pip


def test_a_rewritten_requirements_copy_still_finds_the_files_it_includes(make_farm, tmp_path):
    """Before: the copy in minstall's cache said `-r base.txt`, which pip looked for beside
    the copy: "Could not open requirements file". Run from another folder, with the real pip."""
    import os
    import subprocess

    from .test_cli import SCRIPT, pip_target

    python, pip_env = pip_target(tmp_path)
    farm = make_farm(MirrorSpec("first", latency_s=0.005))
    env = env_for(farm, tmp_path, **pip_env)
    project = tmp_path / "my project"
    project.mkdir()
    (project / "base.txt").write_text("six==1.16.0\n")
    (project / "requirements.txt").write_text(
        "--index-url https://pypi.org/simple\n-r base.txt\n-c constraints.txt\n"
    )
    (project / "constraints.txt").write_text("six<2\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run(
        [str(SCRIPT), "pip", "--mirror", "first", "--python", python, "install", "-r",
         str(project / "requirements.txt")],
        cwd=elsewhere, capture_output=True, text=True, env={**os.environ, **env}, timeout=90,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Successfully installed six-1.16.0" in proc.stdout
    assert any(r.path.endswith("six-1.16.0-py2.py3-none-any.whl") for r in farm["first"].requests)
