"""Printed commands checked against each shell's documented grammar (issue 24): bash runs
them for real; cmd and PowerShell are not installable here, so each line is read back by a
reader written from Microsoft's documentation (cited in core/shellquote.py) and must give
back the same arguments, with nothing left where cmd or PowerShell would see an operator."""

from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mirrorinstall.core.shellquote import (
    CMD,
    POSIX,
    POWERSHELL,
    detect_shell,
    join_steps,
    quote_command,
)

ARGV = ["python", "-m", "pip", "install", "numpy<2", "torch>=2.1,<3", r"C:\Users\张 三\r.txt"]
_PS_QUOTES = "'\u2018\u2019\u201a\u201b"


def test_cmd_quotes_redirections_and_sets_variables_without_a_trailing_space() -> None:
    """Before: ``set K=V && ...`` (the value ends in a space) and bare ``numpy<2``, which cmd
    reads as "numpy, input from the file 2"."""
    line = quote_command(ARGV, {"PIP_TIMEOUT": "5"}, CMD)
    assert line == (
        'set "PIP_TIMEOUT=5" && python -m pip install "numpy<2" "torch>=2.1,<3" '
        '"C:\\Users\\张 三\\r.txt"'
    )


def test_powershell_51_gets_no_double_ampersand_and_quotes_every_quote_character() -> None:
    """PowerShell 5.1 has no ``&&`` (a parse error); ``’`` ends a single-quoted string
    there as ``'`` does, so a URL holding ``’;New-Item X;’`` would have run a command."""
    hostile = "https://m/simple’;New-Item X;’"
    line = quote_command(["pip", "install", "-i", hostile, "numpy<2"], {"K": "v 1"}, POWERSHELL)
    assert line == "$env:K='v 1'; pip install -i 'https://m/simple’’;New-Item X;’’' 'numpy<2'"
    assert join_steps(["a", "b", "c"], POWERSHELL) == "a; if ($?) { b; if ($?) { c } }"
    assert join_steps(["a", "b"], CMD) == "a && b"
    spaced = quote_command([r"C:\Program Files\py\python.exe", "-V"], {}, POWERSHELL)
    assert spaced == r"& 'C:\Program Files\py\python.exe' -V"


def _crt_args(line: str) -> list[str]:
    """The C runtime's reading of a command line (Microsoft, "Parsing C command-line
    arguments"): whitespace separates arguments outside quotes; 2n backslashes before a
    quote give n and the quote toggles quoting; 2n+1 give n and a literal quote; other
    backslashes are literal."""
    args, cur, quoted, i, any_ = [], [], False, 0, False
    while i < len(line):
        c = line[i]
        if c == "\\":
            n = 0
            while i < len(line) and line[i] == "\\":
                n, i = n + 1, i + 1
            if i < len(line) and line[i] == '"':
                cur.append("\\" * (n // 2))
                if n % 2:
                    cur.append('"')
                    i += 1
                continue
            cur.append("\\" * n)
            continue
        if c == '"':
            quoted, any_ = not quoted, True
        elif c in " \t" and not quoted:
            if cur or any_:
                args.append("".join(cur))
            cur, any_ = [], False
        else:
            cur.append(c)
        i += 1
    if cur or any_:
        args.append("".join(cur))
    return args


def _cmd_operators_outside_quotes(line: str) -> list[str]:
    """What cmd would act on: ``< > | & ^`` outside double quotes (cmd knows no backslash
    escape: a backslash-quote still toggles its quoting)."""
    found, quoted = [], False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif not quoted and c in "<>|&^":
            found.append(c)
    return found


def _powershell_words(line: str) -> list[str]:
    """Arguments of a native command line as PowerShell reads them, for the forms we write:
    bare words, and single-quoted strings in which a doubled quote character (any of
    ' U+2018-U+201B) is one literal one; operators outside strings are reported as words
    starting with '!'."""
    words, cur, i, started = [], [], 0, False
    while i < len(line):
        c = line[i]
        if c in _PS_QUOTES:
            started, i = True, i + 1
            while True:
                if line[i] in _PS_QUOTES:
                    if i + 1 < len(line) and line[i + 1] in _PS_QUOTES:
                        cur.append(line[i])
                        i += 2
                        continue
                    i += 1
                    break
                cur.append(line[i])
                i += 1
            continue
        if c == " ":
            if started:
                words.append("".join(cur))
            cur, started = [], False
        elif c in ';|&<>(){}$`,@#"':
            words.append("!" + c)
        else:
            cur.append(c)
            started = True
        i += 1
    if started:
        words.append("".join(cur))
    return words


ARGS = st.lists(
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12),
    min_size=1,
    max_size=5,
)


@given(ARGS)
def test_cmd_lines_give_back_the_same_arguments_with_no_operator_outside_quotes(args) -> None:
    if any('"' in a or "%" in a for a in args):
        return  # a quote inside an argument, or %: README, Windows, known limits
    line = quote_command(["prog", *args], {}, CMD)
    assert _crt_args(line) == ["prog", *args]
    assert _cmd_operators_outside_quotes(line) == []


@given(ARGS)
def test_powershell_lines_give_back_the_same_arguments_with_no_operator(args) -> None:
    line = quote_command(["prog", *args], {}, POWERSHELL)
    assert _powershell_words(line) == ["prog", *args]


@given(ARGS)
def test_posix_lines_give_back_the_same_arguments(args) -> None:
    assert shlex.split(quote_command(["prog", *args], {}, POSIX)) == ["prog", *args]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_posix_shells_run_the_line_with_the_same_arguments_and_variable(shell) -> None:
    """bash, zsh and fish (3.1+ takes ``K=V cmd``), installed by .ci/run, run the printed line
    for real: the child sees the same arguments and variable."""
    exe = shutil.which(shell)
    if exe is None:
        pytest.skip(f"{shell} is not installed (.ci/run installs it)")
    line = quote_command(
        ["python3", "-c", "import os,sys; print(os.environ['K'], sys.argv[1:])", *ARGV[4:]],
        {"K": "a b'c"},
        POSIX,
    )
    out = subprocess.run([exe, "-c", line], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "a b'c " + repr(ARGV[4:])


def test_the_shell_is_detected_as_on_windows_and_posix_elsewhere() -> None:
    assert detect_shell({"PROMPT": "$P$G"}, windows=False) == POSIX
    assert detect_shell({"PROMPT": "$P$G"}, windows=True) == CMD
    assert detect_shell({}, windows=True) == POWERSHELL
    assert detect_shell({"MSYSTEM": "MINGW64"}, windows=True) == POSIX
