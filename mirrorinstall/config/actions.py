"""``config apply`` and ``config undo``: read each file, compute its new text, back it up,
write it, record it; and the reverse.  [edge: disk]

Functions return what they did (:class:`Change`); printing is the CLI's.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mirrorinstall.config import condarc, files, pipconf, tomlconf
from mirrorinstall.config.desired import Wanted, wanted
from mirrorinstall.config.locations import (
    SCOPES,
    TOOLS,
    Location,
    Platform,
    config_file,
    read_order,
)
from mirrorinstall.config.show import overridden
from mirrorinstall.core import fileops, hostos
from mirrorinstall.core.errors import ConfigError, MinstallError
from mirrorinstall.rewrite.common import Context


@dataclass
class Change:
    tool: str
    location: Location
    snapshot: files.Snapshot
    new_text: str | None  # None: the file is removed (undo of a file apply created)
    notes: list[str] = field(default_factory=list)
    backup: str | None = None  # set once written

    @property
    def changed(self) -> bool:
        return self.new_text != self.snapshot.text

    def diff(self) -> str:
        return unified_diff(self.snapshot.text, self.new_text, self.location.path)


def unified_diff(old: str | None, new: str | None, path: str) -> str:
    """A unified diff, ``/dev/null`` standing for a missing file, as git shows one."""
    lines = difflib.unified_diff(
        (old or "").splitlines(keepends=True),
        (new or "").splitlines(keepends=True),
        fromfile=path if old is not None else "/dev/null",
        tofile=path if new is not None else "/dev/null",
    )
    # a CRLF file's lines are shown without the CR (it would move the terminal's cursor)
    return "".join(line.rstrip("\r\n") + "\n" for line in lines)


def platform_of(environ: Mapping[str, str]) -> Platform:
    """This machine's :class:`Platform`, from the environment minstall was handed."""
    os_name = (
        "windows"
        if sys.platform.startswith("win")
        else "darwin"
        if sys.platform == "darwin"
        else "linux"
    )
    home = hostos.home_of(environ, os_name == "windows")
    mac_pip = os.path.join(home, "Library", "Application Support", "pip")
    existing = frozenset([mac_pip] if os.path.isdir(mac_pip) else [])
    return Platform(os_name, environ, home, existing)


def tools_found(environ: Mapping[str, str]) -> list[str]:
    """The tools installed here, for ``config apply`` with no tool named: pip always (it
    comes with Python), conda through ``CONDA_EXE`` or PATH, uv and pixi on PATH."""
    path = environ.get("PATH")
    found = []
    for tool in TOOLS:
        if (
            tool == "pip"
            or shutil.which(tool, path=path)
            or (tool == "conda" and environ.get("CONDA_EXE"))
        ):
            found.append(tool)
    return found


def plan(tools: list[str], scope: str, p: Platform, ctx: Context) -> list[Change]:
    """What ``apply`` would write, per tool (nothing is written here)."""
    out = []
    for tool in tools:
        loc = config_file(tool, scope, p)
        snap = files.read(loc.path, tool)
        text = snap.text
        extra = condarc.listed_channels(text, loc.path) if tool == "conda" else ()
        want = wanted(ctx, extra)
        new, notes = edit(tool, text, want, loc.path)
        notes = [*(want.notes if tool == "conda" else []), *want.token_notes, *notes]
        notes += _overridden(tool, loc, new, p, ctx)
        out.append(Change(tool, loc, snap, new, notes))
    return out


def _overridden(tool: str, loc: Location, new: str, p: Platform, ctx: Context) -> list[str]:
    """Whether a file read after ``loc``, or a variable, would override what is written."""
    sources = []
    for other in read_order(tool, p):
        if other.path == loc.path:
            sources.append((other, new))
            continue
        try:
            sources.append((other, files.read(other.path, tool).text))
        except ConfigError:
            continue  # unreadable to us: the tool cannot read it either, or says so itself
    if not any(s[0].path == loc.path for s in sources):
        sources.append((loc, new))
    try:
        return overridden(tool, sources, loc.path, ctx.facts.environ, ctx.facts.catalog)
    except ConfigError:
        return []


def edit(tool: str, text: str | None, want: Wanted, path: str) -> tuple[str, list[str]]:
    """The new text of one tool's file. Pure."""
    if tool == "conda":
        done = condarc.edit(text, want, path)
        return done.text, done.notes
    if tool == "pip":
        return pipconf.edit(text, want)
    if tool == "uv":
        return tomlconf.edit_uv(text, want, path)
    return tomlconf.edit_pixi(text, want, path)


def write(changes: list[Change], cache_dir: Path) -> None:
    """Back up, write and record every change that changes something."""
    record = files.load_record(cache_dir)
    for change in changes:
        if not change.changed or change.new_text is None:
            continue
        snap = change.snapshot
        files.check_unchanged(snap)  # before the backup: a refused write leaves no trace
        saved = files.backup(snap)
        try:
            files.commit(snap, snap.encode(change.new_text))
        except ConfigError:
            if saved is not None:  # "nothing was written": no backup of a file left as it was
                with contextlib.suppress(OSError):
                    fileops.remove(saved)
            raise
        change.backup = str(saved) if saved else None
        written = files.read(change.location.path, change.tool).data
        record[change.tool] = {
            "path": str(snap.target),
            "shown": change.location.path,
            "backup": change.backup,
            "written_sha256": files.sha256(written),
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        files.save_record(cache_dir, record)


def plan_undo(
    tools: list[str], cache_dir: Path, force: bool, p: Platform | None = None
) -> list[Change]:
    """What ``undo`` would restore, per tool that ``apply`` wrote. The record is checked
    before it is trusted (it is a file anyone with the account can edit): its path must be
    one the tool reads its configuration from, its backup a ``.bak`` apply made beside it."""
    record = files.load_record(cache_dir, strict=True)
    out = []
    for tool in tools:
        entry = record.get(tool)
        if entry is None:
            continue
        _trusted(tool, entry, p or platform_of(os.environ))
        snap = files.read(entry["path"], tool)
        if files.sha256(snap.data) != entry["written_sha256"] and not force:
            raise ConfigError(
                f"{entry.get('shown') or entry['path']} was edited after 'minstall config "
                "apply' wrote it; undo would lose that edit",
                f"Look at it and its backup ({entry['backup'] or 'none: apply created it'}), "
                f"then run 'minstall config undo --{tool} --force' to restore the backup anyway.",
            )
        old = None
        if entry["backup"] is not None:
            kept = files.read(entry["backup"], tool)
            if kept.data is None:
                raise ConfigError(
                    f"the backup {entry['backup']} is gone; nothing to restore",
                    "Edit the file by hand; 'minstall config show' says what it holds.",
                )
            old = kept
        loc = Location(tool, entry.get("shown") or entry["path"], "written by config apply")
        change = Change(tool, loc, snap, old.text if old is not None else None)
        change.backup = entry["backup"]
        out.append(change)
    return out


_CONFIG_NAMES = {
    "conda": (".condarc", "condarc"),
    "pip": ("pip.conf", "pip.ini"),
    "uv": ("uv.toml",),
    "pixi": ("config.toml",),
}
_BACKUP_NAME = re.compile(r"\.minstall-\d{8}T\d{6}Z(?:-\d{1,2})?\.bak")


def _trusted(tool: str, entry: dict, p: Platform) -> None:
    """Refuse a record that names a file apply does not write for ``tool`` (a tampered
    record would have undo delete or overwrite any file it names)."""
    path = os.path.realpath(entry["path"])
    known = set()
    for scope in SCOPES:
        try:
            known.add(os.path.realpath(config_file(tool, scope, p).path))
        except MinstallError:
            continue  # a scope this machine does not have (no conda root, no environment)
    known.update(os.path.realpath(loc.path) for loc in read_order(tool, p))
    # a file apply wrote under another environment ($CONDARC, $PIP_CONFIG_FILE then) still
    # carries the tool's own file name
    if path not in known and os.path.basename(path) not in _CONFIG_NAMES[tool]:
        raise ConfigError(
            f"the record of what 'config apply' wrote names {entry['path']} for {tool}, which "
            f"is not a file {tool} reads its configuration from here; refusing to touch it",
            "The record (<cache dir>/config/applied.json) may have been edited: restore the "
            "file from its .bak by hand, then delete the record.",
        )
    backup = entry.get("backup")
    if backup is not None:
        target = Path(path)
        name = Path(backup).name
        if (
            os.path.realpath(os.path.dirname(backup)) != str(target.parent)
            or not name.startswith(target.name)
            or not _BACKUP_NAME.fullmatch(name[len(target.name) :])
        ):
            raise ConfigError(
                f"the record names {backup} as the backup of {entry['path']}, which is not a "
                "backup 'config apply' makes (<file>.minstall-<time>.bak beside the file); "
                "refusing to restore from it",
                "Restore the file from its .bak by hand, then delete the record.",
            )


def restore(changes: list[Change], cache_dir: Path) -> None:
    """Put every backup back, byte for byte (a file apply created is removed)."""
    record = files.load_record(cache_dir)
    for change in changes:
        kept = files.read(change.backup) if change.backup else None
        files.commit(change.snapshot, kept.data if kept else None, kept.mode if kept else None)
        record.pop(change.tool, None)
        files.save_record(cache_dir, record)
