"""Make real package files for the farm: wheels, and conda packages with a real index.

Wheels are ordinary zip files with METADATA, WHEEL and RECORD, so pip and uv install
them. Conda packages are made with conda-package-handling (both ``.conda`` and
``.tar.bz2``) and indexed with py-rattler's indexer into ``repodata.json`` (+ ``.zst``),
the same way a real channel is published; neither needs conda.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class WheelSpec:
    name: str
    version: str
    tag: str = "py3-none-any"
    requires: tuple[str, ...] = ()
    requires_python: str | None = None
    payload_bytes: int = 0  # incompressible filler, for throughput measurements
    files: dict[str, str] = field(default_factory=dict)  # extra files: path -> text
    extras: tuple[str, ...] = ()  # Provides-Extra (requires name them with extra == "...")

    @property
    def filename(self) -> str:
        return f"{_dist(self.name)}-{self.version}-{self.tag}.whl"


def _dist(name: str) -> str:
    return name.replace("-", "_").replace(".", "_")


def wheel_metadata(spec: WheelSpec) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {spec.name}",
        f"Version: {spec.version}",
        "Summary: made by the minstall mirror farm",
    ]
    if spec.requires_python:
        lines.append(f"Requires-Python: {spec.requires_python}")
    lines += [f"Provides-Extra: {e}" for e in spec.extras]
    lines += [f"Requires-Dist: {r}" for r in spec.requires]
    return "\n".join(lines) + "\n"


def make_wheel(spec: WheelSpec) -> tuple[bytes, str]:
    """Return (wheel bytes, METADATA text)."""
    dist_info = f"{_dist(spec.name)}-{spec.version}.dist-info"
    pkg = _dist(spec.name)
    metadata = wheel_metadata(spec)
    files: dict[str, bytes] = {
        f"{pkg}/__init__.py": f'__version__ = "{spec.version}"\n'.encode(),
    }
    for path, text in spec.files.items():
        files[path] = text.encode()
    if spec.payload_bytes:
        # Deterministic but incompressible: sha256 stream seeded by the file name.
        files[f"{pkg}/_payload.bin"] = _filler(spec.filename, spec.payload_bytes)
    files[f"{dist_info}/METADATA"] = metadata.encode()
    files[f"{dist_info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: minstall-farm\nRoot-Is-Purelib: "
        f"{'true' if spec.tag.endswith('none-any') else 'false'}\nTag: {spec.tag}\n"
    ).encode()
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, date_time=(2024, 1, 1, 0, 0, 0))
            zf.writestr(info, data)
    return buf.getvalue(), metadata


def _filler(seed: str, size: int) -> bytes:
    """Deterministic, incompressible bytes (so compressed formats keep their size)."""
    return hashlib.shake_256(seed.encode()).digest(size)


@dataclass(frozen=True)
class CondaSpec:
    name: str
    version: str
    subdir: str  # "noarch" or a platform subdir
    build: str = "0"
    depends: tuple[str, ...] = ()
    noarch: str | None = None  # "generic" or "python" for noarch packages
    timestamp_ms: int = 1_700_000_000_000
    payload_bytes: int = 0

    @property
    def stem(self) -> str:
        return f"{self.name}-{self.version}-{self.build}"


_PLATFORM = {
    "linux-64": ("linux", "x86_64"),
    "linux-aarch64": ("linux", "aarch64"),
    "osx-64": ("osx", "x86_64"),
    "osx-arm64": ("osx", "arm64"),
    "win-64": ("win", "x86_64"),
    "win-32": ("win", "x86"),
}


def make_conda_package(spec: CondaSpec, out_dir: Path, work_dir: Path) -> list[Path]:
    """Build ``<stem>.conda`` and ``<stem>.tar.bz2`` into ``out_dir/<subdir>``."""
    from conda_package_handling import api

    src = (work_dir / f"{spec.stem}-{spec.subdir}").resolve()
    (src / "info").mkdir(parents=True, exist_ok=True)
    index = {
        "name": spec.name,
        "version": spec.version,
        "build": spec.build,
        "build_number": int(m.group(1)) if (m := re.search(r"(?:^|_)(\d+)$", spec.build)) else 0,
        "depends": list(spec.depends),
        "license": "BSD-3-Clause",
        "subdir": spec.subdir,
        "timestamp": spec.timestamp_ms,
    }
    if spec.noarch:
        index["noarch"] = spec.noarch
    elif spec.subdir in _PLATFORM:
        index["platform"], index["arch"] = _PLATFORM[spec.subdir]
    payload = f"share/{spec.name}/README.txt"
    data = f"{spec.name} {spec.version} made by the minstall mirror farm\n".encode()
    files = {payload: data}
    if spec.payload_bytes:
        files[f"share/{spec.name}/payload.bin"] = _filler(spec.stem, spec.payload_bytes)
    for rel, blob in files.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(blob)
    paths = [
        {
            "_path": rel,
            "path_type": "hardlink",
            "sha256": hashlib.sha256(blob).hexdigest(),
            "size_in_bytes": len(blob),
        }
        for rel, blob in files.items()
    ]
    (src / "info/index.json").write_text(json.dumps(index))
    (src / "info/paths.json").write_text(json.dumps({"paths": paths, "paths_version": 1}))
    (src / "info/files").write_text("".join(f"{rel}\n" for rel in files))
    file_list = ["info/index.json", "info/paths.json", "info/files", *files]
    dest = (out_dir / spec.subdir).resolve()
    dest.mkdir(parents=True, exist_ok=True)
    made = []
    for ext in (".conda", ".tar.bz2"):
        api.create(str(src), file_list, spec.stem + ext, out_folder=str(dest))
        made.append(dest / (spec.stem + ext))
    return made


def index_channel(channel_dir: Path) -> None:
    """Write repodata.json (+ .zst) for every subdir, with py-rattler's indexer."""
    from rattler.index import index_fs

    (channel_dir / "noarch").mkdir(parents=True, exist_ok=True)  # conda requires noarch
    asyncio.run(index_fs(channel_dir, write_zst=True, write_shards=False, force=True))
