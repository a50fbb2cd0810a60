"""What to download: a file, its sha256, and the mirrors that have it. Pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    mirror: str
    url: str


@dataclass
class Job:
    """A file to fetch: its name, its sha256 (which decides whether two copies are the same
    file), its size if an index gave it, and where it is, best-ranked first."""

    name: str
    sha256: str
    size: int | None
    sources: list[Source]


def plain_name(name: str) -> bool:
    """Whether a file name a server sent is a plain name in one directory (no path separator,
    no ``..``, not hidden, no control character), safe to create under a directory of ours
    on every platform. Windows' rules too, wherever minstall runs (a store can be shared, a
    plan made for another machine): none of ``<>:"|?*`` (``x.whl:evil`` writes an NTFS
    alternate stream), no trailing dot or space, no device name (``NUL.whl`` is the device
    NUL), at most 255 characters (bytes of UTF-8 on Linux)
    (https://learn.microsoft.com/en-us/windows/win32/fileio/naming-a-file)."""
    return (
        bool(name)
        and len(name.encode("utf-8", "surrogatepass")) <= 255  # Linux counts bytes
        and name not in (".", "..")
        and not name.startswith(".")
        and not any(c in name for c in '/\\\0<>:"|?*')
        and not name.endswith((".", " "))
        and name.split(".", 1)[0].rstrip(" ").upper() not in _WINDOWS_DEVICES
        and name.isprintable()
    )


_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{port}{n}" for port in ("COM", "LPT") for n in [*"0123456789", "¹", "²", "³"]]
)
