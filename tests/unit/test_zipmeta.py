"""A wheel's METADATA from byte ranges (fetch/zipmeta.py), checked against what Python's own
zipfile reads from the same real wheels (../shared/data/wheels, and the pip and setuptools
wheels Python bundles), a zip64 wheel, and hostile zips."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest

from mirrorinstall.fetch.zipmeta import TAIL_BYTES, NotAWheel, wheel_metadata

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "wheels"
BUNDLED = sorted(Path(zipfile.__file__).parent.glob("ensurepip/_bundled/*.whl"))


def _reads(data: bytes, tail_bytes: int = TAIL_BYTES) -> tuple[bytes, list[tuple[int, int]]]:
    asked: list[tuple[int, int]] = []

    def read(start: int, end: int) -> bytes:
        asked.append((start, end))
        return data[start:end]

    return wheel_metadata(len(data), data[-tail_bytes:], read), asked


def _expected(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        (name,) = [n for n in z.namelist() if n.count("/") == 1 and n.endswith("/METADATA")]
        return z.read(name)


@pytest.mark.parametrize("path", [*sorted(SHARED.glob("*.whl")), *BUNDLED], ids=lambda p: p.name)
def test_real_wheels_read_as_zipfile_reads_them(path: Path) -> None:
    data = path.read_bytes()
    got, asked = _reads(data)
    assert got == _expected(data)
    assert len(asked) <= 2, asked  # the tail, at most the directory and the entry
    assert sum(b - a for a, b in asked) < len(data) // 2 or len(data) < 3 * TAIL_BYTES
    # a tail too short for the directory: the rest comes by ranges, the answer is the same
    small, more = _reads(data, 100)
    assert small == got and more


def _wheel(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as z:
        for name, body in files.items():
            z.writestr(name, body)
    return out.getvalue()


META = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"


def test_stored_and_deflated_entries_and_the_one_top_level_dist_info() -> None:
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        data = _wheel(
            {
                "demo/__init__.py": b"x = 1\n" * 1000,
                "demo/vendored/other-2.0.dist-info/METADATA": b"not this one",
                "demo-1.0.dist-info/METADATA": META,
                "demo-1.0.dist-info/RECORD": b"",
            },
            method,
        )
        assert _reads(data)[0] == META


def test_zip64_records_are_followed() -> None:
    """A zip64 end record (Python writes one when asked to, as big wheels need): the directory
    is found through the zip64 locator."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as z:
        z.writestr("demo-1.0.dist-info/METADATA", META)
    data = bytearray(out.getvalue())
    # make the classic end record point into zip64 (as a >4 GiB or >65535-entry wheel does)
    eocd = data.rfind(b"PK\x05\x06")
    count, size, offset = struct.unpack("<HII", data[eocd + 10 : eocd + 20])
    zip64 = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, offset)
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, eocd, 1)
    classic = struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0
    )
    rebuilt = bytes(data[:eocd]) + zip64 + locator + classic
    assert zipfile.ZipFile(io.BytesIO(rebuilt)).read("demo-1.0.dist-info/METADATA") == META
    assert _reads(rebuilt)[0] == META


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (lambda d: d.replace(b"PK\x05\x06", b"XX\x05\x06"), "no end of central directory"),
        (lambda d: d[:-40], "end of central directory"),
        (lambda d: d.replace(b"dist-info/METADATA", b"dist-info/METADATX"), "0 top-level"),
        (lambda d: d.replace(b"PK\x03\x04", b"PK\x03\x05"), "no local header"),
        (lambda d: d.replace(META, META.upper()), "checksum"),
    ],
    ids=["no-end-record", "cut", "no-metadata", "no-local-header", "wrong-crc"],
)
def test_damaged_zips_are_refused_with_the_reason(damage, said: str) -> None:
    data = damage(_wheel({"demo-1.0.dist-info/METADATA": META}, zipfile.ZIP_STORED))
    with pytest.raises(NotAWheel, match=said):
        _reads(data)


def test_a_lying_directory_size_is_refused_before_anything_is_read() -> None:
    data = bytearray(_wheel({"demo-1.0.dist-info/METADATA": META}))
    eocd = data.rfind(b"PK\x05\x06")
    data[eocd + 12 : eocd + 16] = struct.pack("<I", 0xFFFFFFF0)  # 4 GiB of directory
    asked = []
    with pytest.raises(NotAWheel):
        wheel_metadata(len(data), bytes(data), lambda a, b: asked.append((a, b)) or b"")
    assert not asked


def test_a_server_sending_other_lengths_is_refused() -> None:
    data = _wheel({"demo-1.0.dist-info/METADATA": META, "big.bin": bytes(200_000)})
    with pytest.raises(NotAWheel, match="another length"):
        wheel_metadata(len(data), data[-30:], lambda a, b: data[a : b - 1])
