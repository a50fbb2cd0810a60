"""minstall end to end under Windows' rules (tests/winsim.py, issue 24): Ctrl-C and
Ctrl-Break as a console delivers them (to every process on it), and everything minstall
prints going through the output guard even where click would write around it."""

from __future__ import annotations

import signal

import pytest
import winsim
from farm import Fault, MirrorSpec

from .test_cli import farm_env as env_for
from .test_cli import minstall, pip_target, started_until_pip_asks


@pytest.fixture
def farm_env(make_farm, tmp_path):
    farm = make_farm(MirrorSpec("first", latency_s=0.005, bandwidth_bps=16e6))
    python, pip_env = pip_target(tmp_path)
    env = env_for(farm, tmp_path, **pip_env, PIP_RETRIES="0", PIP_TIMEOUT="20")
    return farm, env, python


def _console_key(farm, env, python, tmp_path, signum: int) -> tuple[int, str]:
    """minstall running pip against a hanging mirror, in a process group of its own (a
    console); once pip waits on the mirror, ``signum`` goes to the whole group, as Windows'
    console sends Ctrl-C or Ctrl-Break to every process attached to it."""
    farm["first"].set_faults(Fault("hang", hold_s=30))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    child = started_until_pip_asks(
        ["pip", "--mirror", "first", "--python", python, "install", "six"],
        {**env, "TMPDIR": str(tmp)},
        farm["first"],
        start_new_session=True,
    )
    winsim.POSIX["killpg"](child.pid, signum)  # type: ignore[operator]
    _, err = child.communicate(timeout=60)
    assert not list(tmp.glob("minstall-*")), list(tmp.iterdir())
    return child.returncode, err


def test_ctrl_c_in_a_windows_console_waits_for_the_child_and_exits_130(
    windows_sim, farm_env, tmp_path
) -> None:
    """Before: minstall passed SIGINT on with Popen.send_signal, which Windows rejects:
    "internal error: ValueError: Unsupported signal: 2", exit 70."""
    farm, env, python = farm_env
    code, err = _console_key(farm, env, python, tmp_path, signal.SIGINT)
    assert code == 130, err
    assert "interrupted" in err and "internal error" not in err


def test_ctrl_break_in_a_windows_console_stops_minstall_with_130(
    windows_sim, farm_env, tmp_path
) -> None:
    farm, env, python = farm_env
    code, err = _console_key(farm, env, python, tmp_path, winsim.SIGBREAK)
    assert code == 130, err
    assert "interrupted" in err and "internal error" not in err


def test_secrets_stay_masked_where_click_would_write_around_the_guard(make_farm, tmp_path) -> None:
    """click.echo wraps the raw buffer itself when the stream's encoding is ASCII (and on a
    Windows console writes with WriteConsoleW): what it printed skipped the mask. Non-ASCII
    text in the output (a Chinese folder) is shown as '?', not a UnicodeEncodeError."""
    farm = make_farm(MirrorSpec("a"))
    env = env_for(farm, tmp_path, PYTHONIOENCODING="ascii")
    url = "http://alice:S3cretPW@127.0.0.1:9/simple"
    req = tmp_path / "用户" / "req.txt"
    req.parent.mkdir()
    req.write_text("six\n")
    proc = minstall(
        "rewrite", "--", "pip", "install", "-r", str(req), "--extra-index-url", url, env=env
    )
    assert "S3cretPW" not in proc.stdout + proc.stderr
    assert "alice:****@127.0.0.1:9" in proc.stdout, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
