"""flash-attn's release wheels: the one built for a torch, its CUDA and C++ ABI, a Python and
a platform, named as flash-attn's own setup.py names it. Pure.

flash-attn is a source distribution on PyPI; building it imports torch (so pip's build
isolation fails with "No module named 'torch'") and then downloads the matching wheel from
GitHub with urllib, compiling for an hour or more when that download fails. Naming the wheel
itself skips all three. The facts are ``data/flash_attn.toml``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from urllib.parse import unquote

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# setup.py's get_wheel_url and the release workflow's rename step
_WHEEL = re.compile(
    r"^flash_attn-(?P<version>[0-9][0-9a-z.]*)\+cu(?P<cuda>\d+)torch(?P<torch>\d+\.\d+)"
    r"cxx11abi(?P<abi>TRUE|FALSE)-(?P<py>cp\d+)-(?P=py)-(?P<platform>[a-z0-9_]+)\.whl$"
)


@dataclass(frozen=True)
class FlashRelease:
    version: str
    cuda: tuple[tuple[str, str], ...]  # (torch's CUDA major, the build named in the wheel)
    torch: tuple[str, ...]  # torch X.Y
    python: tuple[str, ...]
    skip: frozenset[tuple[str, str]]  # (torch X.Y, Python) the matrix excludes
    no_cuda: frozenset[tuple[str, str]]  # (torch X.Y, CUDA major) the matrix excludes
    source: str

    def wheel(self, torch: TorchBuild, python: str, platform: str) -> str | None:
        """The file name of this release's wheel for ``torch`` on ``python``, or None."""
        major = torch.cuda.split(".")[0]
        cuda = dict(self.cuda).get(major)
        if (
            cuda is None
            or torch.minor not in self.torch
            or python not in self.python
            or (torch.minor, python) in self.skip
            or (torch.minor, major) in self.no_cuda
        ):
            return None
        py = "cp" + python.replace(".", "")
        abi = "TRUE" if torch.cxx11 else "FALSE"
        return (
            f"flash_attn-{self.version}+cu{cuda}torch{torch.minor}cxx11abi{abi}"
            f"-{py}-{py}-{platform}.whl"
        )


@dataclass(frozen=True)
class FlashFacts:
    base: str
    platforms: tuple[str, ...]
    source: str
    min_cc: str
    min_cc_source: str
    cxx11_from: str
    cxx11_builds: tuple[str, ...]  # "2.6+cu126"
    pypi_torch: tuple[tuple[str, str, str], ...]  # (torch X.Y, its CUDA, source)
    releases: tuple[FlashRelease, ...]  # oldest first

    def url(self, version: str, filename: str) -> str:
        return f"{self.base}/v{version}/{filename}"

    def release(self, version: str) -> FlashRelease | None:
        return next((r for r in self.releases if _same(r.version, version)), None)


@dataclass(frozen=True)
class TorchBuild:
    """What a flash-attn wheel must match in the torch beside it."""

    minor: str  # "2.6"
    cuda: str  # torch.version.cuda, "12.4"
    cxx11: bool  # torch._C._GLIBCXX_USE_CXX11_ABI
    how: str  # where the CUDA came from, for notes

    def describe(self) -> str:
        abi = "TRUE" if self.cxx11 else "FALSE"
        return f"torch {self.minor} with CUDA {self.cuda}, C++ ABI {abi}"


@dataclass(frozen=True)
class WheelName:
    """A release wheel's file name, read back."""

    filename: str  # unquoted: "+" where the URL may say %2B
    version: str
    cuda: str  # as named: "12", "123"
    torch: str
    cxx11: bool
    python: str  # "3.11"
    platform: str


def parse_flash(text: str) -> FlashFacts:
    data = tomllib.loads(text)
    abi = data["abi"]
    releases = [
        FlashRelease(
            version=r["version"],
            cuda=tuple(sorted(r["cuda"].items())),
            torch=tuple(r["torch"]),
            python=tuple(r["python"]),
            skip=frozenset(tuple(p) for p in r.get("skip", ())),
            no_cuda=frozenset(tuple(p) for p in r.get("no_cuda", ())),
            source=r["source"],
        )
        for r in data["release"]
    ]
    return FlashFacts(
        base=data["base"].rstrip("/"),
        platforms=tuple(data["platforms"]),
        source=data["source"],
        min_cc=data["min_cc"],
        min_cc_source=data["min_cc_source"],
        cxx11_from=abi["cxx11_from"],
        cxx11_builds=tuple(abi["cxx11_builds"]),
        pypi_torch=tuple((r["torch"], r["cuda"], r["source"]) for r in data["pypi_torch"]),
        releases=tuple(sorted(releases, key=lambda r: Version(r.version))),
    )


def torch_build(
    facts: FlashFacts, release: str, build: str | None, abi: bool | None = None
) -> TorchBuild | str:
    """The torch ``release`` of ``build`` ("cu124"; None: PyPI's untagged Linux wheel) as a
    flash-attn wheel sees it, or why no flash-attn wheel can fit it. ``abi``: the C++ ABI the
    installed torch says it was built with (conda-forge's and source builds use the new one
    whatever the release); None: PyPI's wheels' own."""
    minor = ".".join(release.split(".")[:2])
    how = f"torch {release}+{build}"
    if build is None:
        row = next((r for r in facts.pypi_torch if r[0] == minor), None)
        if row is None:
            return (
                f"which CUDA PyPI's torch {release} is built for is not in minstall's table "
                "(name the build: torch==X+cu124, or its index)"
            )
        cuda, how = row[1], f"PyPI's torch {release}, built for CUDA {row[1]} ({row[2]})"
    elif re.fullmatch(r"cu\d{3}", build):
        cuda = f"{build[2:-1]}.{build[-1]}"
    else:
        return f"torch {release}+{build} is not a CUDA build; flash-attn's wheels are for CUDA"
    if abi is None:
        return TorchBuild(minor, cuda, cxx11_abi(facts, minor, cuda), how)
    said = f"C++ ABI {'TRUE' if abi else 'FALSE'} as its TorchConfig.cmake says"
    return TorchBuild(minor, cuda, abi, f"{how}, {said}")


def cxx11_abi(facts: FlashFacts, minor: str, cuda: str) -> bool:
    """torch's ``_GLIBCXX_USE_CXX11_ABI`` for PyTorch's own Linux x86_64 wheels."""
    if Version(minor) >= Version(facts.cxx11_from):
        return True
    return f"{minor}+cu{cuda.replace('.', '')}" in facts.cxx11_builds


def choose_wheel(
    facts: FlashFacts,
    spec: SpecifierSet,
    torch: TorchBuild,
    python: str,
    platform: str,
    newest_only: bool,
) -> tuple[FlashRelease | None, str | None]:
    """(the release, its wheel's file name) for ``spec``: the newest release ``spec`` allows
    that has a wheel for ``torch`` (``newest_only``: the newest it allows, wheel or not; an
    empty ``spec``: the newest release with one). (None, None) when the table has no release
    ``spec`` allows."""
    allowed = [r for r in reversed(facts.releases) if spec.contains(r.version, prereleases=True)]
    if not allowed:
        return None, None
    for release in allowed[:1] if newest_only else allowed:
        name = release.wheel(torch, python, platform)
        if name is not None:
            return release, name
    return allowed[0], None


def read_wheel(facts: FlashFacts, url: str) -> WheelName | None:
    """A URL of a flash-attn release wheel, read back; None for anything else."""
    url = unquote(url.split("#", 1)[0])
    name = url.rsplit("/", 1)[-1]
    found = _WHEEL.match(name)
    # the project's own releases only (a fork's tag holds other builds), reached directly or
    # through a GitHub proxy that keeps the path (https://ghfast.top/github.com/...)
    if (
        not found
        or f"/Dao-AILab/flash-attention/releases/download/v{found.group('version')}/" not in url
    ):
        return None
    py = found.group("py")[2:]
    return WheelName(
        filename=name,
        version=found.group("version"),
        cuda=found.group("cuda"),
        torch=found.group("torch"),
        cxx11=found.group("abi") == "TRUE",
        python=f"{py[0]}.{py[1:]}",
        platform=found.group("platform"),
    )


def _same(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b
