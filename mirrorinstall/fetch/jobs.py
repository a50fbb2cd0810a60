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
    no ``..``, not hidden, no control character), safe to create under a directory of ours."""
    return (
        bool(name)
        and name not in (".", "..")
        and not name.startswith(".")
        and not any(c in name for c in "/\\\0")
        and name.isprintable()
    )
