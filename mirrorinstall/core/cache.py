"""Rankings on disk: one JSON file per network, a TTL, atomic writes.  [edge: disk]

``<cache dir>/rankings/<network key>.json`` holds the last ``bench`` report. It is
written to a temporary file in the same directory and renamed over the old one, so a
reader never sees half a file and two processes writing at once leave one complete
report (the last rename wins). A file that cannot be parsed is ignored (and later
replaced), never fatal.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from mirrorinstall.core import fileops
from mirrorinstall.core.errors import CacheError
from mirrorinstall.core.untrusted import finite, json_object

MAX_REPORT_BYTES = 16 * 1024 * 1024  # a report of 1,000 mirrors is under 1 MB


def ranking_path(cache_dir: Path, network_key: str) -> Path:
    return cache_dir / "rankings" / f"{network_key}.json"


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write ``text`` (UTF-8, line endings as given) or bytes to ``path`` through a temporary
    file in the same directory and a rename: a reader never sees half a file, and nothing is
    left behind if writing fails. Binary on every platform (Windows' text mode would turn
    each LF into CRLF)."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        fileops.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            fileops.remove(tmp)
        raise


def save_report(path: Path, report: dict[str, Any]) -> None:
    try:
        write_atomic(path, json.dumps(finite(report), indent=1))
    except OSError as exc:
        raise CacheError(
            f"cannot write the ranking cache {path}: {exc.strerror or exc}",
            "Check the permissions of the cache dir, or choose another with --cache-dir "
            "(MINSTALL_CACHE_DIR).",
        ) from None


def load_report(path: Path, *, now_s: float, ttl_s: float) -> tuple[dict[str, Any] | None, str]:
    """(report, why) — the report only if present, readable and younger than ``ttl_s``."""
    try:
        text = fileops.read_regular(path, MAX_REPORT_BYTES).decode("utf-8")
    except fileops.NotRegular as exc:
        return None, f"cached ranking {path} is {exc.strerror}; measuring again"
    except FileNotFoundError:
        return None, "no cached ranking for this network"
    except OSError as exc:
        return None, f"cached ranking unreadable ({exc.strerror or exc})"
    except UnicodeDecodeError:
        return None, f"cached ranking {path} is not UTF-8; measuring again"
    try:
        report = json_object(text)
        created = float(report["created_at_s"])
        if not math.isfinite(created):
            raise ValueError("created_at_s is not a finite number")
    except (ValueError, KeyError, TypeError):
        return None, f"cached ranking {path} is corrupt; measuring again"
    age = now_s - created
    if age > ttl_s or age < -60:
        return None, f"cached ranking is {age / 3600:.1f} h old (TTL {ttl_s / 3600:g} h)"
    return report, f"cached {age / 60:.0f} min ago"
