"""An installer's index options, found and replaced, and uv's command in pip's words. Pure.

The install runs the user's own command with its public indexes replaced by the loopback
index's addresses (run/fetching.py), every other option as typed; ``minstall fetch`` resolves
a ``uv pip install`` with pip, in pip's words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# options that name where packages come from; with the files on disk they all go
INDEX_OPTIONS = (
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "--index",
    "--default-index",
)

# uv pip install options that pip does not know: (takes a value?)
UV_ONLY = {
    "--python": True,
    "-p": True,
    "--index-strategy": True,
    "--link-mode": True,
    "--resolution": True,
    "--exclude-newer": True,
    "--torch-backend": True,
    "--python-platform": True,
    "--python-version": True,
    "--system": False,
    "--compile-bytecode": False,
    "--strict": False,
    "--refresh": False,
    "--no-sources": False,
    "--native-tls": False,
    "--offline": False,
    "--no-cache": False,
}
UV_AS_PIP = {
    "--reinstall": "--force-reinstall",
    "--default-index": "--index-url",  # uv's newer names for the same two options
    "--index": "--extra-index-url",
}


@dataclass(frozen=True)
class UvArgs:
    pip_args: list[str]  # the same request in pip's words
    python: str | None  # --python / -p, the environment uv installs into
    system: bool  # --system


LINK_OPTIONS = ("-f", "--find-links")


def with_indexes(args: list[str], route: Callable[[str, bool], str]) -> list[str]:
    """``args`` with the value of every index (``links`` False) and find-links (True) option
    replaced by ``route(value, links)``."""
    out: list[str] = []
    it = iter(args)
    for arg in it:
        name, eq, value = arg.partition("=")
        if arg in INDEX_OPTIONS:
            out += [arg, route(next(it, ""), arg in LINK_OPTIONS)]
        elif eq and name in INDEX_OPTIONS and name.startswith("--"):
            out.append(f"{name}={route(value, name in LINK_OPTIONS)}")
        elif arg[:2] in ("-f", "-i") and not arg.startswith("--") and len(arg) > 2:
            out.append(arg[:2] + route(arg[2:], arg[:2] == "-f"))
        else:
            out.append(arg)
    return out


def uv_as_pip(args: list[str]) -> UvArgs:
    """``uv pip install`` arguments as pip's: uv's own options taken out (the target Python
    kept apart), the ones with another name renamed; the rest are the same in both."""
    out: list[str] = []
    python: str | None = None
    system = False
    it = iter(args)
    for arg in it:
        name, eq, value = arg.partition("=")
        if name in UV_ONLY:
            if UV_ONLY[name] and not eq:
                value = next(it, "")
            if name in ("--python", "-p"):
                python = value
            system = system or name == "--system"
            continue
        out.append(UV_AS_PIP[name] + eq + value if name in UV_AS_PIP else arg)
    return UvArgs(out, python, system)
