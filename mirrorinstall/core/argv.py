"""Recognise a conda/mamba/pip/uv command and the options minstall rewrites. Pure.

Only the options that decide where packages come from are understood; every other token is
kept verbatim and in order (``Option.index`` points at the tokens an option took, so the
rewriter can replace exactly those).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mirrorinstall.core.errors import UsageError

CONDA_TOOLS = ("conda", "mamba", "micromamba")
# https://docs.python.org/3/using/windows.html#python-launcher-for-windows
_PY_LAUNCHER = re.compile(r"-(\d+(\.\d+)?(-(32|64|arm64))?|V:\S+)")
CONDA_ACTIONS = ("install", "create", "update", "upgrade")
PIP_ACTIONS = ("install", "download", "wheel")  # the pip commands that fetch from an index
UV_PIP_ACTIONS = ("install", "sync", "compile")
UV_PROJECT_ACTIONS = ("add", "sync", "lock", "remove", "run", "tool")


@dataclass(frozen=True)
class Command:
    tool: str  # conda | mamba | micromamba | pip | uv
    family: str  # conda | pip
    action: str  # install | create | update | env-create
    head: tuple[str, ...]  # the tokens up to and including the action, kept verbatim
    args: tuple[str, ...]  # everything after
    origin: str = ""  # "mim": typed as mim install, run as the pip install mim runs

    @property
    def kinds(self) -> list[str]:
        """The mirror kinds this command draws from, the one it installs from first (an
        environment file may have a pip: section, so env create draws from PyPI too); none
        for a command that must not download (conda --offline)."""
        if self.passthrough:
            return []
        if self.family == "conda":
            return ["conda", "pypi"] if self.env_file else ["conda"]
        return ["pypi", "pytorch"]

    @property
    def env_file(self) -> bool:
        """conda env create/update: the command reads an environment file (-f)."""
        return self.action in ("env-create", "env-update")

    @property
    def passthrough(self) -> bool:
        """A command that needs no mirror: run as typed (conda --offline, which must not be
        sent to URLs its package cache does not know). conda remove is not one: it solves
        again, and needs the channels the environment's packages came from (a mirror's, for
        an environment minstall installed)."""
        return self.family == "conda" and "--offline" in self.args


def tool_name(token: str) -> str:
    """``/opt/conda/bin/conda.exe`` -> ``conda``: the tool a command's first word names."""
    name = re.split(r"[\\/]", token)[-1].lower()  # a Windows path too, whatever runs us
    for suffix in (".exe", ".bat", ".cmd"):
        name = name.removesuffix(suffix)
    return name


def parse_command(argv: list[str]) -> Command:
    """Split ``argv`` into the tool, its action and the arguments."""
    if not argv:
        raise UsageError(
            "no command to rewrite",
            "Give one after --, e.g. 'minstall rewrite -- conda install pytorch -c pytorch'.",
        )
    first = tool_name(argv[0])
    if first in CONDA_TOOLS:
        if len(argv) >= 3 and argv[1] == "env" and argv[2] in ("create", "update"):
            action = f"env-{argv[2]}"
            return Command(first, "conda", action, tuple(argv[:3]), tuple(argv[3:]))
        if len(argv) >= 2 and argv[1] in CONDA_ACTIONS:
            action = "update" if argv[1] == "upgrade" else argv[1]
            return Command(first, "conda", action, tuple(argv[:2]), tuple(argv[2:]))
        if len(argv) >= 2 and argv[1] in ("remove", "uninstall"):
            return Command(first, "conda", "remove", tuple(argv[:2]), tuple(argv[2:]))
        raise UsageError(
            f"'{' '.join(argv[:2])}' is not a command minstall rewrites",
            f"It rewrites {first} install/create/update/remove and conda env create/update -f.",
        )
    if first in ("pip", "pip3") or first.startswith("pip3."):
        return _pip(first, argv, 1)
    if first.startswith("python") or first == "py":
        at = 1
        # the Windows launcher's choice of Python: py -3.11, py -3.12-32, py -V:3.13
        while first == "py" and at < len(argv) and _PY_LAUNCHER.fullmatch(argv[at]):
            at += 1
        if argv[at : at + 1] == ["-m"] and argv[at + 1 : at + 2] in (["pip"], ["pip3"]):
            return _pip("pip", argv, at + 2)
        if argv[at : at + 2] == ["-m", "mim"]:  # mim in this very interpreter
            return _mim(argv[at + 1 :], tuple(argv[:at]))
    if first == "mim":
        return _mim(argv)
    if first == "uv" and len(argv) >= 3 and argv[1] == "pip" and argv[2] in UV_PIP_ACTIONS:
        return Command("uv", "pip", argv[2], tuple(argv[:3]), tuple(argv[3:]))
    if first == "uv" and len(argv) >= 2 and argv[1] in UV_PROJECT_ACTIONS:
        raise UsageError(
            f"minstall does not rewrite 'uv {argv[1]}': uv records the URL of the index each "
            "package came from in uv.lock, so a mirror chosen for this machine would be "
            "written into the project's lock file for everyone who uses it",
            "Rewrite 'uv pip install' commands instead, or point uv at a mirror yourself if "
            'the lock file may name it: eval "$(minstall env)" sets UV_DEFAULT_INDEX.',
        )
    raise UsageError(
        f"minstall does not know how to rewrite '{argv[0]}'",
        "It rewrites conda/mamba/micromamba install|create|update|remove, conda env "
        "create|update, pip install|download|wheel, python -m pip ... (py -m pip on Windows), "
        "uv pip install|sync|compile and mim install; run other commands as they are.",
    )


def _mim(argv: list[str], python: tuple[str, ...] = ("python",)) -> Command:
    """``mim install ARGS`` as the pip install it runs (openmim 0.3.9, mim/commands/install.py:
    every argument goes to pip but its own ``-i/--index-url/--pypi-url`` and ``-y``, which has
    no effect); mim's own additions (mmcv's page, the 'mim' extras) are the rewrite's, which
    knows the target's torch. pip runs in mim's Python: the one ``python -m mim`` names, else
    the active environment's ``python``."""
    if argv[1:2] != ["install"]:
        raise UsageError(
            f"'{' '.join(argv[:2])}' is not a command minstall rewrites",
            "It rewrites mim install (pip install with OpenMMLab's page for your torch); run "
            "other mim commands as they are.",
        )
    args: list[str] = []
    for token in argv[2:]:
        if token in ("-y", "--yes"):
            continue
        name, eq, value = token.partition("=")
        args.append(f"--index-url{eq}{value}" if name == "--pypi-url" else token)
    return Command("pip", "pip", "install", (*python, "-m", "pip", "install"), tuple(args), "mim")


_PIP_GLOBAL_VALUED = (
    "--python",
    "--cache-dir",
    "--log",
    "--proxy",
    "--cert",
    "--client-cert",
    "--timeout",
    "--retries",
    "--exists-action",
    "--trusted-host",
)


def _pip(tool: str, argv: list[str], at: int) -> Command:
    # pip's global options may stand before the subcommand: pip --python X install ...
    while at < len(argv) and argv[at].startswith("-"):
        at += 2 if argv[at] in _PIP_GLOBAL_VALUED else 1
    if len(argv) > at and argv[at] in PIP_ACTIONS:
        return Command("pip", "pip", argv[at], tuple(argv[: at + 1]), tuple(argv[at + 1 :]))
    raise UsageError(
        f"'{' '.join(argv[: at + 1])}' is not followed by install, download or wheel",
        "minstall rewrites the pip commands that download: install, download and wheel.",
    )


@dataclass(frozen=True)
class Option:
    name: str  # canonical long name, e.g. "--channel"
    value: str
    index: int  # first token it used
    count: int  # tokens it used (1 for --x=v / -cv, 2 for --x v)
    spelled: str = ""  # as the user wrote the option: "-i", "--index-url"

    def same_form(self, value: str) -> list[str]:
        """Tokens for a new value, spelled the way the user spelled this option."""
        name = self.spelled or self.name
        if self.count == 2:
            return [name, value]
        return [f"{name}{value}"] if len(name) == 2 else [f"{name}={value}"]


@dataclass
class Scan:
    options: list[Option] = field(default_factory=list)
    flags: dict[str, int] = field(default_factory=dict)  # flag -> index
    positionals: list[tuple[int, str]] = field(default_factory=list)


def scan(
    args: tuple[str, ...],
    valued: dict[str, str],
    flags: tuple[str, ...],
    other_valued: tuple[str, ...] = (),
) -> Scan:
    """Find the options in ``valued`` (spelling -> canonical name) and ``flags``.

    ``other_valued`` are options we do not rewrite but whose value must not be taken for a
    package (``-n myenv``). A bare ``--`` ends option parsing.
    """
    out = Scan()
    i = 0
    only_positionals = False
    while i < len(args):
        token = args[i]
        if only_positionals or not token.startswith("-") or token == "-":
            out.positionals.append((i, token))
            i += 1
            continue
        if token == "--":
            only_positionals = True
            i += 1
            continue
        name, eq, inline = token.partition("=")
        if name in valued:
            if eq:
                out.options.append(Option(valued[name], inline, i, 1, name))
                i += 1
                continue
            if i + 1 >= len(args):
                raise UsageError(f"{token} needs a value", f"Give it as {token} VALUE.")
            out.options.append(Option(valued[name], args[i + 1], i, 2, name))
            i += 2
            continue
        short = next(
            (
                s
                for s in valued
                if len(s) == 2 and s[1] != "-" and token.startswith(s) and len(token) > 2
            ),
            None,
        )
        if short:  # -cconda-forge, -ihttps://...
            out.options.append(Option(valued[short], token[2:], i, 1, short))
            i += 1
            continue
        if token in flags:
            out.flags[token] = i
        elif name in other_valued and not eq:
            i += 1  # skip its value too
        i += 1
    return out
