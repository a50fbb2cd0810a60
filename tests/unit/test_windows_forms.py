"""The Windows forms of what users type and have (issue 24), as pure logic: ``py -m pip``,
a local channel by path, conda.bat beside conda.exe (ntpath), cmd's command line for a batch
file, and the home a Windows tool reads."""

from __future__ import annotations

import ntpath
import posixpath

import pytest
from test_rewrite import TUNA_CF, run

from mirrorinstall.core.argv import parse_command
from mirrorinstall.core.engines import exe_beside_batch
from mirrorinstall.core.hostos import home_of
from mirrorinstall.core.shellquote import batch_command_line


@pytest.mark.parametrize(
    "line",
    [
        ["py", "-m", "pip", "install", "torch"],
        ["py", "-3.11", "-m", "pip", "install", "torch"],
        ["py", "-3.12-32", "-m", "pip", "install", "torch"],
        ["py", "-V:3.13", "-m", "pip", "install", "torch"],
        [
            r"C:\Users\张三\AppData\Local\Programs\Python\Python311\python.exe",
            "-m",
            "pip",
            "install",
            "torch",
        ],
    ],
)
def test_the_windows_launcher_and_a_python_exe_are_pip_commands(line) -> None:
    """Before: 'minstall does not know how to rewrite py'."""
    cmd = parse_command(line)
    assert (cmd.tool, cmd.action, cmd.args) == ("pip", "install", ("torch",))
    assert cmd.head == tuple(line[:-1])


@pytest.mark.parametrize(
    "channel",
    [
        r"C:\chan",
        "D:/conda/chan",
        r"\\server\share\chan",
        "/opt/chan",
        "./chan",
        "~/chan",
        "file:///C:/chan",
        "file:///opt/chan",
    ],
)
def test_a_local_channel_stays_the_folder_it_names(channel) -> None:
    """Before: -c C:\\chan became https://conda.anaconda.org/C:\\chan, with
    --override-channels, and the local channel was lost."""
    plan = run(["conda", "install", "-c", channel, "-c", "conda-forge", "numpy"], conda_channels=())
    assert plan.argv == [
        "conda",
        "install",
        "-c",
        channel,
        "-c",
        TUNA_CF,
        "numpy",
        "--override-channels",
    ]
    assert any("folder on this machine" in n or "kept as given" in n for n in plan.notes)
    assert not any("anaconda.org" in a for a in plan.argv)


def test_conda_bat_on_path_means_the_conda_exe_beside_it() -> None:
    root = r"C:\Users\张 三\miniconda3"
    assert exe_beside_batch(root + r"\condabin\conda.bat", ntpath) == root + r"\Scripts\conda.exe"
    assert exe_beside_batch(root + r"\condabin\mamba.bat", ntpath) == root + r"\Scripts\mamba.exe"
    assert exe_beside_batch(r"C:\tools\conda.bat", ntpath) is None
    assert exe_beside_batch("/opt/conda/condabin/conda.bat", posixpath) == (
        "/opt/conda/Scripts/conda.exe"
    )


def test_a_batch_file_gets_its_arguments_through_cmd_in_cmds_quoting() -> None:
    """CreateProcess hands a .bat to cmd with list2cmdline's quoting: numpy>=1.26 bare, a
    redirection into a file named =1.26."""
    line = batch_command_line(
        [r"C:\m3\condabin\conda.bat", "install", "numpy>=1.26", "-p", r"C:\Users\张 三\env"],
        r"C:\WINDOWS\system32\cmd.exe",
    )
    assert line == (
        r'"C:\WINDOWS\system32\cmd.exe" /d /s /c "C:\m3\condabin\conda.bat install '
        r'"numpy>=1.26" -p "C:\Users\张 三\env""'
    )
    with pytest.raises(ValueError, match="cannot be passed through cmd"):
        batch_command_line(["x.bat", 'say "hi"'], "cmd.exe")


def test_on_windows_home_is_userprofile_even_when_home_is_set() -> None:
    """Git Bash sets HOME=/c/Users/x; conda and pip on Windows read ~ from USERPROFILE: a
    .condarc written under HOME is one conda never reads."""
    environ = {"HOME": "/c/Users/张三", "USERPROFILE": r"C:\Users\张三"}
    assert home_of(environ, windows=True) == r"C:\Users\张三"
    assert home_of(environ, windows=False) == "/c/Users/张三"


@pytest.mark.parametrize(
    ("data", "text", "encoding", "bom"),
    [
        # PowerShell 5.1's `pip freeze > requirements.txt`: UTF-16 LE, its mark, CRLF
        (b"\xff\xfes\x00i\x00x\x00\r\x00\n\x00", "six\r\n", "utf-16-le", b"\xff\xfe"),
        (b"\xfe\xff\x00s\x00i\x00x", "six", "utf-16-be", b"\xfe\xff"),
        # UTF-32 LE's mark starts with UTF-16 LE's: pip tries UTF-32 first
        (b"\xff\xfe\x00\x00s\x00\x00\x00", "s", "utf-32-le", b"\xff\xfe\x00\x00"),
        (b"\xef\xbb\xbfsix\n", "six\n", "utf-8", b"\xef\xbb\xbf"),
        # Notepad on a Chinese Windows: GBK, read with the locale's encoding as pip does
        (b"# \xca\xb5\xd1\xe9\r\nsix\r\n", "# 实验\r\nsix\r\n", "gbk", b""),
        # a PEP 263 line names the encoding, whatever the locale
        (
            b"# -*- coding: latin-1 -*-\n# caf\xe9\n",
            "# -*- coding: latin-1 -*-\n# café\n",
            "iso8859-1",
            b"",
        ),
        ("# 实验\nsix\n".encode(), "# 实验\nsix\n", "utf-8", b""),
    ],
)
def test_requirements_files_decode_as_pip_reads_them_and_encode_back_the_same(
    data, text, encoding, bom
) -> None:
    from mirrorinstall.core.textcodec import decode_requirements

    got, form = decode_requirements(data, "gbk")
    assert (got, form.encoding, form.bom) == (text, encoding, bom)
    assert form.encode(got) == data


def test_a_config_file_is_read_in_the_locales_encoding_its_utf8_mark_kept() -> None:
    from mirrorinstall.core.textcodec import decode_locale_file

    gbk = "[global]\r\n# 镜像\r\n".encode("gbk")
    text, form = decode_locale_file(gbk, "cp936")
    assert text == "[global]\r\n# 镜像\r\n" and form.encode(text) == gbk
    text, form = decode_locale_file(b"\xef\xbb\xbf[global]\n", "cp936")
    assert (
        text == "[global]\n" and form.encode(text + "x = 1\n") == b"\xef\xbb\xbf[global]\nx = 1\n"
    )
    with pytest.raises(UnicodeDecodeError):
        decode_locale_file("# 镜像".encode("gbk"), "utf-8")


def test_the_python_of_an_environment_is_where_windows_puts_it(tmp_path, monkeypatch) -> None:
    """A venv's is Scripts\\python.exe, a conda environment's python.exe at its root (uv's and
    pip's target, verify's check): before, minstall looked for bin/python on Windows too, and
    took a venv's -p PREFIX for a conda environment."""
    from mirrorinstall.core import hostos
    from mirrorinstall.cuda.verify import target_python

    monkeypatch.setattr(hostos, "NATIVE_WINDOWS", True)
    venv, conda = tmp_path / "张 三" / ".venv", tmp_path / "miniconda3" / "envs" / "ml"
    venv.mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = C:\\Python311\n")
    conda.mkdir(parents=True)
    assert target_python({"VIRTUAL_ENV": str(venv)}) == str(venv / "Scripts" / "python.exe")
    assert target_python({"CONDA_PREFIX": str(conda)}) == str(conda / "python.exe")
    assert target_python({}, prefix=str(venv)) == str(venv / "Scripts" / "python.exe")
    assert target_python({}, prefix=str(conda)) == str(conda / "python.exe")
    monkeypatch.setattr(hostos, "NATIVE_WINDOWS", False)
    assert target_python({}, prefix=str(venv)) == str(venv / "bin" / "python")
