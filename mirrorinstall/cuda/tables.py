"""The CUDA/driver/framework tables, typed. Pure.

The tables change with the world, so they are data files (``mirrorinstall/data``) with a
source beside every row; this module parses their text into plain dataclasses that the
pure chooser (``choose``) takes as arguments. ``packaged.load_tables`` reads the files.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass

from mirrorinstall.cuda.accel import AccelTables, parse_accel
from mirrorinstall.cuda.findlinks import MimFacts, PageFamily, parse_families, parse_mim
from mirrorinstall.cuda.flashattn import FlashFacts, parse_flash
from mirrorinstall.cuda.packages import CondaTwin, GpuPackage, parse_packages, parse_twins

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
    torchvision: tuple[str, ...]  # paired with ``versions``, in order
    python: str | None  # a specifier such as ">=3.9,<3.13"
    pip: tuple[str, ...]  # cuXYZ variants (cpu always exists)
    conda: str | None  # "cudatoolkit", "pytorch-cuda" or None (not on the pytorch channel)
    conda_cuda: tuple[str, ...]
    source: str
    torchaudio: tuple[str, ...] = ()  # paired with ``versions``; empty where not known

    def pairs(self, project: str) -> dict[str, str]:
        """torch version -> the ``project`` (torchvision/torchaudio) release made for it."""
        paired = self.torchvision if project == "torchvision" else self.torchaudio
        return dict(zip(self.versions, paired, strict=False)) if paired else {}


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
class CondaCudaLibs:
    """The conda packages that give a pip TensorFlow its CUDA libraries."""

    cuda: str
    cudatoolkit: str
    cudnn: str
    channel: str
    source: str


@dataclass(frozen=True)
class TfPackaging:
    """How TensorFlow's GPU support is packaged, release by release (tensorflow.toml)."""

    gpu_in_tensorflow_since: str = "2.1.0"
    tensorflow_gpu_empty_since: str = "2.12.0"
    and_cuda_since: str = "2.14.0"
    conda_defaults_last_gpu: str = "2.4.1"
    conda_cuda_libs: tuple[CondaCudaLibs, ...] = ()


@dataclass(frozen=True)
class Tables:
    mvc: tuple[DriverFloor, ...]
    toolkits: tuple[DriverFloor, ...]
    torch: tuple[TorchRelease, ...]
    archs: tuple[ArchRow, ...]
    toolkit_max_cc: tuple[tuple[str, str, str], ...]  # (cuda, max cc, source)
    tensorflow: tuple[TfBuild, ...]
    tf_windows_last_gpu: str
    tf_packaging: TfPackaging = TfPackaging()
    architectures: tuple[tuple[str, str], ...] = ()  # (first compute capability, family name)
    accel: AccelTables | None = None  # AMD, Intel, Ascend, Apple (accelerators.toml)
    packages: tuple[GpuPackage, ...] = ()  # JAX, CuPy, ONNX Runtime, Paddle (gpu_packages.toml)
    conda_twins: tuple[CondaTwin, ...] = ()  # conda-forge's CUDA/CPU twins (gpu_packages.toml)
    pages: tuple[PageFamily, ...] = ()  # PyG's per-torch find-links pages (find_links.toml)
    mim: MimFacts | None = None  # what mim install adds to pip's (find_links.toml)
    flash: FlashFacts | None = None  # flash-attn's release wheels (flash_attn.toml)

    def architecture(self, cc: str | None) -> str | None:
        """``"8.6"`` -> ``"Ampere"`` (the family whose first capability is the highest <= cc)."""
        if not cc:
            return None
        from packaging.version import InvalidVersion, Version

        try:
            have = Version(cc)
        except InvalidVersion:
            return None
        names = [name for first, name in self.architectures if Version(first) <= have]
        return names[-1] if names else None


TABLE_FILES = (
    "cuda_drivers.toml",
    "pytorch.toml",
    "tensorflow.toml",
    "accelerators.toml",
    "gpu_packages.toml",
    "find_links.toml",
    "flash_attn.toml",
)


def parse_tables(texts: Mapping[str, str]) -> Tables:
    """The tables from the text of each file in ``TABLE_FILES``."""
    drivers = tomllib.loads(texts["cuda_drivers.toml"])
    torch = tomllib.loads(texts["pytorch.toml"])
    tf = tomllib.loads(texts["tensorflow.toml"])
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
                torchaudio=tuple(r.get("torchaudio", ())),
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
        accel=parse_accel(texts["accelerators.toml"]) if "accelerators.toml" in texts else None,
        packages=parse_packages(texts["gpu_packages.toml"]) if "gpu_packages.toml" in texts else (),
        conda_twins=parse_twins(texts["gpu_packages.toml"]) if "gpu_packages.toml" in texts else (),
        pages=parse_families(texts["find_links.toml"]) if "find_links.toml" in texts else (),
        mim=parse_mim(texts["find_links.toml"]) if "find_links.toml" in texts else None,
        flash=parse_flash(texts["flash_attn.toml"]) if "flash_attn.toml" in texts else None,
        architectures=tuple((r["cc"], r["name"]) for r in drivers.get("architecture", ())),
        tf_packaging=TfPackaging(
            gpu_in_tensorflow_since=tf["gpu_in_tensorflow_since"],
            tensorflow_gpu_empty_since=tf["tensorflow_gpu_empty_since"],
            and_cuda_since=tf["and_cuda_since"],
            conda_defaults_last_gpu=tf["conda_defaults_last_gpu"],
            conda_cuda_libs=tuple(
                CondaCudaLibs(r["cuda"], r["cudatoolkit"], r["cudnn"], r["channel"], r["source"])
                for r in tf.get("conda_cuda_libs", ())
            ),
        ),
    )
