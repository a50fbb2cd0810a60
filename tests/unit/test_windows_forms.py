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
