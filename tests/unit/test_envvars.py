"""`minstall env`'s lines for each shell (pure); expected text written by hand from each
shell's quoting rules."""

from __future__ import annotations

import pytest

from mirrorinstall.rewrite.envvars import Variable, default_shell, render

VARS = [
    Variable("PIP_INDEX_URL", "https://pypi.tuna.tsinghua.edu.cn/simple", "PyPI: mirror tuna"),
    Variable("X", "it's $HOME", "a value shells would expand"),
]


@pytest.mark.parametrize(
    ("shell", "expected"),
    [
        (
            "bash",
            "# PyPI: mirror tuna\nexport PIP_INDEX_URL=https://pypi.tuna.tsinghua.edu.cn/simple\n"
            "# a value shells would expand\nexport X='it'\"'\"'s $HOME'\n",
        ),
        (
            "fish",
            "# PyPI: mirror tuna\nset -gx PIP_INDEX_URL 'https://pypi.tuna.tsinghua.edu.cn/simple'\n"
            "# a value shells would expand\nset -gx X 'it\\'s $HOME'\n",
        ),
        (
            "powershell",
            "# PyPI: mirror tuna\n$env:PIP_INDEX_URL = 'https://pypi.tuna.tsinghua.edu.cn/simple'\n"
            "# a value shells would expand\n$env:X = 'it''s $HOME'\n",
        ),
        (
            "cmd",
            'rem PyPI: mirror tuna\nset "PIP_INDEX_URL=https://pypi.tuna.tsinghua.edu.cn/simple"\n'
            'rem a value shells would expand\nset "X=it\'s $HOME"\n',
        ),
        ("github", "PIP_INDEX_URL=https://pypi.tuna.tsinghua.edu.cn/simple\nX=it's $HOME\n"),
    ],
)
def test_each_shell_gets_its_own_quoting(shell, expected) -> None:
    assert render(VARS, shell) == expected


def test_a_line_break_in_a_value_is_refused_not_written() -> None:
    with pytest.raises(ValueError):
        render([Variable("X", "a\nY=b", "")], "github")


def test_the_default_shell_follows_shell_then_the_platform() -> None:
    assert default_shell({"SHELL": "/usr/bin/zsh"}, windows=False) == "zsh"
    assert default_shell({"SHELL": "/usr/local/bin/fish"}, windows=False) == "fish"
    assert default_shell({}, windows=True) == "powershell"
    assert default_shell({"SHELL": "/bin/sh"}, windows=False) == "bash"


def test_on_windows_the_default_shell_is_the_one_minstall_runs_in() -> None:
    """Before: PowerShell's lines inside Anaconda Prompt, which is cmd (its shortcut runs
    cmd.exe /K activate.bat; cmd sets PROMPT, PowerShell adds the user's Documents module
    folder to PSModulePath)."""
    system = (
        r"C:\Program Files\WindowsPowerShell\Modules;"
        r"C:\WINDOWS\system32\WindowsPowerShell\v1.0\Modules"
    )
    anaconda_prompt = {"PROMPT": "(base) $P$G", "PSModulePath": system, "CONDA_PREFIX": "C:\\a"}
    assert default_shell(anaconda_prompt, windows=True) == "cmd"
    ps = {"PSModulePath": r"C:\Users\张三\Documents\WindowsPowerShell\Modules;" + system}
    assert default_shell(ps, windows=True) == "powershell"
    assert default_shell({**ps, "PROMPT": "$P$G"}, windows=True) == "powershell"  # from cmd
    git_bash = {"MSYSTEM": "MINGW64", "SHELL": "/usr/bin/bash", "PROMPT": "$P$G"}
    assert default_shell(git_bash, windows=True) == "bash"
