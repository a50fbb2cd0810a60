"""GPU-built packages beside torch (JAX, CuPy, ONNX Runtime, PaddlePaddle): which CUDA build
a requirement or an index asks for, and which one this driver runs. Pure.

The facts are ``data/gpu_packages.toml`` (each row with its source); whether a driver runs a
CUDA major is the one rule of ``cuda/choose.py`` (NVIDIA's minor-version compatibility).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

if TYPE_CHECKING:
    from mirrorinstall.cuda.choose import HostCuda
    from mirrorinstall.cuda.tables import Tables

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SPELLINGS = ("extra", "name", "index")


@dataclass(frozen=True)
class Build:
    cuda: str  # "12", or "12.6" where the package builds per minor release
    requirement: str  # "jax[cuda12]", "cupy-cuda12x", "paddlepaddle-gpu"
    index: str = ""  # the package index this build comes from ("": PyPI)
    source: str = ""

    @property
    def project(self) -> str:
        return canonicalize_name(self.requirement.split("[", 1)[0])

    @property
    def extra(self) -> str | None:
        return self.requirement.split("[", 1)[1].rstrip("]") if "[" in self.requirement else None


@dataclass(frozen=True)
class GpuPackage:
    family: str
    spell: str
    project: str
    os: tuple[str, ...]
    cpu: str  # the CPU-only requirement ("": none worth installing instead)
    source: str
    builds: tuple[Build, ...]  # newest CUDA first


def check_row(where: str, missing: list[str], source: object) -> None:
    """Raise for a data file's row with keys missing or a source that is no https URL; the
    message names the file, the row and the key (``where``)."""
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}")
    if not str(source).startswith("https://"):
        raise ValueError(f"{where}: source must be an https URL")


def parse_packages(text: str, name: str = "gpu_packages.toml") -> tuple[GpuPackage, ...]:
    """The packages of the data file; a broken row names the file, the row and the key."""
    out = []
    for n, row in enumerate(tomllib.loads(text).get("package", []), start=1):
        where = f"{name}: package {n} ({row.get('family', '?')})"
        missing = [k for k in ("family", "project", "os", "builds") if k not in row]
        missing += [
            f"builds.{k}"
            for b in row.get("builds", [])
            for k in ("cuda", "requirement")
            if k not in b
        ]
        check_row(where, missing, row.get("source", ""))
        if row.get("spell") not in SPELLINGS:
            raise ValueError(f"{where}: spell {row.get('spell')!r} is not one of {SPELLINGS}")
        builds = tuple(
            Build(b["cuda"], b["requirement"], b.get("index", ""), b.get("source", row["source"]))
            for b in row["builds"]
        )
        out.append(
            GpuPackage(
                row["family"],
                row["spell"],
                canonicalize_name(row["project"]),
                tuple(row["os"]),
                row.get("cpu", ""),
                row["source"],
                builds,
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class CondaTwin:
    """A conda-forge package built for CUDA and for the CPU (gpu_packages.toml)."""

    name: str
    cuda_build: str  # the build-string glob of its CUDA builds ("cuda*")
    cpu_build: str
    cuda_os: tuple[str, ...]  # where conda-forge has CUDA builds of it
    added_for: tuple[str, ...]  # a command naming one of these gets this package added
    source: str


def parse_twins(text: str, name: str = "gpu_packages.toml") -> tuple[CondaTwin, ...]:
    """The ``conda_forge_twin`` rows; a broken row names the file, the row and the key."""
    out = []
    for n, row in enumerate(tomllib.loads(text).get("conda_forge_twin", []), start=1):
        where = f"{name}: conda_forge_twin {n} ({row.get('name', '?')})"
        keys = ("name", "cuda_build", "cpu_build", "cuda_os", "source")
        check_row(where, [k for k in keys if k not in row], row.get("source", ""))
        out.append(
            CondaTwin(
                row["name"],
                row["cuda_build"],
                row["cpu_build"],
                tuple(row["cuda_os"]),
                tuple(row.get("added_for", ())),
                row["source"],
            )
        )
    return tuple(out)


def asked(
    packages: tuple[GpuPackage, ...], project: str, extras: frozenset[str], index: str = ""
) -> tuple[GpuPackage, Build | None] | None:
    """The package a requirement names and the build it asks for (None: the package's plain
    name, no particular build); None when it is not one of these packages. ``index``: the
    index the command gives (for the packages spelled by index)."""
    name = canonicalize_name(project)
    for pkg in packages:
        if pkg.spell == "extra" and name == pkg.project:
            for build in pkg.builds:
                if build.extra in extras:
                    return pkg, build
            return pkg, None
        if pkg.spell == "name":
            for build in pkg.builds:
                if name == build.project:
                    return pkg, build
            if name == pkg.project:
                return pkg, None
        if pkg.spell == "index" and name == pkg.project:
            if not index:  # PyPI's own build, where the package has one
                return pkg, next((b for b in pkg.builds if not b.index), None)
            found = by_index((pkg,), index)
            return pkg, found[1] if found else None
    return None


def by_index(packages: tuple[GpuPackage, ...], url: str) -> tuple[GpuPackage, Build] | None:
    """The package and build whose own index ``url`` is (PaddlePaddle's ``.../cu126/``, ONNX
    Runtime's CUDA 11 feed); None for any other URL."""
    wanted = url.rstrip("/")
    for pkg in packages:
        for build in pkg.builds:
            if pkg.spell == "index" and build.index and build.index.rstrip("/") == wanted:
                return pkg, build
    return None


def runs(tables: Tables, host: HostCuda, build: Build, os: str) -> bool:
    """Does this host's driver run ``build``?"""
    from mirrorinstall.cuda.choose import supports  # (choose reads the tables this is part of)

    return supports(tables, host, _family(build), os)


def floor(tables: Tables, build: Build, os: str) -> str | None:
    """The driver ``build`` needs (NVIDIA's floor for its CUDA major)."""
    from mirrorinstall.cuda.choose import driver_floor

    return driver_floor(tables, _family(build), os)


def best_build(tables: Tables, host: HostCuda, pkg: GpuPackage, os: str) -> Build | None:
    """The newest build of ``pkg`` this driver runs on ``os`` (None: none does)."""
    if os not in pkg.os:
        return None
    return next((b for b in pkg.builds if runs(tables, host, b, os)), None)


def _family(build: Build) -> str:
    """The CUDA version to judge ``build`` by: a build named by its major alone ("12": any
    12.x) relies on minor-version compatibility, so its family's floor applies, which
    cuda/choose.py reads for any 11.1+ version of that major (x.0 is the toolkit's own)."""
    return build.cuda if "." in build.cuda else f"{build.cuda}.1"
