"""Reading and writing the tools' configuration files safely.  [edge: disk]

- A file is read once into a :class:`Snapshot` (its bytes, or its absence, and its mode); a
  symbolic link is followed, so a dotfile manager's link stays a link and its target changes.
- Before a write, the original is copied next to it as ``<name>.minstall-<UTC time>.bak``
  (created exclusively: an older backup is never overwritten).
- The write is atomic: a temporary file in the same folder, flushed to disk, given the old
  file's permissions (a new file gets the usual ones, umask applied), then renamed over the
  file. Just before the rename the file is read again: if it changed since the snapshot
  (another program, an editor), nothing is written and the error says so. A change landing
  between that check and the rename (microseconds) is not caught: no portable lock exists
  that conda, pip, uv and editors all honour.
- What ``apply`` wrote is recorded in ``<cache dir>/config/applied.json`` (per tool: the
  file, its backup, the SHA-256 of what was written), which ``undo`` reads.
- Text is decoded as the file's tool reads it (pip's and conda's files in the locale's
  encoding, code page 936 on a Chinese Windows; uv's and pixi's TOML in UTF-8) and written
  back in the same encoding, byte-order mark and line endings; every write is binary.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mirrorinstall.core import fileops, hostos
from mirrorinstall.core.errors import CacheError, ConfigError
from mirrorinstall.core.textcodec import TextForm, decode_locale_file

MAX_CONFIG_BYTES = 1024 * 1024  # a configuration file larger than this is not one


@dataclass(frozen=True)
class Snapshot:
    path: str  # as located (what the user knows it as)
    target: Path  # where the bytes are (symbolic links followed)
    data: bytes | None  # None: no such file
    mode: int | None
    encoding: str = "utf-8"  # the encoding its tool reads it in (core/textcodec.py)

    @property
    def text(self) -> str | None:
        """The file's text as its tool reads it (a UTF-8 byte-order mark set aside), None if
        absent."""
        if self.data is None:
            return None
        return self._decoded()[0]

    def _decoded(self) -> tuple[str, TextForm]:
        try:
            return decode_locale_file(self.data or b"", self.encoding)
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{self.path}: not {self.encoding} text (byte {exc.start}), the encoding its "
                "tool reads it in",
                f"The tool cannot read it either: save it as {self.encoding}, then run the "
                "command again.",
            ) from None

    def encode(self, text: str) -> bytes:
        """``text`` as this file's bytes: its encoding, its byte-order mark kept."""
        form = self._decoded()[1] if self.data is not None else TextForm(self.encoding)
        try:
            return form.encode(text)
        except UnicodeEncodeError as exc:
            raise ConfigError(
                f"{self.path}: {text[exc.start : exc.end]!r} cannot be written in "
                f"{form.encoding}, the file's encoding; nothing was written",
                "Report it: minstall writes only URLs and option names.",
            ) from None


def encoding_for(tool: str | None) -> str:
    """The encoding ``tool`` reads its file in: pip and conda read theirs with the locale's
    (pip.ini in code page 936 on a Chinese Windows); uv and pixi read TOML, which is UTF-8."""
    if tool in ("pip", "conda"):
        return hostos.locale_encoding()
    return "utf-8"


def sha256(data: bytes | None) -> str | None:
    return hashlib.sha256(data).hexdigest() if data is not None else None


def _read_bytes(target: Path, shown: str) -> tuple[bytes | None, int | None]:
    """A regular file's bytes and mode, opened without blocking (a FIFO would wait for a
    writer for ever); anything else (a device, a FIFO, a socket, a folder) is refused: a
    config path linked to /dev/null was replaced by a regular file, which as root would be
    /dev/null itself."""
    try:
        if os.path.isdir(target):  # Windows refuses to open one with "permission denied"
            raise IsADirectoryError
        fd = fileops.open_binary(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise IsADirectoryError
            if not stat.S_ISREG(info.st_mode):
                raise ConfigError(
                    f"{shown} is not a regular file (a device, a FIFO or a socket); "
                    "minstall edits only regular files, and wrote nothing",
                    "Point the tool at a regular file, or leave this one out.",
                )
            data = f.read(MAX_CONFIG_BYTES + 1)
            mode = info.st_mode & 0o7777
    except FileNotFoundError:
        return None, None
    except IsADirectoryError:
        raise ConfigError(f"{shown} is a folder, not a file", "Move it aside.") from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read {shown}: {exc.strerror or exc}",
            "Check the file's permissions (a system file needs an administrator).",
        ) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{shown} is larger than {MAX_CONFIG_BYTES // 1024} KiB: not a configuration file",
            "Check what the file is; minstall leaves it alone.",
        )
    return data, mode


def read(path: str, tool: str | None = None) -> Snapshot:
    """The file at ``path`` as it is now; ``tool``: whose file it is (its encoding)."""
    target = Path(os.path.realpath(path))
    data, mode = _read_bytes(target, path)
    return Snapshot(path, target, data, mode, encoding_for(tool))


def backup(snap: Snapshot, now: float | None = None) -> Path | None:
    """Copy the original next to it; None when there was no file."""
    if snap.data is None:
        return None
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now if now is not None else time.time()))
    for n in range(100):
        suffix = "" if n == 0 else f"-{n}"
        dest = snap.target.with_name(f"{snap.target.name}.minstall-{stamp}{suffix}.bak")
        try:
            fd = fileops.open_binary(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, snap.mode or 0o600)
        except FileExistsError:
            continue
        except OSError as exc:
            raise ConfigError(
                f"cannot back up {snap.path} to {dest}: {exc.strerror or exc}; nothing written",
                "Check the folder's permissions.",
            ) from None
        with os.fdopen(fd, "wb") as out:
            out.write(snap.data)
            out.flush()
            os.fsync(out.fileno())
        return dest
    raise ConfigError(f"too many backups of {snap.path} this second", "Run it again.")


def check_unchanged(snap: Snapshot) -> None:
    """Raise if the file no longer holds what ``snap`` read."""
    now, _ = _read_bytes(snap.target, snap.path)
    if now != snap.data:
        raise ConfigError(
            f"{snap.path} changed since minstall read it (another program or an editor wrote "
            "it); nothing was written",
            "Run the command again: it reads the file afresh and shows the new diff.",
        )


def commit(snap: Snapshot, data: bytes | None, mode: int | None = None) -> None:
    """Replace the file ``snap`` was read from with ``data`` (None: remove it), atomically,
    unless it changed since."""
    check_unchanged(snap)
    if data is None:
        try:
            fileops.remove(snap.target, own=False)
        except OSError as exc:
            raise ConfigError(
                f"cannot remove {snap.path}: {fileops.why(exc)}",
                "Close the program that has it open.",
            ) from None
        return
    folder = snap.target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{snap.target.name}.{secrets.token_hex(4)}.minstall.tmp"
        fd = fileops.open_binary(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
    except OSError as exc:
        raise ConfigError(
            f"cannot write {snap.path}: {exc.strerror or exc}; nothing was written",
            "Check the folder's permissions (a system file needs an administrator).",
        ) from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        keep = mode if mode is not None else snap.mode
        if keep is not None:
            os.chmod(tmp, keep)
        fileops.replace(tmp, snap.target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            fileops.remove(tmp)
        if isinstance(exc, OSError):
            raise ConfigError(
                f"cannot write {snap.path}: {fileops.why(exc)}; nothing was written",
                "Close the program that has it open, or clear its read-only flag, then run "
                "the command again.",
            ) from None
        raise


# ------------------------------------------------------------------ what apply wrote


def _record_path(cache_dir: Path) -> Path:
    return cache_dir / "config" / "applied.json"


def load_record(cache_dir: Path, strict: bool = False) -> dict[str, Any]:
    """{tool: {path, backup, written_sha256, at}} of the last apply per tool. An unreadable
    record is empty to ``apply`` (it writes a new one) and an error to ``undo`` (``strict``),
    which must not say "nothing to undo" when it cannot tell."""
    path = _record_path(cache_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        data = None
    if not isinstance(data, dict):
        if strict:
            raise CacheError(
                f"{path}: the record of what 'minstall config apply' wrote is unreadable",
                "Each original is kept next to its file as <name>.minstall-<time>.bak: copy "
                "back the one you want, then delete the record.",
            )
        return {}
    return {
        tool: entry
        for tool, entry in data.items()
        if isinstance(entry, dict)
        and isinstance(entry.get("path"), str)
        and isinstance(entry.get("backup"), (str, type(None)))
        and isinstance(entry.get("written_sha256"), (str, type(None)))
    }


def save_record(cache_dir: Path, record: dict[str, Any]) -> None:
    path = _record_path(cache_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".applied.{secrets.token_hex(4)}.tmp")
        tmp.write_bytes(json.dumps(record, indent=2, sort_keys=True).encode("utf-8"))
        fileops.replace(tmp, path)
    except OSError as exc:
        raise CacheError(
            f"cannot record the change in {path}: {exc.strerror or exc}",
            "Check the cache folder (minstall cache info); the backup is next to the file.",
        ) from None
