"""Files in the encodings Windows users have (issue 24), end to end with the real pip: a
requirements file from Windows PowerShell 5.1 (UTF-16 with a byte-order mark, CRLF), one
saved by Notepad on a Chinese Windows (GBK), and a pip.ini in the ANSI code page. A zh_CN.GBK
locale stands in for code page 936 (Python reads and writes GBK there, as in cp936 on a
Chinese Windows). Before: each was refused ("check the path") or had to be re-saved as UTF-8,
which then broke pip."""

from __future__ import annotations

import codecs
import os
import subprocess
import sys
from pathlib import Path

import pytest
from farm import MirrorSpec

from .test_cli import SCRIPT, minstall, pip_target
from .test_cli import farm_env as env_for

# what `pip freeze > requirements.txt` writes in Windows PowerShell 5.1: its `>` is Out-File,
# whose default encoding there is "Unicode", UTF-16 LE with a byte-order mark
# (https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.core/about/about_character_encoding)
POWERSHELL_FREEZE = codecs.BOM_UTF16_LE + "six==1.16.0\r\nidna==3.7\r\n".encode("utf-16-le")
NOTEPAD_GBK = "# 实验室的依赖\r\nsix==1.16.0\r\n".encode("gbk")


@pytest.fixture
def farm_env(make_farm, tmp_path):
    farm = make_farm(MirrorSpec("first", latency_s=0.005, bandwidth_bps=16e6))
    python, pip_env = pip_target(tmp_path)
    env = env_for(farm, tmp_path, **pip_env, PIP_RETRIES="0")
    return farm, env, python


def minstall_gbk(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """minstall in the GBK locale: it writes GBK, as on a console with code page 936."""
    proc = subprocess.run(
        [str(SCRIPT), *args], capture_output=True, env={**os.environ, **env}, timeout=60
    )
    proc.stdout, proc.stderr = proc.stdout.decode("gbk"), proc.stderr.decode("gbk")
    return proc


def _installed(python: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "list", "--format=freeze"],
        capture_output=True,
        text=True,
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
    ).stdout


def _copy_named(stdout: str) -> Path:
    argv = stdout.split()
    return Path(argv[argv.index("-r") + 1].strip("'\""))


def test_a_requirements_file_from_powershell_installs_and_its_copy_stays_utf16(
    farm_env, tmp_path
) -> None:
    _, env, python = farm_env
    req = tmp_path / "requirements.txt"
    req.write_bytes(POWERSHELL_FREEZE)
    shown = minstall(
        "rewrite", "--mirror", "first", "--", "pip", "install", "-r", str(req), env=env
    )
    assert shown.returncode == 0, shown.stderr
    copy = _copy_named(shown.stdout)
    assert copy.read_bytes().startswith(codecs.BOM_UTF16_LE)
    assert b"\r\x00\n\x00" in copy.read_bytes()  # CRLF kept, in UTF-16
    proc = minstall(
        "pip", "--mirror", "first", "--python", python, "install", "-r", str(req), env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert "six==1.16.0" in _installed(python) and "idna==3.7" in _installed(python)
    assert req.read_bytes() == POWERSHELL_FREEZE  # the user's file is never written


def test_a_gbk_requirements_file_installs_on_a_code_page_936_system(
    farm_env, tmp_path, gbk_locale
) -> None:
    _, env, python = farm_env
    folder = tmp_path / "实验"
    folder.mkdir()
    req = folder / "requirements.txt"
    req.write_bytes(NOTEPAD_GBK)
    env = {**env, **gbk_locale}
    shown = minstall(
        "rewrite", "--mirror", "first", "--", "pip", "install", "-r", str(req), env=env
    )
    assert shown.returncode == 0, shown.stderr
    copy = Path(os.fsdecode(_copy_named(shown.stdout)))
    assert copy.read_bytes().decode("gbk").startswith("# 实验室的依赖\r\n")
    proc = minstall(
        "pip", "--mirror", "first", "--python", python, "install", "-r", str(req), env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert "six==1.16.0" in _installed(python)


def test_a_file_in_no_encoding_pip_can_read_is_refused_with_the_way_out(tmp_path, gbk_locale):
    req = tmp_path / "requirements.txt"
    req.write_bytes(b"six\n\x80\xff\xfe\xfd\n")
    proc = minstall("rewrite", "--mirror", "tuna", "--", "pip", "install", "-r", str(req))
    assert proc.returncode == 64, proc.stderr
    assert "neither UTF-8 nor" in proc.stderr and "byte-order mark" in proc.stderr


def test_config_apply_keeps_a_pip_ini_in_the_locales_encoding_and_pip_reads_it(
    make_farm, tmp_path, gbk_locale
) -> None:
    """pip reads its configuration in the locale's encoding (cp936 on a Chinese Windows):
    the edited file stays GBK, its comment and CRLF intact, and the real pip reads the new
    index from it; undo puts back the very bytes."""
    farm = make_farm(MirrorSpec("fast", latency_s=0.005, bandwidth_bps=16e6))
    home = tmp_path / "home"
    conf = home / ".config" / "pip" / "pip.conf"
    conf.parent.mkdir(parents=True)
    original = "# 实验室的设置\r\n[global]\r\ntimeout = 60\r\n".encode("gbk")
    conf.write_bytes(original)
    env = env_for(
        farm,
        tmp_path,
        **gbk_locale,
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CONFIG_DIRS=str(home / "xdg-dirs"),
    )
    proc = minstall_gbk("config", "apply", "--pip", "--mirror", "fast", "--yes", env=env)
    assert proc.returncode == 0, proc.stderr
    text = conf.read_bytes().decode("gbk")
    assert text.startswith("# 实验室的设置\r\n[global]\r\n") and "\r\n" in text
    assert farm["fast"].simple_url in text
    base = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"],
        capture_output=True,
        env={**base, **gbk_locale, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
             "XDG_CONFIG_DIRS": str(home / "xdg-dirs")},
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr.decode("gbk", "replace")
    assert f"global.index-url='{farm['fast'].simple_url}'" in listed.stdout.decode("gbk")
    undone = minstall_gbk("config", "undo", "--pip", "--yes", env=env)
    assert undone.returncode == 0, undone.stderr
    assert conf.read_bytes() == original
