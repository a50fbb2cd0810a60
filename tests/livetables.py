"""What minstall's version tables say the official indexes serve, as claims one page can
confirm, and the check of those claims against an index.

The `network` test (tests/edges/test_live_tables.py, MINSTALL_NETWORK_TESTS=1) checks every
claim against the live hosts, so a table row the world contradicts (a build withdrawn, a page
renamed, a row copied wrong) fails with its source; the farm test checks a few against
copies laid out as the hosts are, so the check itself is seen to fail. The claims are read
from the tables the code reads: what is checked here is the tables, against the world.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote

import httpx

from mirrorinstall.cuda.flashattn import TorchBuild
from mirrorinstall.cuda.tables import Tables

PYTORCH = "https://download.pytorch.org/whl/"
PYPI = "https://pypi.org/simple/"
MAX_PAGE_BYTES = 64 * 1024 * 1024  # torch's project page on PyPI is about 1 MiB; margin


@dataclass(frozen=True)
class Claim:
    what: str  # "torch 2.4.1+cu121"
    url: str  # the page that lists it
    needle: str  # a regular expression the page (its links unquoted) must match
    source: str  # the table row's source


def _file(project: str, version: str) -> str:
    """A wheel or sdist file name's start: torch_npu-2.5.1, torch-2.4.1+cu121."""
    return re.escape(f"{project.replace('-', '_')}-{version}") + r"[-.]"


def claims(tables: Tables) -> list[Claim]:
    """Every claim the tables make about an official index or page."""
    out: list[Claim] = []
    for release in tables.torch:
        for variant in release.pip:
            for project, pairs in (("torch", None), ("torchvision", release.pairs("torchvision"))):
                for version in release.versions:
                    built = pairs.get(version) if pairs is not None else version
                    if built:
                        out.append(
                            Claim(
                                f"{project} {built}+{variant}",
                                f"{PYTORCH}{variant}/{project}/",
                                _file(project, f"{built}+{variant}"),
                                release.source,
                            )
                        )
    accel = tables.accel
    if accel is not None:
        for row in accel.rocm:
            for variant in row.variants:
                out.append(
                    Claim(
                        f"torch {row.series}.x+{variant}",
                        f"{PYTORCH}{variant}/torch/",
                        re.escape(f"torch-{row.series}.") + r"\d+" + re.escape(f"+{variant}-"),
                        row.source,
                    )
                )
        out.append(
            Claim(
                f"torch {accel.xpu_since}.x+xpu",
                f"{PYTORCH}xpu/torch/",
                re.escape(f"torch-{accel.xpu_since}.") + r"\d+\+xpu-",
                accel.xpu_source,
            )
        )
        for row in accel.npu:
            out.append(
                Claim(
                    f"torch-npu {row.torch_npu} (torch {row.torch}, CANN {row.cann})",
                    f"{PYPI}torch-npu/",
                    _file("torch-npu", row.torch_npu),
                    accel.npu_source,
                )
            )
        out.append(
            Claim(
                f"torch {accel.apple_last_x86_64} for Intel Macs",
                f"{PYPI}torch/",
                _file("torch", accel.apple_last_x86_64) + r"[^\"<>]*macosx_\d+_\d+_x86_64",
                accel.apple_last_x86_64_source,
            )
        )
        out.append(
            Claim(
                f"torch {accel.apple_macos14_since} for macOS 14 and later only",
                f"{PYPI}torch/",
                _file("torch", f"{accel.apple_macos14_since}.0") + r"[^\"<>]*macosx_14_0_arm64",
                accel.apple_macos14_since_source,
            )
        )
    for package in tables.packages:
        for build in package.builds:
            name = build.requirement.split("[")[0]
            extra = build.requirement[len(name) :].strip("[]")
            if extra:  # jax[cuda12]: the extra is in the release's metadata
                url, needle = f"https://pypi.org/pypi/{name}/json", re.escape(f'"{extra}"')
            else:
                url = f"{build.index or PYPI}{name}/"
                needle = re.escape(f"{name.replace('-', '_')}-") + r"\d"
            out.append(Claim(build.requirement, url, needle, build.source or package.source))
    for family in tables.pages:
        wheels = "|".join(re.escape(p.replace("-", "_")) for p in family.projects)
        for minor, variants, source in family.pages:
            for variant in variants:
                # each family names its pages for a torch minor's .0 release (mmcv's selector
                # writes "2.1" too, an alias of "2.1.0")
                url = family.page.replace("{torch}", f"{minor}.0").replace("{variant}", variant)
                if "/nightly/" in source:  # PyG's nightly pages: the same names, under nightly/
                    url = source + url.rsplit("/", 1)[1]
                out.append(
                    Claim(
                        f"{family.family} page torch {minor} {variant}", url, f"({wheels})-", source
                    )
                )
    flash = tables.flash
    if flash is not None:
        for release in flash.releases:
            page = f"https://github.com/Dao-AILab/flash-attention/releases/expanded_assets/v{release.version}"
            for minor in release.torch:
                for major, _ in release.cuda:
                    for cxx11 in (False, True):
                        torch = TorchBuild(minor, f"{major}.0", cxx11, "")
                        for python in release.python:
                            for platform in flash.platforms:
                                name = release.wheel(torch, python, platform)
                                if name:
                                    out.append(
                                        Claim(f"flash-attn {name}", page, re.escape(name),
                                              release.source)
                                    )  # fmt: skip
        for minor, cuda, source in flash.pypi_torch:
            major = cuda.split(".")[0]
            out.append(
                Claim(
                    f"PyPI's torch {minor}.0 built for CUDA {cuda}",
                    f"https://pypi.org/pypi/torch/{minor}.0/json",
                    re.escape(f"nvidia-cuda-runtime-cu{major}=={cuda}."),
                    source,
                )
            )
    return out


Fetch = Callable[[str], "tuple[int, str] | None"]


def check(wanted: Iterable[Claim], fetch: Fetch) -> list[str]:
    """One line per claim the index contradicts (its page missing, or not listing it), with the
    row's source; each page is read once."""
    pages: dict[str, tuple[int, str] | None] = {}
    failed = []
    for claim in wanted:
        if claim.url not in pages:
            pages[claim.url] = fetch(claim.url)
        got = pages[claim.url]
        if got is None:
            failed.append(f"{claim.what}: {claim.url} could not be read (source: {claim.source})")
        elif got[0] != 200:
            failed.append(f"{claim.what}: {claim.url} answered {got[0]} (source: {claim.source})")
        elif not re.search(claim.needle, unquote(got[1])):
            failed.append(f"{claim.what}: not listed on {claim.url} (source: {claim.source})")
    return failed


def http_fetch(moved: dict[str, str] | None = None, timeout_s: float = 60.0) -> Fetch:
    """A fetch of each page over HTTP (redirects followed, at most MAX_PAGE_BYTES); ``moved``
    maps an official prefix to where a copy of it is served (the farm)."""
    client = httpx.Client(follow_redirects=True, timeout=timeout_s, trust_env=not moved)

    def fetch(url: str) -> tuple[int, str] | None:
        for official, copy in (moved or {}).items():
            if url.startswith(official):
                url = copy + url[len(official) :]
                break
        try:
            with client.stream("GET", url, headers={"Accept": "text/html, */*"}) as response:
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_PAGE_BYTES:
                        return None
                return response.status_code, body.decode("utf-8", "replace")
        except httpx.HTTPError:
            return None

    return fetch
