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
    assert default_shell("/usr/bin/zsh", windows=False) == "zsh"
    assert default_shell("/usr/local/bin/fish", windows=False) == "fish"
    assert default_shell(None, windows=True) == "powershell"
    assert default_shell("/bin/sh", windows=False) == "bash"
