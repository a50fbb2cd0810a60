"""Where conda, pip, uv and pixi read their configuration files. Pure.

Each answer is computed from the environment and the platform handed in, so Windows and
macOS locations are tested on any machine. Sources, per tool:

- conda: ``conda config`` writes ``~/.condarc`` (user), ``$CONDA_PREFIX/.condarc`` (``--env``)
  and ``<conda's root prefix>/.condarc`` (``--system``); ``$CONDARC``, when set, is read last
  of all (conda/base/constants.py ``SEARCH_PATH`` and conda/cli/main_config.py, conda 26.7.1),
  so minstall writes there when it is set: a file it wrote anywhere else would be overridden.
- pip: https://pip.pypa.io/en/stable/topics/configuration/#location ; user:
  ``$XDG_CONFIG_HOME/pip/pip.conf`` (``~/.config/pip/pip.conf``), macOS ``~/Library/Application
  Support/pip/pip.conf`` when that folder exists, Windows ``%APPDATA%\\pip\\pip.ini``; site
  (``env``): ``<prefix>/pip.conf``; global (``system``): ``/etc/pip.conf``, the file ``pip
  config --global`` writes (the last of pip's global files), ``/Library/Application
  Support/pip/pip.conf``, ``C:\\ProgramData\\pip\\pip.ini``. ``PIP_CONFIG_FILE`` set to a file:
  pip then skips the user file, so minstall writes that one; set to ``os.devnull``: pip reads
  no file at all.
- uv: https://docs.astral.sh/uv/concepts/configuration-files/ ; user
  ``$XDG_CONFIG_HOME/uv/uv.toml`` (``~/.config/uv/uv.toml``, macOS included), Windows
  ``%APPDATA%\\uv\\uv.toml``; system ``/etc/uv/uv.toml`` (the first of ``$XDG_CONFIG_DIRS``),
  Windows ``%PROGRAMDATA%\\uv\\uv.toml``; ``UV_CONFIG_FILE`` replaces both.
- pixi: https://pixi.prefix.dev/latest/reference/pixi_configuration/ ; user (global)
  ``$PIXI_HOME/config.toml`` (default ``~/.pixi/config.toml``, the highest of its global
  files); system ``/etc/pixi/config.toml``, Windows ``C:\\ProgramData\\pixi\\config.toml``.

uv and pixi have no per-environment file, so ``--scope env`` is refused for them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath, PurePosixPath, PureWindowsPath

from mirrorinstall.core.errors import ConfigError, UsageError

TOOLS = ("conda", "pip", "uv", "pixi")
SCOPES = ("user", "env", "system")


@dataclass(frozen=True)
class Platform:
    """The facts a location depends on: the OS (``linux``, ``darwin``, ``windows``), the
    environment, the home folder and which folders exist (macOS pip)."""

    os: str
    environ: Mapping[str, str]
    home: str
    existing: frozenset[str] = frozenset()

    def path(self, *parts: str) -> PurePath:
        flavour = PureWindowsPath if self.os == "windows" else PurePosixPath
        return flavour(*parts)

    def env(self, name: str) -> str | None:
        value = self.environ.get(name)
        return value or None


@dataclass(frozen=True)
class Location:
    tool: str
    path: str
    how: str  # why this file, in words: "user file", "$CONDARC", ...


def _home(p: Platform, *parts: str) -> str:
    return str(p.path(p.home, *parts))


def config_file(tool: str, scope: str, p: Platform) -> Location:
    """The one file ``config apply`` edits for ``tool`` at ``scope``."""
    if tool not in TOOLS:
        raise UsageError(f"unknown tool {tool!r} (known: {', '.join(TOOLS)})")
    if scope not in SCOPES:
        raise UsageError(f"unknown scope {scope!r} (known: {', '.join(SCOPES)})")
    return {"conda": _conda, "pip": _pip, "uv": _uv, "pixi": _pixi}[tool](scope, p)


def _conda(scope: str, p: Platform) -> Location:
    if scope == "user":
        if p.env("CONDARC"):
            return Location("conda", p.env("CONDARC") or "", "$CONDARC (conda reads it last)")
        return Location("conda", _home(p, ".condarc"), "user file")
    if scope == "env":
        prefix = p.env("CONDA_PREFIX")
        if not prefix:
            raise ConfigError(
                "--scope env needs an active conda environment, and CONDA_PREFIX is not set",
                "Run 'conda activate ENV' first, or choose --scope user.",
            )
        return Location("conda", str(p.path(prefix, ".condarc")), "the active environment")
    root = conda_root(p)
    if root is None:
        raise ConfigError(
            "--scope system needs conda's root prefix, and neither CONDA_ROOT nor CONDA_EXE "
            "says where it is",
            "Run it from a shell where conda is initialised, or choose --scope user.",
        )
    return Location("conda", str(p.path(root, ".condarc")), "conda's root prefix")


def conda_root(p: Platform) -> str | None:
    """conda's root prefix: ``$CONDA_ROOT``, else two folders above ``$CONDA_EXE``
    (``<root>/bin/conda``, ``<root>\\Scripts\\conda.exe`` or ``<root>\\condabin\\conda.bat``)."""
    root = p.env("CONDA_ROOT") or p.env("_CONDA_ROOT")
    if root:
        return root
    exe = p.env("CONDA_EXE")
    return str(p.path(exe).parent.parent) if exe else None


def _pip(scope: str, p: Platform) -> Location:
    name = "pip.ini" if p.os == "windows" else "pip.conf"
    forced = p.env("PIP_CONFIG_FILE")
    if scope == "user" and forced:
        if forced == os.devnull or forced.lower() == "nul":
            raise ConfigError(
                f"PIP_CONFIG_FILE is {forced}, so pip reads no configuration file at all",
                "Unset PIP_CONFIG_FILE, or use 'minstall env' for this shell.",
            )
        return Location("pip", forced, "$PIP_CONFIG_FILE (pip then skips the user file)")
    if scope == "user":
        if p.os == "windows":
            appdata = p.env("APPDATA") or _home(p, "AppData", "Roaming")
            return Location("pip", str(p.path(appdata, "pip", name)), "user file")
        mac = _home(p, "Library", "Application Support", "pip")
        if p.os == "darwin" and mac in p.existing:
            return Location("pip", str(p.path(mac, name)), "user file")
        base = p.env("XDG_CONFIG_HOME") or _home(p, ".config")
        return Location("pip", str(p.path(base, "pip", name)), "user file")
    if scope == "env":
        prefix = p.env("VIRTUAL_ENV") or p.env("CONDA_PREFIX")
        if not prefix:
            raise ConfigError(
                "--scope env needs an active environment, and neither VIRTUAL_ENV nor "
                "CONDA_PREFIX is set",
                "Activate the virtual environment or conda environment first.",
            )
        return Location("pip", str(p.path(prefix, name)), "the active environment")
    if p.os == "windows":
        data = p.env("PROGRAMDATA") or "C:\\ProgramData"
        return Location("pip", str(p.path(data, "pip", name)), "system file")
    if p.os == "darwin":
        return Location("pip", "/Library/Application Support/pip/pip.conf", "system file")
    return Location("pip", "/etc/pip.conf", "system file")


def _no_env_scope(tool: str) -> ConfigError:
    return ConfigError(
        f"{tool} has no per-environment configuration file",
        "Choose --scope user or --scope system for it.",
    )


def _uv(scope: str, p: Platform) -> Location:
    if scope == "env":
        raise _no_env_scope("uv")
    if scope == "user" and p.env("UV_CONFIG_FILE"):
        return Location("uv", p.env("UV_CONFIG_FILE") or "", "$UV_CONFIG_FILE")
    if p.os == "windows":
        base = (
            p.env("APPDATA") or _home(p, "AppData", "Roaming")
            if scope == "user"
            else p.env("PROGRAMDATA") or "C:\\ProgramData"
        )
        return Location("uv", str(p.path(base, "uv", "uv.toml")), f"{scope} file")
    if scope == "user":
        base = p.env("XDG_CONFIG_HOME") or _home(p, ".config")
        return Location("uv", str(p.path(base, "uv", "uv.toml")), "user file")
    first = (p.env("XDG_CONFIG_DIRS") or "/etc").split(":")[0] or "/etc"
    return Location("uv", str(p.path(first, "uv", "uv.toml")), "system file")


def _pixi(scope: str, p: Platform) -> Location:
    if scope == "env":
        raise _no_env_scope("pixi")
    if scope == "user":
        base = p.env("PIXI_HOME") or _home(p, ".pixi")
        return Location("pixi", str(p.path(base, "config.toml")), "user (global) file")
    if p.os == "windows":
        data = p.env("PROGRAMDATA") or "C:\\ProgramData"
        return Location("pixi", str(p.path(data, "pixi", "config.toml")), "system file")
    return Location("pixi", "/etc/pixi/config.toml", "system file")


def read_order(tool: str, p: Platform) -> list[Location]:
    """Every file ``tool`` reads, lowest precedence first (for ``config show``)."""
    out: list[Location] = []
    if tool == "conda":
        root = conda_root(p)
        if root:
            out.append(Location("conda", str(p.path(root, ".condarc")), "conda's root prefix"))
        xdg = p.env("XDG_CONFIG_HOME")
        for path in (
            *([str(p.path(xdg, "conda", ".condarc"))] if xdg else []),
            _home(p, ".config", "conda", ".condarc"),
            _home(p, ".conda", ".condarc"),
            _home(p, ".condarc"),
        ):
            out.append(Location("conda", path, "user file"))
        if p.env("CONDA_PREFIX"):
            out.append(_conda("env", p))
        if p.env("CONDARC"):
            out.append(Location("conda", p.env("CONDARC") or "", "$CONDARC"))
    elif tool == "pip":
        if p.os == "linux":
            dirs = (p.env("XDG_CONFIG_DIRS") or "/etc/xdg").split(":")
            out += [Location("pip", f"{d}/pip/pip.conf", "system file") for d in dirs if d]
        out.append(_pip("system", p))
        if not p.env("PIP_CONFIG_FILE"):  # pip skips the user files when it is set
            name = "pip.ini" if p.os == "windows" else "pip.conf"
            legacy = _home(p, "pip" if p.os == "windows" else ".pip", name)
            out += [Location("pip", legacy, "user file (legacy)"), _pip("user", p)]
        if p.env("VIRTUAL_ENV") or p.env("CONDA_PREFIX"):
            out.append(_pip("env", p))
        if p.env("PIP_CONFIG_FILE"):
            out.append(Location("pip", p.env("PIP_CONFIG_FILE") or "", "$PIP_CONFIG_FILE"))
    elif tool == "uv" and p.env("UV_CONFIG_FILE"):
        out.append(_uv("user", p))
    else:
        out += [config_file(tool, "system", p), config_file(tool, "user", p)]
    seen: set[str] = set()
    return [loc for loc in out if not (loc.path in seen or seen.add(loc.path))]
