"""Where minstall's settings come from, and where its files live.  [edge: disk, environment]

Precedence, highest first: command-line flag > ``MINSTALL_*`` environment
variable > user files > packaged defaults. Every resolved value carries its
source (``Setting.source``) so ``minstall`` can say where a value came from.

=====================  =========================  ===========================================
setting                flag / variable            default
=====================  =========================  ===========================================
catalog (exclusive)    ``--catalog FILE`` /        packaged ``mirrors.toml`` merged with the
                       ``MINSTALL_CATALOG``        user catalog (below)
user catalog           (none)                     ``<config dir>/mirrors.toml``
config dir             ``MINSTALL_CONFIG_DIR``     the platform's config dir (click.get_app_dir)
cache dir              ``--cache-dir`` /           ``$XDG_CACHE_HOME/minstall`` or
                       ``MINSTALL_CACHE_DIR``      ``~/.cache/minstall`` (Linux),
                                                  ``~/Library/Caches/minstall`` (macOS),
                                                  ``%LOCALAPPDATA%\\minstall\\Cache`` (Windows)
=====================  =========================  ===========================================

``--catalog``/``MINSTALL_CATALOG`` means *only* that file: no packaged
catalog, no user catalog (air-gapped sites, tests).

This module touches the disk and reads the environment it is handed
(``environ``); it never reads ``os.environ`` by itself.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mirrorinstall.core import fileops, hostos
from mirrorinstall.core.catalog import Catalog, build_catalog
from mirrorinstall.core.errors import CatalogError, ConfigError

APP = "minstall"
CATALOG_FILENAME = "mirrors.toml"


@dataclass(frozen=True)
class Setting:
    value: Path
    source: str  # e.g. "--cache-dir", "MINSTALL_CACHE_DIR", "default"


@dataclass(frozen=True)
class Session:
    """What the stages start from, read once by the CLI and passed down."""

    environ: Mapping[str, str]
    catalog: Catalog
    cache_dir: Path


def packaged_catalog_text() -> tuple[str, str]:
    """(path, text) of the catalog shipped with minstall."""
    shipped = resources.files("mirrorinstall").joinpath(CATALOG_FILENAME)
    if shipped.is_file():
        return str(shipped), shipped.read_text(encoding="utf-8")
    # Running from a source checkout (editable install): the catalog sits at the repo root.
    in_repo = Path(__file__).resolve().parents[2] / CATALOG_FILENAME
    if in_repo.is_file():
        return str(in_repo), in_repo.read_text(encoding="utf-8")
    raise ConfigError(
        "the packaged mirror catalog (mirrors.toml) is missing from this installation",
        "Reinstall minstall (pip install --force-reinstall mirrorinstall), or pass --catalog FILE.",
    )


OFF = ("0", "false", "no", "off")


def fetch_setting(environ: Mapping[str, str]) -> bool:
    """Whether minstall downloads pip's and uv's files itself (``MINSTALL_FETCH``, default on)."""
    value = environ.get("MINSTALL_FETCH", "").strip().lower()
    if value and value not in (*OFF, "1", "true", "yes", "on"):
        raise ConfigError(
            f"MINSTALL_FETCH={value!r} is not a yes or a no",
            "Set MINSTALL_FETCH to 1 (minstall downloads the files) or 0 (the installer does).",
        )
    return value not in OFF


STORE_LIMIT_MB = 20 * 1024  # a few CUDA builds of torch with their nvidia-* wheels


def store_limit_mb(environ: Mapping[str, str]) -> int:
    """The store's size limit in MiB (``MINSTALL_STORE_LIMIT_MB``; 0: no limit)."""
    value = environ.get("MINSTALL_STORE_LIMIT_MB", "").strip()
    if not value:
        return STORE_LIMIT_MB
    if not value.isdigit():
        raise ConfigError(
            f"MINSTALL_STORE_LIMIT_MB={value!r} is not a whole number of MiB",
            "Set it to the most MiB the store of downloaded files may hold (0: no limit).",
        )
    return int(value)


def config_dir(environ: Mapping[str, str]) -> Setting:
    if environ.get("MINSTALL_CONFIG_DIR"):
        return Setting(Path(environ["MINSTALL_CONFIG_DIR"]), "MINSTALL_CONFIG_DIR")
    import click  # click knows each platform's config dir; imported late to keep this module light

    return Setting(Path(click.get_app_dir(APP)), "default")


def user_catalog_path(environ: Mapping[str, str]) -> Path:
    return config_dir(environ).value / CATALOG_FILENAME


def cache_dir(
    flag: str | None, environ: Mapping[str, str], platform: str = sys.platform
) -> Setting:
    if flag:
        return Setting(Path(flag), "--cache-dir")
    if environ.get("MINSTALL_CACHE_DIR"):
        return Setting(Path(environ["MINSTALL_CACHE_DIR"]), "MINSTALL_CACHE_DIR")
    home = Path(hostos.home_of(environ, platform.startswith("win")))
    if platform.startswith("win"):
        base = environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Setting(Path(base) / APP / "Cache", "default")
    if platform == "darwin":
        return Setting(home / "Library" / "Caches" / APP, "default")
    base = environ.get("XDG_CACHE_HOME") or str(home / ".cache")
    return Setting(Path(base) / APP, "default")


def catalog_layers(flag: str | None, environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """The (path, text) layers to merge, in order, following the precedence above."""
    exclusive = flag or environ.get("MINSTALL_CATALOG")
    if exclusive:
        source = "--catalog" if flag else "MINSTALL_CATALOG"
        return [(exclusive, _read(Path(exclusive), source))]
    layers = [packaged_catalog_text()]
    user = user_catalog_path(environ)
    if user.is_file():
        layers.append((str(user), _read(user, "user catalog")))
    return layers


def load_catalog(flag: str | None, environ: Mapping[str, str]) -> Catalog:
    catalog = build_catalog(catalog_layers(flag, environ))
    if flag or environ.get("MINSTALL_CATALOG"):
        # An exclusive catalog replaces the mirrors, not what is true of a channel everywhere
        # ('defaults' = main, r, msys2; pytorch frozen after 2.5): those facts still apply.
        from dataclasses import replace

        packaged = build_catalog([packaged_catalog_text()])
        catalog = replace(catalog, channels={**packaged.channels, **catalog.channels})
    return catalog


CATALOG_LIMIT = 4 * 1024 * 1024  # the shipped catalog is ~40 KB


def _read(path: Path, source: str) -> str:
    try:
        if path.is_dir():
            raise fileops.NotRegular(0, "a folder, not a file")
        return fileops.read_regular(path, CATALOG_LIMIT).decode("utf-8")
    except FileNotFoundError:
        raise CatalogError(
            str(path),
            f"file not found (given by {source})",
            hint="Check the path, or unset it to use the packaged catalog.",
        ) from None
    except fileops.NotRegular as exc:
        raise CatalogError(
            str(path),
            f"cannot be read: {exc.strerror}",
            hint="Give the path of a catalog file (TOML, schema 1), or unset it.",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(str(path), f"cannot be read: {exc}") from None


def environ_snapshot() -> dict[str, str]:
    """The process environment, copied once at the edge (cli) and passed down."""
    return dict(os.environ)
