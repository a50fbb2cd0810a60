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
