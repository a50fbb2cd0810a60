"""`minstall fetch` end to end: real pip resolves against the farm, the files come in ranges
from every healthy mirror, verified, into the store and --dest; real pip installs them with no
index; a second fetch downloads nothing."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from farm import Fault

from .test_cli import SCRIPT, minstall
from .test_install_cli import farm_env  # noqa: F401  (a fixture)


def _gets(farm, suffix: str) -> int:
    return sum(1 for m in farm for r in m.requests if r.method == "GET" and r.path.endswith(suffix))


def test_fetch_then_install_with_no_index_and_a_second_fetch_downloads_nothing(
    farm_env,  # noqa: F811
    tmp_path: Path,
) -> None:
    farm, env, python = farm_env
    dest = tmp_path / "wheels"
    proc = minstall("fetch", "--dest", str(dest), "--", "pip", "install", "alpha", env=env)
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in dest.iterdir())
    assert [n.split("-")[0] for n in names] == ["alpha", "beta", "idna", "six"], names
    assert "4 files (0 already in the store)" in proc.stderr
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--no-index", "--no-deps"]
        + [str(dest / n) for n in names],
        capture_output=True,
        text=True,
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
        timeout=120,
    )
    assert pip.returncode == 0, pip.stderr
    for m in farm:
        m.reset_log()
    again = minstall("fetch", "--json", "--", "pip", "install", "alpha", env=env)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert all(f["reused"] for f in report["files"]) and report["fetched_bytes"] == 0
    assert _gets(farm, ".whl") == 0


def test_a_big_file_comes_from_several_mirrors_and_a_corrupt_one_is_left_out(
    farm_env,  # noqa: F811
) -> None:
    farm, env, _ = farm_env
    farm["third"].set_faults(Fault("corrupt"))
    proc = minstall("fetch", "--json", "--", "pip", "install", "bigwheel", env=env)
    assert proc.returncode == 0, proc.stderr
    [wheel] = json.loads(proc.stdout)["files"]
    assert len(wheel["by_mirror"]) >= 2, wheel  # ranges from more than one mirror
    # third flips 64 bytes in the middle: whoever wrote that span, the stored file is right,
    # and third is left out only if it wrote it, as a corrupt copy
    body = Path(wheel["path"]).read_bytes()
    assert hashlib.sha256(body).hexdigest() == wheel["sha256"]
    assert "corrupt" in wheel["dropped"].get("third", "corrupt"), wheel


def test_cache_info_and_clean(farm_env) -> None:  # noqa: F811
    _farm, env, _ = farm_env
    assert minstall("fetch", "six", env=env).returncode == 0
    info = json.loads(minstall("cache", "info", "--json", env=env).stdout)
    assert info["files"] == 1 and info["bytes"] > 0
    assert minstall("cache", "clean", env=env).returncode == 0
    assert json.loads(minstall("cache", "info", "--json", env=env).stdout)["files"] == 0


def test_fetch_of_a_mamba_command_says_what_it_takes(farm_env) -> None:  # noqa: F811
    _farm, env, _ = farm_env
    proc = minstall("fetch", "--", "mamba", "install", "numpy", env=env)
    assert proc.returncode == 64
    assert "resolves pip, uv pip and conda install commands" in proc.stderr


def test_ctrl_c_leaves_nothing_half_written_in_the_store_and_a_rerun_resumes(
    farm_env,  # noqa: F811
    tmp_path: Path,
) -> None:
    farm, env, _ = farm_env
    assert minstall("bench", "--kind", "pypi", "--kind", "pytorch", env=env).returncode == 0
    for m in farm:
        m.set_speed(bandwidth_bps=50e3)  # slow enough to be interrupted mid-file
    store = Path(env["MINSTALL_CACHE_DIR"]) / "store"
    child = subprocess.Popen(
        [str(SCRIPT), "fetch", "--", "pip", "install", "bigwheel"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not list((store / "partial").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.1)  # Ctrl-C once some ranges are on disk, however slow the machine
    child.send_signal(signal.SIGINT)
    _out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert not list((store / "sha256").glob("*/*"))  # no whole file that is not whole
    assert list((store / "partial").glob("*.json"))  # the journal of what arrived
    for m in farm:
        m.set_speed(bandwidth_bps=16e6)
        m.reset_log()
    proc = minstall("fetch", "--json", "--", "pip", "install", "bigwheel", env=env)
    assert proc.returncode == 0, proc.stderr
    [wheel] = json.loads(proc.stdout)["files"]
    body = Path(wheel["path"]).read_bytes()
    assert hashlib.sha256(body).hexdigest() == wheel["sha256"]
    fetched = sum(r.bytes_sent for m in farm for r in m.requests if r.path.endswith(".whl"))
    assert fetched < len(body)  # what had arrived was not fetched again


def test_the_store_keeps_to_its_size_limit(farm_env) -> None:  # noqa: F811
    """MINSTALL_STORE_LIMIT_MB=1: after each fetch only that run's files stay (bigwheel
    alone is 4 MiB), after an install too; a limit that is not a number is a configuration
    error."""
    _farm, env, python = farm_env
    limited = {**env, "MINSTALL_STORE_LIMIT_MB": "1"}
    assert minstall("fetch", "--", "pip", "install", "six", env=limited).returncode == 0
    assert minstall("fetch", "--", "pip", "install", "bigwheel", env=limited).returncode == 0
    info = json.loads(minstall("cache", "info", "--json", env=env).stdout)
    assert info["files"] == 1 and info["bytes"] > 1024 * 1024  # bigwheel, this run's, stays
    # an install keeps to it too (the loopback path ignored the limit)
    got = minstall("pip", "--python", python, "install", "alpha", env=limited)
    assert got.returncode == 0, got.stderr
    info = json.loads(minstall("cache", "info", "--json", env=env).stdout)
    assert info["files"] == 4 and info["bytes"] < 1024 * 1024, info  # alpha's four, not bigwheel
    bad = minstall(
        "fetch", "--", "pip", "install", "six", env={**env, "MINSTALL_STORE_LIMIT_MB": "lots"}
    )
    assert bad.returncode == 78 and "MINSTALL_STORE_LIMIT_MB='lots'" in bad.stderr


def test_dest_naming_a_file_is_refused_before_anything_is_downloaded(
    farm_env,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Issue 21: --dest naming an existing file crashed (exit 70) after the download."""
    farm, env, _python = farm_env
    dest = tmp_path / "wheels"
    dest.write_text("mine")
    proc = minstall("fetch", "--dest", str(dest), "--", "pip", "install", "alpha", env=env)
    assert proc.returncode == 64, proc.stderr
    assert f"--dest {dest} is a file, not a folder" in proc.stderr
    assert dest.read_text() == "mine" and _gets(farm, ".whl") == 0


def test_dest_in_the_json_report_names_the_folder(farm_env, tmp_path: Path) -> None:  # noqa: F811
    """Issue 21: `fetch --dest DIR --json` reported "dest": null."""
    _farm, env, _python = farm_env
    dest = tmp_path / "new" / "wheels"
    proc = minstall("fetch", "--json", "--dest", str(dest), "--", "pip", "install", "six", env=env)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["dest"] == str(dest)
    assert [f["name"] for f in report["files"]] == [p.name for p in dest.iterdir()]


def test_a_file_name_at_the_length_limit_is_placed_and_a_folder_in_its_way_is_an_error(
    tmp_path: Path,
) -> None:
    """Issue 21: a 255-byte file name (the limit plain_name allows) crashed: the staging name
    beside it added ten characters (ENAMETOOLONG); a folder where the file goes did too."""
    from mirrorinstall.core.errors import UsageError
    from mirrorinstall.fetch.jobs import Job, plain_name
    from mirrorinstall.fetch.transfer import Outcome
    from mirrorinstall.run.fetching import place

    name = "a" * (255 - len("-1.0-py3-none-any.whl")) + "-1.0-py3-none-any.whl"
    assert plain_name(name) and not plain_name("é" * 128 + ".whl")  # 260 bytes of UTF-8
    stored = tmp_path / "stored"
    stored.write_bytes(b"wheel")
    dest = tmp_path / "dest"
    dest.mkdir()
    outcome = Outcome(Job(name, "0" * 64, 5, []), stored)
    assert place(outcome, dest).read_bytes() == b"wheel"
    assert [p.name for p in dest.iterdir()] == [name]
    blocked = tmp_path / "blocked"
    (blocked / name).mkdir(parents=True)
    try:
        place(outcome, blocked)
    except UsageError as exc:
        assert "cannot put" in exc.message and str(stored) in (exc.hint or "")
    else:
        raise AssertionError("a folder in the file's place was overwritten")
    assert [p.name for p in blocked.iterdir()] == [name]  # no staging file left behind
