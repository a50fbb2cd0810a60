"""A wheel's METADATA read from a few byte ranges of it, as uv does for indexes without PEP 658
files: the end of the zip (its directory), then the one entry. Pure: the bytes come through
the ``read`` callable the caller gives.

The zip format: https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT (4.3.12 central
directory header, 4.3.14-16 the end records and their zip64 forms, 4.3.7 local header). The
wheel layout (exactly one top-level ``*.dist-info`` with a METADATA file):
https://packaging.python.org/en/latest/specifications/binary-distribution-format/
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

TAIL_BYTES = 64 * 1024  # the first read: the end record and, for most wheels, the directory
DIRECTORY_LIMIT = 64 * 1024 * 1024  # torch's directory is ~2 MB; more is not a wheel we read
METADATA_LIMIT = 16 * 1024 * 1024
LOCAL_SLACK = 1024  # a local header's name and extra field, read with the entry in one range

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_METADATA = re.compile(r"[^/]+\.dist-info/METADATA")


class NotAWheel(ValueError):
    """The bytes are not a zip with one METADATA where a wheel keeps it."""


@dataclass(frozen=True)
class _Entry:
    name: str
    method: int
    crc: int
    csize: int
    usize: int
    offset: int


Read = Callable[[int, int], bytes]  # (start, end exclusive) -> exactly those bytes


def wheel_metadata(size: int, tail: bytes, read: Read) -> bytes:
    """The METADATA file of the wheel of ``size`` bytes whose last ``len(tail)`` bytes are
    ``tail``; ``read`` fetches any other range."""
    if not 22 <= len(tail) <= size:
        raise NotAWheel("the file is too short to be a zip")
    base = size - len(tail)

    def span(start: int, end: int) -> bytes:
        if start < 0 or end > size or start > end:
            raise NotAWheel("an offset points outside the file")
        if start >= base:
            return tail[start - base : end - base]
        got = read(start, end)
        if len(got) != end - start:
            raise NotAWheel("the server sent another length than asked for")
        return got

    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        raise NotAWheel("no end of central directory record")
    _, _, _, _, count, dir_size, dir_offset, _ = struct.unpack("<4sHHHHIIH", tail[at : at + 22])
    if 0xFFFF in (count,) or 0xFFFFFFFF in (dir_size, dir_offset):
        count, dir_size, dir_offset = _zip64(base + at, span)
    if dir_size > DIRECTORY_LIMIT:
        raise NotAWheel(f"the zip directory is {dir_size} bytes, more than a wheel has")
    entry = _find(span(dir_offset, dir_offset + dir_size), count)
    if entry.usize > METADATA_LIMIT or entry.csize > METADATA_LIMIT:
        raise NotAWheel(f"{entry.name} is {entry.usize} bytes, more than metadata is")
    end = min(entry.offset + 30 + LOCAL_SLACK + entry.csize, size)
    local = span(entry.offset, end)
    if local[:4] != _LOCAL:
        raise NotAWheel("no local header where the directory says")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    start = 30 + name_len + extra_len
    if start + entry.csize > len(local):
        local += span(entry.offset + len(local), entry.offset + start + entry.csize)
    data = local[start : start + entry.csize]
    if entry.method == 0:
        out = data
    elif entry.method == 8:
        inflate = zlib.decompressobj(-15)
        try:
            out = inflate.decompress(data, METADATA_LIMIT + 1)
        except zlib.error as exc:
            raise NotAWheel(f"{entry.name} does not inflate ({exc})") from None
    else:
        raise NotAWheel(f"{entry.name} uses compression method {entry.method}")
    if len(out) != entry.usize or zlib.crc32(out) != entry.crc:
        raise NotAWheel(f"{entry.name} does not match its checksum")
    return out


def _zip64(eocd_at: int, span: Callable[[int, int], bytes]) -> tuple[int, int, int]:
    if eocd_at < 20:
        raise NotAWheel("no zip64 end record locator")
    locator = span(eocd_at - 20, eocd_at)
    sig, _, record_at, _ = struct.unpack("<4sIQI", locator)
    if sig != _EOCD64_LOCATOR:
        raise NotAWheel("no zip64 end record locator")
    record = span(record_at, record_at + 56)
    sig, _, _, _, _, _, _, count, dir_size, dir_offset = struct.unpack("<4sQHHIIQQQQ", record)
    if sig != _EOCD64:
        raise NotAWheel("no zip64 end record")
    return count, dir_size, dir_offset


def _find(directory: bytes, count: int) -> _Entry:
    """The directory's one top-level ``*.dist-info/METADATA`` entry."""
    found: list[_Entry] = []
    pos = 0
    for _ in range(count):
        if directory[pos : pos + 4] != _CENTRAL or pos + 46 > len(directory):
            raise NotAWheel("the zip directory is damaged")
        fields = struct.unpack("<4sHHHHHHIIIHHHHHII", directory[pos : pos + 46])
        method, crc, csize, usize = fields[4], fields[7], fields[8], fields[9]
        name_len, extra_len, comment_len, offset = fields[10], fields[11], fields[12], fields[16]
        raw = directory[pos + 46 : pos + 46 + name_len]
        extra = directory[pos + 46 + name_len : pos + 46 + name_len + extra_len]
        pos += 46 + name_len + extra_len + comment_len
        name = raw.decode("utf-8", "replace")
        if not _METADATA.fullmatch(name):
            continue
        usize, csize, offset = _zip64_sizes(extra, usize, csize, offset)
        found.append(_Entry(name, method, crc, csize, usize, offset))
    if len(found) != 1:
        raise NotAWheel(f"{len(found)} top-level .dist-info/METADATA files, a wheel has one")
    return found[0]


def _zip64_sizes(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    """The real values of the fields a zip64 extra field (0x0001) stands in for."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack("<HH", extra[pos : pos + 4])
        body = extra[pos + 4 : pos + 4 + length]
        pos += 4 + length
        if tag != 1:
            continue
        values = [struct.unpack("<Q", body[k : k + 8])[0] for k in range(0, len(body) - 7, 8)]
        real = []
        for field in (usize, csize, offset):
            real.append(values.pop(0) if field == 0xFFFFFFFF and values else field)
        return real[0], real[1], real[2]
    return usize, csize, offset
