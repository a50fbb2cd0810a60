"""The CUDA/driver/framework tables in ``mirrorinstall/data``, loaded and typed.

The tables change with the world, so they are data files with a source beside every
row; this module only reads them (once per process) into plain dataclasses that the
pure chooser in ``cuda.py`` takes as arguments.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from importlib import resources

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class DriverFloor:
    cuda: str  # "12" for an MVC family, "10.2" for a toolkit row
    linux: str | None
    windows: str | None
    source: str


@dataclass(frozen=True)
class TorchRelease:
    series: str
    versions: tuple[str, ...]
    torchvision: tuple[str, ...]
    python: str | None  # a specifier such as ">=3.9,<3.13"
    pip: tuple[str, ...]  # cuXYZ variants (cpu always exists)
    conda: str | None  # "cudatoolkit", "pytorch-cuda" or None (not on the pytorch channel)
    conda_cuda: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class ArchRow:
    variant: str
    releases: str  # specifier over torch versions
    archs: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class TfBuild:
    os: str
    version: str
    python: str
    cudnn: str
    cuda: str
    source: str


@dataclass(frozen=True)
class Tables:
    mvc: tuple[DriverFloor, ...]
    toolkits: tuple[DriverFloor, ...]
    torch: tuple[TorchRelease, ...]
    archs: tuple[ArchRow, ...]
    toolkit_max_cc: tuple[tuple[str, str, str], ...]  # (cuda, max cc, source)
    tensorflow: tuple[TfBuild, ...]
    tf_windows_last_gpu: str


def _load(name: str) -> dict:
    return tomllib.loads(resources.files("mirrorinstall.data").joinpath(name).read_text("utf-8"))


@functools.lru_cache(maxsize=1)
def load_tables() -> Tables:
    drivers = _load("cuda_drivers.toml")
    torch = _load("pytorch.toml")
    tf = _load("tensorflow.toml")
    return Tables(
        mvc=tuple(
            DriverFloor(str(r["family"]), r.get("linux"), r.get("windows"), r["source"])
            for r in drivers["mvc"]
        ),
        toolkits=tuple(
            DriverFloor(r["cuda"], r.get("linux"), r.get("windows"), r["source"])
            for r in drivers["toolkit"]
        ),
        torch=tuple(
            TorchRelease(
                series=r["series"],
                versions=tuple(r["versions"]),
                torchvision=tuple(r["torchvision"]),
                python=r.get("python"),
                pip=tuple(r["pip"]),
                conda=r.get("conda"),
                conda_cuda=tuple(r.get("conda_cuda", ())),
                source=r["source"],
            )
            for r in torch["release"]
        ),
        archs=tuple(
            ArchRow(r["variant"], r["releases"], tuple(r["archs"]), r["source"])
            for r in torch["arch"]
        ),
        toolkit_max_cc=tuple((r["cuda"], r["max_cc"], r["source"]) for r in torch["toolkit_arch"]),
        tensorflow=tuple(
            TfBuild(r["os"], r["version"], r["python"], r["cudnn"], r["cuda"], r["source"])
            for r in tf["build"]
        ),
        tf_windows_last_gpu=tf["windows_last_gpu"],
    )
