"""Byte ranges of a file: how to split it, what is still missing. Pure.

A span is ``(start, end)`` with ``end`` exclusive. A file is split into spans of ``chunk``
bytes; a resumed download asks only for the spans its journal does not list as done.
"""

from __future__ import annotations

from collections.abc import Iterable

Span = tuple[int, int]

DEFAULT_CHUNK = 8 * 1024 * 1024


def split(size: int, chunk: int = DEFAULT_CHUNK) -> list[Span]:
    """``size`` bytes in spans of at most ``chunk`` bytes, in order (one span for a small file)."""
    if size <= 0:
        return [(0, 0)]
    return [(start, min(start + chunk, size)) for start in range(0, size, chunk)]


def merged(spans: Iterable[Span]) -> list[Span]:
    """The same bytes as few spans as possible, sorted."""
    out: list[list[int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(a, b) for a, b in out]


def missing(size: int, done: Iterable[Span], chunk: int = DEFAULT_CHUNK) -> list[Span]:
    """The spans (at most ``chunk`` bytes each) of ``size`` bytes not covered by ``done``."""
    gaps, cursor = [], 0
    for start, end in merged(done):
        if start > cursor:
            gaps.append((cursor, min(start, size)))
        cursor = max(cursor, end)
    if cursor < size:
        gaps.append((cursor, size))
    return [piece for gap in gaps for piece in _pieces(gap, chunk)]


def _pieces(gap: Span, chunk: int) -> list[Span]:
    return split_span(*gap, chunk)


def split_span(start: int, end: int, chunk: int) -> list[Span]:
    """Bytes ``start``..``end`` in spans of at most ``chunk`` bytes, in order."""
    return [(s, min(s + chunk, end)) for s in range(start, end, chunk)]


def covered(size: int, done: Iterable[Span]) -> int:
    """How many of the ``size`` bytes ``done`` covers."""
    return sum(min(end, size) - start for start, end in merged(done) if start < size)
