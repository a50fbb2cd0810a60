"""The ``minstall`` command line: the only module that prints or exits.

Commands wire the edges (settings, later probes and runners) to the pure core.
Heavy modules (httpx, tqdm) are imported inside the commands that need them,
so ``minstall --help`` stays fast; a test holds that line.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NoReturn

import click

from mirrorinstall import __version__
from mirrorinstall.catalog import Catalog, Mirror
from mirrorinstall.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, MinstallError
from mirrorinstall.settings import (
    environ_snapshot,
    load_catalog,
    user_catalog_path,
)


@dataclass
class AppContext:
    """What every command gets: the global options and the environment, read once."""

    catalog_flag: str | None = None
    cache_dir_flag: str | None = None
    debug: bool = False
    environ: Mapping[str, str] = field(default_factory=dict)

    def catalog(self) -> Catalog:
        return load_catalog(self.catalog_flag, self.environ)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="minstall")
@click.option(
    "--catalog",
    "catalog_flag",
    metavar="FILE",
    envvar="MINSTALL_CATALOG",
    help="Use only this mirror catalog (no packaged or user catalog). Env: MINSTALL_CATALOG.",
)
@click.option(
    "--cache-dir",
    "cache_dir_flag",
    metavar="DIR",
    envvar="MINSTALL_CACHE_DIR",
    help="Where rankings and downloads are cached. Env: MINSTALL_CACHE_DIR.",
)
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(
    ctx: click.Context, catalog_flag: str | None, cache_dir_flag: str | None, debug: bool
) -> None:
    """minstall: install heavy Python packages (PyTorch, TensorFlow, CUDA) through the
    fastest healthy mirror, with the CUDA build your driver can run.
    """
    ctx.obj = AppContext(catalog_flag, cache_dir_flag, debug, environ_snapshot())


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the catalog as JSON (stable schema).")
@click.option(
    "--path",
    "show_path",
    is_flag=True,
    help="Print the path of the user catalog (created by you; merges by mirror id).",
)
@click.pass_obj
def mirrors(app: AppContext, as_json: bool, show_path: bool) -> None:
    """List every mirror minstall knows: what it carries, its region and sources."""
    if show_path:
        path = user_catalog_path(app.environ)
        click.echo(str(path))
        if not path.is_file():
            click.echo(
                "(does not exist yet; create it with 'schema = 1' and [mirror.<id>] "
                "tables to add or override mirrors)",
                err=True,
            )
        return
    catalog = app.catalog()
    if as_json:
        click.echo(json.dumps(catalog_to_json(catalog), indent=2))
        return
    click.echo(format_mirror_table(catalog.mirrors))
    enabled = len(catalog.enabled())
    click.echo(
        f"\n{len(catalog.mirrors)} mirrors ({enabled} enabled) from {', '.join(catalog.paths)}",
        err=True,
    )


def mirror_to_json(mirror: Mirror) -> dict[str, object]:
    return {
        "id": mirror.id,
        "name": mirror.name,
        "region": mirror.region,
        "upstream": mirror.upstream,
        "enabled": mirror.enabled,
        "insecure": mirror.insecure,
        "homepage": mirror.homepage,
        "kinds": list(mirror.kinds),
        "conda": {
            name: {
                "url": ch.url,
                "subdirs": list(ch.subdirs) if ch.subdirs else None,
                "source": ch.source,
                "note": ch.note,
            }
            for name, ch in mirror.conda.items()
        },
        "channel_alias": mirror.channel_alias,
        "pypi": None
        if mirror.pypi is None
        else {"simple": mirror.pypi.simple, "source": mirror.pypi.source, "note": mirror.pypi.note},
        "pytorch": None
        if mirror.pytorch is None
        else {
            "base": mirror.pytorch.base,
            "layout": mirror.pytorch.layout,
            "listing": mirror.pytorch.listing,
            "source": mirror.pytorch.source,
            "note": mirror.pytorch.note,
        },
        "token_env": mirror.token_env,
        "sources": list(mirror.sources),
        "notes": list(mirror.notes),
        "origins": list(mirror.origins),
    }


def catalog_to_json(catalog: Catalog) -> dict[str, object]:
    return {
        "schema": 1,
        "catalogs": list(catalog.paths),
        "mirrors": [mirror_to_json(m) for m in catalog.mirrors],
        "channels": {
            name: {
                "note": f.note,
                "frozen_after": f.frozen_after,
                "means": list(f.means),
                "windows_only": list(f.windows_only),
                "sources": list(f.sources),
            }
            for name, f in catalog.channels.items()
        },
    }


# Channels people ask for by name; the table shows these and counts the rest.
_KEY_CHANNELS = ("conda-forge", "bioconda", "pytorch", "nvidia")


def _conda_summary(m: Mirror) -> str:
    names = list(m.conda)
    shown = []
    if "main" in names and "r" in names:
        shown.append("defaults")
        names = [n for n in names if n not in ("main", "r", "msys2", "free")]
    shown += [n for n in _KEY_CHANNELS if n in names]
    rest = len([n for n in names if n not in _KEY_CHANNELS])
    if m.channel_alias:
        shown.append("any channel")
    elif rest:
        shown.append(f"+{rest}")
    return " ".join(shown) or "-"


def format_mirror_table(mirrors: Sequence[Mirror]) -> str:
    """A fixed-column table; ``minstall mirrors --json`` has every detail."""
    rows = [("ID", "REGION", "CONDA", "PYPI", "PYTORCH", "NAME")]
    for m in mirrors:
        flags = [f for f, on in (("upstream", m.upstream), ("disabled", not m.enabled)) if on]
        rows.append(
            (
                m.id,
                m.region,
                _conda_summary(m) if m.conda or m.channel_alias else "-",
                "yes" if m.pypi else "-",
                m.pytorch.layout if m.pytorch else "-",
                m.name + (f" [{', '.join(flags)}]" if flags else ""),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join(
        "  ".join(f"{cell:<{w}}" for cell, w in zip(r[:5], widths, strict=True)) + "  " + r[5]
        for r in rows
    )


def _report(message: str, hint: str | None) -> None:
    click.echo(f"minstall: error: {message}", err=True)
    if hint:
        click.echo(f"hint: {hint}", err=True)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Console-script entry point: run the CLI and turn every outcome into an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        result = cli.main(args=args, prog_name="minstall", standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except MinstallError as exc:
        if debug:
            traceback.print_exc()
        _report(exc.message, exc.hint)
        code = exc.exit_code
    except click.UsageError as exc:
        exc.show()
        code = EXIT_USAGE
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except (KeyboardInterrupt, click.Abort):
        click.echo("minstall: interrupted", err=True)
        code = EXIT_INTERRUPTED
    except Exception as exc:  # a bug: say so, and how to report it
        if debug:
            traceback.print_exc()
        _report(
            f"internal error: {type(exc).__name__}: {exc}",
            "This is a bug in minstall. Rerun with --debug and report the traceback.",
        )
        code = EXIT_INTERNAL
    sys.exit(code)
