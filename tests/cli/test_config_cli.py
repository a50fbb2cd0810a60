"""`minstall config apply|show|undo` end to end: real files in temporary homes, read back by the
real tools: pip (`pip config list`, a download), uv (an install), the real conda 26.7.1
(`conda config --show`, `conda create`), with the internet replaced by a recording proxy and
the official hosts' stand-in on the farm, so "zero requests to an official host" is counted.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from farm import MirrorSpec, RecordingProxy

from .test_cli import SCRIPT, minstall, pip_target
from .test_cli import farm_env as env_for

CONDA_QUIET = {  # what tests/realconda.py's condarc says, as variables: the home has no file
    "CONDA_SOLVER": "classic",
    "CONDA_AUTO_UPDATE_CONDA": "false",
    "CONDA_NOTIFY_OUTDATED_CONDA": "false",
    "CONDA_REPORT_ERRORS": "false",
}


def _farm(make_farm):
    return make_farm(
        MirrorSpec("official", latency_s=0.3, bandwidth_bps=5e5, upstream=True),  # far away
        MirrorSpec("slow", latency_s=0.2, bandwidth_bps=1e6),
        MirrorSpec("fast", latency_s=0.005, bandwidth_bps=16e6),
    )


def _fresh_home(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A home with no configuration at all, and the environment a real pip needs to read
    only that home's files: no system pip.conf (this machine has one), no find-links."""
    home = tmp_path / "home"
    (home / "xdg-dirs").mkdir(parents=True)
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),  # the suite sets one for every test
        "XDG_CONFIG_DIRS": str(home / "xdg-dirs"),
        "PIP_NO_CACHE_DIR": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "CI": "true",
    }
    return home, env


def _clean(env: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "CONDA"))}
    return {**base, **env}


def _pip(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pip", *args], capture_output=True, text=True, env=_clean(env)
    )


def test_apply_on_a_fresh_home_sends_plain_conda_and_pip_to_the_best_mirror_and_undo_restores(
    make_farm, conda_python, tmp_path
) -> None:
    """The issue's "done when": `config apply --conda --pip` on a fresh home, then plain pip
    and plain conda (no minstall in between) fetch from the fastest mirror only: the farm's
    official stand-in and the proxy standing for the internet see nothing; `undo` leaves the
    home as it was."""
    from realconda import make_home

    farm = _farm(make_farm)
    proxy = RecordingProxy()
    try:
        home, env = _fresh_home(tmp_path)
        conda = make_home(conda_python, home, None, ())
        conda_env = {k: v for k, v in conda.env.items() if k != "CONDARC"}
        env = env_for(farm, tmp_path, **{**env, **conda_env, **CONDA_QUIET, **proxy.env()})
        proc = minstall("config", "apply", "--conda", "--pip", env=env)
        assert proc.returncode == 0, proc.stderr
        condarc, pipconf = home / ".condarc", home / ".config" / "pip" / "pip.conf"
        assert f"+++ {condarc}" in proc.stdout and "--- /dev/null" in proc.stdout  # diff first
        assert condarc.is_file() and pipconf.is_file(), proc.stderr
        assert "minstall config undo --conda --pip" in proc.stderr

        listed = _pip("config", "list", env=env)
        assert listed.returncode == 0, listed.stderr
        assert f"global.index-url='{farm['fast'].simple_url}'" in listed.stdout.splitlines()

        shown = conda.run(
            "config", "--show", "channels", "default_channels", "custom_channels", "--json",
            env=env,
        )  # fmt: skip
        assert shown.returncode == 0, shown.stderr
        config = json.loads(shown.stdout)
        defaults = [
            f"{c['scheme']}://{c['location']}/{c['name']}" for c in config["default_channels"]
        ]
        assert defaults == [farm["fast"].channel_url(c).rstrip("/") for c in ("main", "r")]
        forge = config["custom_channels"]["conda-forge"]
        assert f"{forge['scheme']}://{forge['location']}" == f"{farm['fast'].url}/conda"

        for m in farm:
            m.reset_log()
        python, _ = pip_target(tmp_path)
        installed = _pip("--python", python, "install", "six", env=env)
        assert installed.returncode == 0, installed.stderr
        prefix = conda.prefix("plain")  # an existing environment: plain `conda install`
        created = conda.run(
            "install", "-p", str(prefix), "-c", "conda-forge", "-c", "defaults", "pkga", "zlib",
            "-y", env=env,
        )  # fmt: skip
        assert created.returncode == 0, created.stderr[-2000:]
        assert {"pkga-1.0-0", "zlib-1.2.13-h5eee18b_0"} <= conda.installed(prefix)
        paths = [r.path for r in farm["fast"].requests]
        assert any(p.endswith("six-1.16.0-py2.py3-none-any.whl") for p in paths), paths
        assert any(p.startswith("/conda/conda-forge/") for p in paths)
        assert any(p.startswith("/conda/main/") for p in paths)
        assert not farm["official"].requests and not farm["slow"].requests
        assert proxy.requests == []  # nothing went to a real official host either

        undone = minstall("config", "undo", env=env)
        assert undone.returncode == 0, undone.stderr
        assert f"--- {condarc}" in undone.stdout
        assert not condarc.exists() and not pipconf.exists()
    finally:
        proxy.close()


CONDARC = """\
# my conda settings: keep this comment
channels:       # the order matters to me
    - conda-forge
    - https://conda.anaconda.org/bioconda
    - defaults
ssl_verify: "/etc/ssl/corp.pem"   # the company proxy
custom_channels:
    private: https://conda.internal.example
envs_dirs: [/opt/envs, ~/envs]
"""

PIPCONF = """\
# pip settings for the lab
[global]
timeout = 60
index_url = OFFICIAL
extra-index-url =
    https://pypi.internal.example/simple
trusted-host = pypi.internal.example

[install]
; per-command section
no-warn-script-location = true
"""


def test_undo_restores_byte_for_byte_and_refuses_a_file_edited_since(make_farm, tmp_path) -> None:
    farm = _farm(make_farm)
    home, env = _fresh_home(tmp_path)
    env = env_for(farm, tmp_path, **env)
    condarc, pipconf = home / ".condarc", home / ".config" / "pip" / "pip.conf"
    pipconf.parent.mkdir(parents=True)
    condarc.write_text(CONDARC)
    official = PIPCONF.replace("OFFICIAL", farm["official"].simple_url)
    pipconf.write_bytes(official.replace("\n", "\r\n").encode())  # written on Windows
    condarc.chmod(0o600)
    originals = {condarc: condarc.read_bytes(), pipconf: pipconf.read_bytes()}

    dry = minstall("config", "apply", "--conda", "--pip", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "+  conda-forge: " in dry.stdout or "+    conda-forge: " in dry.stdout
    assert {p: p.read_bytes() for p in originals} == originals  # --dry-run wrote nothing

    proc = minstall("config", "apply", "--conda", "--pip", env=env)
    assert proc.returncode == 0, proc.stderr
    text = condarc.read_text()
    for kept in CONDARC.splitlines()[:5]:  # comments, indentation, the channels list
        assert kept in text.splitlines(), text
    assert "private: https://conda.internal.example" in text
    assert stat.S_IMODE(condarc.stat().st_mode) == 0o600  # permissions kept
    ini = pipconf.read_bytes().decode()
    assert f"index_url = {farm['fast'].simple_url}\r\n" in ini  # its spelling, its line ends
    assert "    https://pypi.internal.example/simple\r\n" in ini  # the company index stays
    backups = sorted(home.rglob("*.minstall-*.bak"))
    assert {b.read_bytes() for b in backups} == set(originals.values())

    with open(pipconf, "a") as f:
        f.write("# edited by hand after apply\n")
    refused = minstall("config", "undo", "--pip", env=env)
    assert refused.returncode == 78 and "edited after" in refused.stderr
    assert "--force" in refused.stderr
    assert pipconf.read_text().endswith("# edited by hand after apply\n")

    undone = minstall("config", "undo", "--conda", env=env)
    assert undone.returncode == 0, undone.stderr
    assert condarc.read_bytes() == originals[condarc]
    assert stat.S_IMODE(condarc.stat().st_mode) == 0o600
    forced = minstall("config", "undo", "--pip", "--force", env=env)
    assert forced.returncode == 0, forced.stderr
    assert pipconf.read_bytes() == originals[pipconf]
    again = minstall("config", "undo", env=env)
    assert again.returncode == 0 and "nothing to undo" in again.stderr


def test_a_file_changed_between_the_diff_and_the_write_is_not_overwritten(
    make_farm, tmp_path
) -> None:
    """A person reads the diff at the prompt; meanwhile another program writes the file.
    Answering yes must not overwrite that write."""
    import pty
    import select

    farm = _farm(make_farm)
    home, env = _fresh_home(tmp_path)
    env = env_for(farm, tmp_path, **env)
    assert minstall("bench", env=env).returncode == 0
    condarc = home / ".condarc"
    condarc.write_text("channels:\n  - conda-forge\n")
    master, slave = pty.openpty()
    child = subprocess.Popen(
        [str(SCRIPT), "config", "apply", "--conda"],
        stdin=slave, stdout=slave, stderr=slave, env={**_clean(env), "CI": ""}, close_fds=True,
    )  # fmt: skip
    os.close(slave)
    seen, answered = b"", False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                seen += os.read(master, 65536)
            except OSError:
                break
        if not answered and b"Write these changes?" in seen:
            condarc.write_text("channels:\n  - conda-forge\n  - bioconda\n")  # the other writer
            os.write(master, b"y\n")
            answered = True
    while True:  # the rest of what it printed
        ready, _, _ = select.select([master], [], [], 0.5)
        try:
            data = os.read(master, 65536) if ready else b""
        except OSError:
            data = b""
        if not data:
            break
        seen += data
    code = child.wait(timeout=30)
    os.close(master)
    text = seen.decode(errors="replace")
    assert answered, text
    assert code == 78, text
    assert "changed since minstall read it" in text
    assert condarc.read_text() == "channels:\n  - conda-forge\n  - bioconda\n"
    assert not list(home.glob("*.bak"))  # nothing backed up, nothing written


def test_uv_installs_from_the_mirror_the_written_uv_toml_names(make_farm, tmp_path) -> None:
    farm = _farm(make_farm)
    home, env = _fresh_home(tmp_path)
    python, _ = pip_target(tmp_path)
    env = env_for(farm, tmp_path, **{**env, "XDG_CONFIG_HOME": str(home / "xdg")})
    proc = minstall("config", "apply", "--uv", env=env)
    assert proc.returncode == 0, proc.stderr
    written = home / "xdg" / "uv" / "uv.toml"
    assert written.is_file(), proc.stderr
    for m in farm:
        m.reset_log()
    uv = Path(sys.executable).parent / "uv"
    done = subprocess.run(
        [str(uv), "pip", "install", "--python", python, "six", "--no-cache"],
        capture_output=True, text=True, env=_clean(env),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert any(r.path.endswith(".whl") for r in farm["fast"].requests)
    assert not farm["official"].requests and not farm["slow"].requests


def test_pixi_gets_a_mirrors_map(make_farm, tmp_path) -> None:
    """pixi is not installable here; its file is read back with tomllib and checked against
    pixi's documented [mirrors] form (official URL prefix -> list of mirror URLs)."""
    import tomllib

    farm = _farm(make_farm)
    home, env = _fresh_home(tmp_path)
    env = env_for(farm, tmp_path, **env, PIXI_HOME=str(home / "pixi"))
    (home / "pixi").mkdir()
    (home / "pixi" / "config.toml").write_text('# mine\ndefault-channels = ["conda-forge"]\n')
    proc = minstall("config", "apply", "--pixi", env=env)
    assert proc.returncode == 0, proc.stderr
    text = (home / "pixi" / "config.toml").read_text()
    assert text.startswith('# mine\ndefault-channels = ["conda-forge"]\n')
    mirrors = tomllib.loads(text)["mirrors"]
    official, fast = farm["official"], farm["fast"]
    assert mirrors[official.channel_url("conda-forge").rstrip("/")] == [
        fast.channel_url("conda-forge").rstrip("/")
    ]
    assert mirrors[official.simple_url.rstrip("/")] == [fast.simple_url.rstrip("/")]


def test_show_names_each_source_and_the_bench_verdict(make_farm, tmp_path) -> None:
    farm = _farm(make_farm)
    home, env = _fresh_home(tmp_path)
    env = env_for(farm, tmp_path, **env)
    pipconf = home / ".config" / "pip" / "pip.conf"
    pipconf.parent.mkdir(parents=True)
    pipconf.write_text(f"[global]\nindex-url = {farm['slow'].simple_url}\n")
    shown = minstall("config", "show", "--pip", "--json", env=env)
    assert shown.returncode == 1, shown.stderr  # something to fix
    doc = json.loads(shown.stdout)
    (row,) = [s for s in doc["settings"] if s["setting"] == "index-url"]
    assert row["source"] == str(pipconf) and row["effective"]
    assert row["verdict"] == "mirror slow: rank 2 of 3; fast is faster"
    assert doc["fixes"] == {"pip": "minstall config apply --pip"}

    env_var = minstall(
        "config",
        "show",
        "--pip",
        "--json",
        env={**env, "PIP_INDEX_URL": farm["official"].simple_url},
    )
    rows = json.loads(env_var.stdout)["settings"]
    winner = [s for s in rows if s["effective"]]
    assert [s["source"] for s in winner] == ["$PIP_INDEX_URL"]
    assert winner[0]["verdict"].startswith("official host; mirror fast ranks first")

    overriding = {**env, "PIP_INDEX_URL": farm["slow"].simple_url}
    dry = minstall("config", "apply", "--pip", "--dry-run", env=overriding)
    assert "index-url is also set by $PIP_INDEX_URL, which pip reads after" in dry.stderr

    assert minstall("config", "apply", "--pip", env=env).returncode == 0
    fixed = minstall("config", "show", "--pip", env=env)
    assert fixed.returncode == 0, fixed.stdout
    assert "mirror fast: best (rank 1 of 3)" in fixed.stdout


@pytest.mark.parametrize("tool", ["uv", "pixi"])
def test_env_scope_is_refused_where_a_tool_has_no_such_file(make_farm, tmp_path, tool) -> None:
    farm = _farm(make_farm)
    _, env = _fresh_home(tmp_path)
    proc = minstall(
        "config", "apply", f"--{tool}", "--scope", "env", env=env_for(farm, tmp_path, **env)
    )
    assert proc.returncode == 78 and "no per-environment configuration file" in proc.stderr


def test_the_real_conda_reads_an_edited_condarc_with_comments_at_condarc(
    make_farm, conda_python, tmp_path
) -> None:
    """A condarc with comments and a 4-space layout, named by $CONDARC (conda reads it last,
    so apply writes there): after apply, the real conda sees the mirror's defaults, the mirror
    for conda-forge, the user's private channel and the user's channels list unchanged."""
    from realconda import make_home

    farm = _farm(make_farm)
    conda = make_home(conda_python, tmp_path / "conda", None, ())
    rc = Path(conda.env["CONDARC"])
    ours = CONDARC.replace('"/etc/ssl/corp.pem"', "true")
    theirs = [x for x in rc.read_text().splitlines() if not x.startswith(("channels", "envs_dirs"))]
    rc.write_text(ours + "\n".join(theirs) + "\n")
    env = env_for(farm, tmp_path, **conda.env)
    proc = minstall("config", "apply", "--conda", env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"conda: {rc} ($CONDARC" in proc.stderr
    assert "# my conda settings: keep this comment" in rc.read_text()
    shown = conda.run(
        "config", "--show", "channels", "default_channels", "custom_channels", "--json"
    )
    assert shown.returncode == 0, shown.stderr
    config = json.loads(shown.stdout)
    assert config["channels"] == ["conda-forge", "https://conda.anaconda.org/bioconda", "defaults"]
    custom = {
        name: f"{c['scheme']}://{c['location']}" for name, c in config["custom_channels"].items()
    }
    assert custom["conda-forge"] == f"{farm['fast'].url}/conda"
    assert custom["private"] == "https://conda.internal.example"
    first = config["default_channels"][0]
    assert f"{first['scheme']}://{first['location']}/{first['name']}" == (
        farm["fast"].channel_url("main").rstrip("/")
    )


def test_scope_env_writes_the_active_environments_files_which_the_real_tools_read(
    make_farm, conda_python, tmp_path
) -> None:
    """`--scope env`: `<venv>/pip.conf` (pip's "site" file, sys.prefix) and
    `$CONDA_PREFIX/.condarc`; the real pip, run for that venv, and the real conda, with that
    environment active, read them. The user's own files stay untouched (none are made)."""
    from realconda import make_home

    farm = _farm(make_farm)
    home, env = _fresh_home(tmp_path)
    python, _ = pip_target(tmp_path)
    venv = Path(python).parent.parent
    conda = make_home(conda_python, tmp_path / "conda", None, ())
    prefix = conda.prefix("active")
    env = env_for(farm, tmp_path, **{**env, "VIRTUAL_ENV": str(venv), "CONDA_PREFIX": str(prefix)})
    proc = minstall("config", "apply", "--pip", "--conda", "--scope", "env", env=env)
    assert proc.returncode == 0, proc.stderr
    assert (venv / "pip.conf").is_file() and (prefix / ".condarc").is_file()
    assert not (home / ".condarc").exists() and not (home / ".config" / "pip").exists()
    listed = _pip("--python", python, "config", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert f"global.index-url='{farm['fast'].simple_url}'" in listed.stdout.splitlines()
    shown = conda.run(
        "config", "--show", "default_channels", "--json", env={"CONDA_PREFIX": str(prefix)}
    )
    assert shown.returncode == 0, shown.stderr
    first = json.loads(shown.stdout)["default_channels"][0]
    assert f"{first['scheme']}://{first['location']}/{first['name']}" == (
        farm["fast"].channel_url("main").rstrip("/")
    )


def test_undo_does_not_trust_a_tampered_record(make_farm, tmp_path) -> None:
    """Issue 21: undo deleted or overwrote whatever file applied.json named. A record naming a
    file the tool never reads, or a "backup" that is not one apply made, is refused even with
    --force, and nothing is touched."""
    farm = _farm(make_farm)
    _home, env = _fresh_home(tmp_path)
    env = env_for(farm, tmp_path, **env)
    assert minstall("config", "apply", "--pip", env=env).returncode == 0
    record = Path(env["MINSTALL_CACHE_DIR"]) / "config" / "applied.json"
    good = json.loads(record.read_text())
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me\n")
    planted = {
        **good["pip"],
        "path": str(victim),
        "backup": None,
        "written_sha256": hashlib.sha256(victim.read_bytes()).hexdigest(),
    }
    record.write_text(json.dumps({"pip": planted}))
    refused = minstall("config", "undo", "--pip", "--force", "-y", env=env)
    assert refused.returncode == 78, refused.stderr
    assert "not a file pip reads its configuration from" in refused.stderr
    assert victim.read_text() == "keep me\n"

    other = tmp_path / "evil.bak"
    other.write_text("[global]\nindex-url = https://evil.example/simple\n")
    record.write_text(json.dumps({"pip": {**good["pip"], "backup": str(other)}}))
    refused = minstall("config", "undo", "--pip", "--force", "-y", env=env)
    assert refused.returncode == 78 and "not a backup 'config apply' makes" in refused.stderr
    assert "evil.example" not in Path(good["pip"]["path"]).read_text()


def test_an_immutable_file_is_refused_with_the_reason_and_nothing_left_behind(
    make_farm, tmp_path
) -> None:
    """Issue 21: `chattr +i` on a config file. The write fails (even as root); the error says
    why and how to clear it, the file is as it was, and no backup or temporary file of a
    write that did not happen stays beside it."""
    import shutil

    import winsim

    _home, env = _fresh_home(tmp_path)
    conf = Path(env["XDG_CONFIG_HOME"]) / "pip" / "pip.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("[global]\ntimeout = 60\n")
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(conf)]).returncode != 0:
        pytest.skip("no chattr here, or this file system has no immutable flag")
    try:
        farm = _farm(make_farm)
        env = env_for(farm, tmp_path, **env)
        proc = minstall("config", "apply", "--pip", "-y", env=env)
        assert proc.returncode == 78, proc.stderr
        assert f"cannot write {conf}" in proc.stderr and "nothing was written" in proc.stderr
        if winsim.ENV_VAR not in os.environ:  # Windows' words name its own causes
            assert "'chattr -i' clears it" in proc.stderr
        assert conf.read_text() == "[global]\ntimeout = 60\n"
        assert sorted(p.name for p in conf.parent.iterdir()) == ["pip.conf"]
        assert not (Path(env["MINSTALL_CACHE_DIR"]) / "config" / "applied.json").exists()
    finally:
        subprocess.run([chattr, "-i", str(conf)])
