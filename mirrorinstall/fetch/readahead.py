"""What pip will ask the loopback index for next, read from what it has asked so far: the
projects a wheel's METADATA requires on the target machine, and the one file of a project's
page whose metadata pip will read. Pure.

pip resolves one project at a time (its page, then the chosen file's metadata, then the next
project), so on a far mirror every step is a round trip or two, in series. Reading the pages
of the projects a read METADATA requires, in parallel and before pip asks, and the metadata of
the one file pip will plainly choose, turns its steps into local answers. A wrong guess costs
a page or a metadata read, never a file: what pip installs stays pip's choice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from email.parser import BytesHeaderParser

from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from mirrorinstall.bench.pages import version_of, wheel_fits
from mirrorinstall.fetch.simplepage import PageFile

# PEP 508's environment markers for a conda subdir (sys_platform, platform_system,
# platform_machine, os_name): https://peps.python.org/pep-0508/#environment-markers
_MARKERS = {
    "linux-64": ("linux", "Linux", "x86_64", "posix"),
    "linux-aarch64": ("linux", "Linux", "aarch64", "posix"),
    "linux-ppc64le": ("linux", "Linux", "ppc64le", "posix"),
    "win-64": ("win32", "Windows", "AMD64", "nt"),
    "win-arm64": ("win32", "Windows", "ARM64", "nt"),
    "osx-64": ("darwin", "Darwin", "x86_64", "posix"),
    "osx-arm64": ("darwin", "Darwin", "arm64", "posix"),
}
MAX_REQUIRES = 500  # Requires-Dist lines read from one METADATA (the biggest hold ~100)
MAX_PROJECTS = 100  # projects read ahead in one run (torch with its CUDA wheels: ~25)
# file entries of the pages read ahead, in all, before reading ahead stops: a page waits in
# memory until pip asks for it (PyPI's biggest pages hold ~20 000)
MAX_ENTRIES = 100_000


@dataclass(frozen=True)
class Ahead:
    """What to read ahead for: the command's own requirements and the target it installs
    into (CPython ``python`` "3.11" on conda subdir ``subdir``)."""

    requirements: tuple[Requirement, ...]
    python: str
    subdir: str


def environment(python: str, subdir: str) -> dict[str, str]:
    """The marker environment of CPython ``python`` ("3.11") on ``subdir`` ("win-64"), no
    extra asked for."""
    sys_platform, system, machine, os_name = _MARKERS.get(subdir, _MARKERS["linux-64"])
    return {
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_name": "cpython",
        "implementation_version": f"{python}.0",
        "platform_python_implementation": "CPython",
        "sys_platform": sys_platform,
        "platform_system": system,
        "platform_machine": machine,
        "platform_release": "",
        "platform_version": "",
        "os_name": os_name,
        "extra": "",
    }


def named(tokens: Iterable[str]) -> list[Requirement]:
    """The requirements among an install command's positional ``tokens`` that name a project
    (``torch>=2``, ``jax[cuda12]``); paths, URLs and files are pip's own business."""
    out = []
    for token in tokens:
        if "/" in token or "\\" in token or token.endswith((".whl", ".zip", ".tar.gz", ".txt")):
            continue
        try:
            req = Requirement(token)
        except InvalidRequirement:
            continue
        if req.url is None:
            out.append(req)
    return out


def required(metadata: bytes, env: dict[str, str], extras: Iterable[str] = ()) -> list[Requirement]:
    """The Requires-Dist of a wheel's ``metadata`` that apply in ``env`` (with ``extras``
    asked for); a line that cannot be read is skipped, as nothing depends on the guess."""
    headers = BytesHeaderParser().parsebytes(metadata)
    asked = [""] + [canonicalize_name(e) for e in extras]
    out = []
    for line in (headers.get_all("Requires-Dist") or [])[:MAX_REQUIRES]:
        try:
            req = Requirement(str(line))
            if req.marker is None or any(
                req.marker.evaluate({**env, "extra": extra}) for extra in asked
            ):
                out.append(req)
        except (InvalidRequirement, InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
            continue
    return out


def likely_file(
    files: Iterable[PageFile], req: Requirement, python: str, subdir: str
) -> PageFile | None:
    """The file whose metadata pip will read for ``req``: the newest release the requirement
    and the file's Requires-Python allow, when exactly one wheel of it fits the target and no
    sdist of a newer release would be taken instead. None when the choice is not plain (pip's
    tag order between two fitting wheels, a prerelease, an sdist): pip asks, and is answered
    then."""
    by_version: dict[Version, list[PageFile]] = {}
    target = Version(python)
    for f in files:
        version = version_of(f.filename, req.name)
        if version is None or f.yanked is not None or version.is_prerelease:
            continue
        if not req.specifier.contains(version, prereleases=False):
            continue
        if f.requires_python:
            try:
                if not SpecifierSet(f.requires_python).contains(target, prereleases=True):
                    continue
            except InvalidSpecifier:
                pass  # pip ignores one it cannot read too
        by_version.setdefault(version, []).append(f)
    for version in sorted(by_version, reverse=True):
        fitting = [
            f
            for f in by_version[version]
            if f.filename.endswith(".whl") and wheel_fits(f.filename, python, subdir)
        ]
        if fitting:
            return fitting[0] if len(fitting) == 1 else None
        if any(not f.filename.endswith(".whl") for f in by_version[version]):
            return None  # an sdist of the newest release: pip builds it
    return None
