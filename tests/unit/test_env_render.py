"""`minstall env`'s lines under hostile values (issue 21): every value from all of Unicode is
either written so the shell reads back exactly that value and runs nothing, or refused.
bash, zsh and fish run the lines for real (with a value that would create a file if any of it
ran); PowerShell and cmd are not installable here, so their lines are read back by readers
written from Microsoft's documentation: PowerShell's single-quoted strings end at any of
' U+2018-U+201B and a doubled one is one literal character
(https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.core/about/about_quoting_rules);
in a batch file %% is one literal % and a single % starts a variable expansion
(https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/set)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirrorinstall.rewrite.envvars import Unwritable, Variable, render

_PS_QUOTES = "'\u2018\u2019\u201a\u201b"
HOSTILE = [
    "https://m.example/simple/",
    "https://m.example/a'b/",
    "https://m.example/\u2019;New-Item -Path pwned;\u2019/",
    "https://m.example/$(touch pwned)/`touch pwned`/",
    "https://m.example/%PATH%/%%/",
    "https://m.example/\\'; touch pwned; echo '/",
    "https://m.example/(touch pwned); begin; touch pwned; end/",
    "https://m.example/&& touch pwned || ^ ! ; |/",
    "https://m.example/张三/ünï/",
]
UNICODE = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


def _one(value: str, shell: str) -> str:
    return render([Variable("PIP_INDEX_URL", value, "mirror m, rank 1")], shell)


def _powershell_value(text: str) -> str:
    """The value of ``$env:PIP_INDEX_URL = '...'``, read as PowerShell reads the string; the
    line must hold nothing after it."""
    line = text.splitlines()[-1]
    head = "$env:PIP_INDEX_URL = "
    assert line.startswith(head) and line[len(head)] in _PS_QUOTES, line
    out, i = [], len(head) + 1
    while True:
        if line[i] in _PS_QUOTES:
            if i + 1 < len(line) and line[i + 1] in _PS_QUOTES:
                out.append(line[i + 1])
                i += 2
                continue
            assert i == len(line) - 1, f"PowerShell would read on after the string: {line!r}"
            return "".join(out)
        out.append(line[i])
        i += 1


def _batch_value(text: str) -> str:
    line = text.splitlines()[-1]
    head = 'set "PIP_INDEX_URL='
    assert line.startswith(head) and line.endswith('"') and line.count('"') == 2, line
    body = line[len(head) : -1]
    assert "%" not in body.replace("%%", ""), f"a single % would expand: {body!r}"
    return body.replace("%%", "%")


@given(UNICODE)
def test_every_value_is_read_back_exactly_or_refused(value: str) -> None:
    for shell in ("bash", "fish", "powershell", "cmd", "github"):
        try:
            text = _one(value, shell)
        except Unwritable:
            assert not value.isprintable() or (shell == "cmd" and '"' in value)
            continue
        assert value.isprintable()
        lines = text.splitlines()
        assert len(lines) == (1 if shell == "github" else 2), text  # nothing spills over
        if shell == "powershell":
            assert _powershell_value(text) == value
        elif shell == "cmd":
            assert _batch_value(text) == value
        elif shell == "github":
            assert lines[0] == f"PIP_INDEX_URL={value}"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_real_shells_read_back_the_value_and_run_nothing(shell, value, tmp_path: Path) -> None:
    exe = shutil.which(shell)
    if exe is None:
        pytest.skip(f"{shell} is not installed (.ci/run installs it)")
    script = _one(value, shell) + "printf '%s' \"$PIP_INDEX_URL\"\n"
    out = subprocess.run([exe, "-c", script], capture_output=True, cwd=tmp_path, check=True)
    assert out.stdout.decode() == value
    assert not (tmp_path / "pwned").exists()


@settings(max_examples=25, deadline=None)
@given(UNICODE.filter(str.isprintable))
def test_bash_reads_back_any_printable_value(value: str) -> None:
    script = _one(value, "bash") + "printf '%s' \"$PIP_INDEX_URL\"\n"
    out = subprocess.run(["bash", "-c", script], capture_output=True, check=True)
    assert out.stdout.decode("utf-8", "surrogateescape") == value


def test_the_old_powershell_and_cmd_gaps_are_closed() -> None:
    """Issue 21's findings: PowerShell ended the string at U+2019 (a command ran); cmd
    expanded %PATH% when the file ran and crashed on a double quote (exit 70)."""
    ps = _one("https://m/\u2019;New-Item X;\u2019/", "powershell")
    assert _powershell_value(ps) == "https://m/\u2019;New-Item X;\u2019/"
    assert 'set "PIP_INDEX_URL=https://m/%%PATH%%/"' in _one("https://m/%PATH%/", "cmd")
    with pytest.raises(Unwritable, match="double quote"):
        _one('https://m/"/', "cmd")
    with pytest.raises(Unwritable, match=r"U\+000A"):
        _one("https://m/\ninstall.trusted-host = evil", "bash")
