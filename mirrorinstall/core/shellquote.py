"""Commands written so that, pasted into the user's shell, they run what minstall ran. Pure.

Three grammars:
- ``posix`` (bash, zsh, sh, fish 3.1+, Git Bash on Windows): ``shlex`` quoting,
  ``K=V cmd`` for a variable, ``&&`` between steps.
- ``cmd`` (Command Prompt, Anaconda Prompt): an argument with a character cmd or the C runtime
  treat specially is put in double quotes, inside which cmd takes ``< > & | ^ ( )`` literally
  (https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/cmd, "special
  characters require quotation marks"), backslashes and quotes escaped as the C runtime
  parses them (https://learn.microsoft.com/en-us/cpp/c-language/parsing-c-command-line-arguments);
  ``set "K=V" && cmd`` for a variable (quoted, so no trailing space enters the value);
  ``&&`` between steps.
- ``powershell`` (Windows PowerShell 5.1 and PowerShell 7): single quotes, each quote
  character doubled, U+2018-U+201B included, which PowerShell also ends a single-quoted string
  at (https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.core/about/about_quoting_rules);
  ``& 'program'`` when the program needs quotes; ``$env:K='V';`` for a variable; PowerShell 5.1
  has no ``&&``, so a step runs only if the one before it succeeded through
  ``if ($?) { ... }``.

``%`` in an argument is left as it is for cmd: on cmd's command line ``%NAME%`` expands only
when NAME is set, and quoting cannot stop it (README, Windows, known limits).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence

POSIX = "posix"
CMD = "cmd"
POWERSHELL = "powershell"
SHELLS = (POSIX, CMD, POWERSHELL)

_CMD_PLAIN = re.compile(r"[\w\-./:\\@]+")
_PS_PLAIN = re.compile(r"[\w\-./:\\=+]+")
_PS_QUOTES = "'\u2018\u2019\u201a\u201b"


def detect_shell(environ: Mapping[str, str], windows: bool) -> str:
    """The grammar of the shell minstall was most likely started from. POSIX outside Windows;
    on Windows: Git Bash and MSYS2 set MSYSTEM; PowerShell puts the user's own module folder
    (under Documents) first in PSModulePath, which cmd's copy of the system value lacks; cmd
    sets PROMPT (Anaconda Prompt is cmd). Nothing to tell by: PowerShell, the default shell of
    Windows Terminal."""
    if not windows or environ.get("MSYSTEM"):
        return POSIX
    modules = environ.get("PSModulePath", "").split(";")
    if any("\\documents\\" in m.lower() for m in modules if m):
        return POWERSHELL
    if environ.get("PROMPT"):
        return CMD
    return POWERSHELL


def quote_arg(arg: str, shell: str) -> str:
    if shell == CMD:
        return arg if _CMD_PLAIN.fullmatch(arg) else _cmd_quoted(arg)
    if shell == POWERSHELL:
        return arg if _PS_PLAIN.fullmatch(arg) else ps_single_quoted(arg)
    return shlex.quote(arg)


def ps_single_quoted(text: str) -> str:
    """``text`` as one PowerShell single-quoted string: every character PowerShell ends such
    a string at (the ASCII quote and U+2018-U+201B) doubled."""
    return "'" + "".join(c * 2 if c in _PS_QUOTES else c for c in text) + "'"


def _cmd_quoted(arg: str) -> str:
    """``arg`` in double quotes as the C runtime reads them: backslashes before a quote (or
    the closing one) doubled, a quote escaped with a backslash."""
    out, slashes = ['"'], 0
    for c in arg:
        if c == "\\":
            slashes += 1
            continue
        if c == '"':
            out.append("\\" * (2 * slashes + 1) + '"')
        else:
            out.append("\\" * slashes + c)
        slashes = 0
    out.append("\\" * (2 * slashes) + '"')
    return "".join(out)


def quote_command(argv: Sequence[str], env: Mapping[str, str], shell: str) -> str:
    """One command, with the variables it needs, as ``shell`` wants it typed."""
    if shell == CMD:
        prefix = "".join(f'set "{k}={v}" && ' for k, v in env.items())
        return prefix + " ".join(quote_arg(a, CMD) for a in argv)
    if shell == POWERSHELL:
        prefix = "".join(f"$env:{k}={quote_arg(v, POWERSHELL)}; " for k, v in env.items())
        words = [quote_arg(a, POWERSHELL) for a in argv]
        if words and words[0] != argv[0]:
            words[0] = "& " + words[0]  # a quoted string alone is a value, not a command
        return prefix + " ".join(words)
    prefix = "".join(f"{k}={shlex.quote(v)} " for k, v in env.items())
    return prefix + shlex.join(argv)


def join_steps(commands: Sequence[str], shell: str) -> str:
    """Steps in order, each only if the one before succeeded."""
    if shell != POWERSHELL or len(commands) < 2:
        return " && ".join(commands)
    first, *rest = commands
    return f"{first}; if ($?) {{ {join_steps(rest, shell)} }}"


def batch_command_line(argv: Sequence[str], comspec: str) -> str:
    """The Windows command line that runs a batch file (``conda.bat``) with ``argv``'s
    arguments intact: ``cmd /d /s /c "<line>"``, each argument in cmd's quoting. CreateProcess
    would hand a batch file to cmd with Python's ``list2cmdline`` quoting, which leaves
    ``numpy>=1.26`` bare for cmd to read as a redirection. An argument holding a double quote
    cannot pass cmd safely (cmd ends its quoting there) and is refused."""
    for arg in argv:
        if '"' in arg or "\n" in arg or "\r" in arg:
            raise ValueError(f"the argument {arg!r} cannot be passed through cmd.exe")
    line = " ".join(_cmd_quoted(a) if not _CMD_PLAIN.fullmatch(a) else a for a in argv)
    return f'{_cmd_quoted(comspec)} /d /s /c "{line}"'
