"""download.pytorch.org URLs read whole, and the URL on a mirror that serves the same files. Pure.

What lives under https://download.pytorch.org/whl/ (research/mirrors.md section 1.3,
https://github.com/sjtug/mirror-clone/commit/374da0cead5173d44530a89d773f0b2c441bf3b9):

- ``<variant>/`` a PEP 503 index per build variant (``cpu``, ``cu118``, ``rocm6.2``, ``xpu``);
- ``nightly/<variant>/``, ``test/<variant>/``, ``lts/1.8/<variant>/``: other release channels,
  indexes of other files. Read as a whole: ``nightly`` is not a variant, and a mirror's
  stable ``cu128`` is not PyTorch's nightly ``cu128``;
- find-links pages: ``torch_stable.html`` (every variant), ``<variant>/torch_stable.html``,
  ``lts/1.8/torch_lts.html``, ``nightly/torch_nightly.html``;
- wheel files: ``<variant>/torch-2.0.0%2Bcu118-cp310-cp310-linux_x86_64.whl``.

How each mirror layout serves the same thing (the catalog's ``pytorch`` table):

- find-links with a ``listing`` page (SJTU's mirror-intel): every ``*.html`` and ``*.whl`` path
  maps 1:1 under its base (pages proxied live, wheels from its store), so pages and files of
  every channel are there; its directories are not (they redirect to the official host).
- find-links without one (Aliyun): a flat directory per stable variant, ``<base>/<variant>/``,
  which lists the files that variant's page lists; the wheels beside it.
- index (NJU, a copy of ``/whl``): ``<base>/<variant>/`` for stable variants and the files at
  the same paths; it is not known to carry the pages, so a variant's page becomes that
  variant's index (the same wheels).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from mirrorinstall.core.catalog import TorchWheels
from mirrorinstall.core.urls import split_url

PYTORCH_HOSTS = ("download.pytorch.org", "download-r2.pytorch.org")
FAMILY = ("torch", "torchvision", "torchaudio")  # the projects PyTorch's indexes build per variant
_VARIANT = re.compile(r"^(cpu|cu\d{2,3}|rocm\d+(\.\d+)*|xpu)(-cxx11-abi)?$")
_CHANNEL_HEADS = ("nightly", "test", "lts")


@dataclass(frozen=True)
class TorchUrl:
    """One download.pytorch.org URL, read."""

    url: str
    kind: str  # "index", "page" (find-links HTML), "file" (a wheel), "other"
    channel: str  # "" for stable releases, else "nightly", "test", "lts/1.8"
    variant: str  # "cu118"; "" when the URL names none (torch_stable.html, /whl itself)
    name: str  # the page's or file's name, "" for an index
    path: str  # everything after /whl/, as written (percent escapes kept)
    fragment: str  # "#sha256=..." of a file URL, kept on the mirror's URL

    @property
    def stable(self) -> bool:
        return not self.channel

    def describe(self) -> str:
        channel = f"{self.channel} " if self.channel else ""
        what = {"index": "index", "page": "page", "file": "file"}.get(self.kind, "path")
        return f"PyTorch's {channel}{self.variant + ' ' if self.variant else ''}{what}"


def read_torch_url(url: str) -> TorchUrl | None:
    """``url`` read as a download.pytorch.org/whl URL, or None for any other URL."""
    base, _, fragment = url.partition("#")
    parts = split_url(base)
    if parts is None or parts.hostname not in PYTORCH_HOSTS:
        return None
    segments = [p for p in parts.path.split("/") if p]
    if not segments or segments[0] != "whl":
        return None
    rest = segments[1:]
    path = "/".join(rest)
    channel = ""
    if rest and rest[0] in _CHANNEL_HEADS:
        take = 2 if rest[0] == "lts" and len(rest) > 1 else 1
        channel, rest = "/".join(rest[:take]), rest[take:]
    name = rest[-1] if rest and "." in rest[-1] and not _VARIANT.match(rest[-1]) else ""
    dirs = rest[:-1] if name else rest
    variant = dirs[0] if dirs and _VARIANT.match(dirs[0]) else ""
    if name.endswith(".html"):
        kind = "page"
    elif name.endswith((".whl", ".tar.gz", ".zip")):
        kind = "file"
    elif not name and len(dirs) <= 1 and (variant or not dirs):
        kind = "index"
    else:
        kind = "other"  # a project page (cu121/torch/) or something else: kept as written
    return TorchUrl(url, kind, channel, variant, name, path, f"#{fragment}" if fragment else "")


def local_variants(requirements: list[str]) -> list[str]:
    """The build variants pinned by local versions (``torch==1.7.1+cu110`` -> cu110), in order."""
    out: list[str] = []
    for text in requirements:
        for found in re.finditer(r"\+((?:cpu|cu\d{2,3}|rocm[\d.]*\d|xpu))\b", text):
            if found.group(1) not in out:
                out.append(found.group(1))
    return out


@dataclass(frozen=True)
class Equivalent:
    """Where a mirror serves what a PyTorch URL served: the option and URLs to use instead."""

    urls: tuple[str, ...]
    role: str  # "same": the same kind of thing; "index": a page became its variant's index
    variants: tuple[str, ...]  # the stable variants these URLs serve (to check listings)


def equivalent(ref: TorchUrl, wheels: TorchWheels, pinned: list[str]) -> Equivalent | str:
    """The URLs on a mirror with this ``wheels`` layout that serve what ``ref`` (a page or a
    wheel; indexes are routed by variant in rewrite/pip.py) served, or why there are none.
    ``pinned``: the variants the command's own pins name, which is what an every-variant page
    (torch_stable.html) is for."""
    base = wheels.base.rstrip("/")
    variants = (ref.variant,) if ref.variant else tuple(pinned)
    if wheels.layout == "find-links" and wheels.listing:
        # mirror-intel: *.html and *.whl map 1:1 onto download.pytorch.org/whl
        if ref.kind in ("page", "file"):
            return Equivalent((f"{base}/{ref.path}{ref.fragment}",), "same", variants)
        return f"it serves {ref.describe()} only by redirecting to the official host"
    if not ref.stable:
        return f"it carries PyTorch's stable variants only, not its {ref.channel} channel"
    if ref.kind == "file":
        if not ref.variant:
            return "it keeps wheels per variant, and this file's URL names none"
        return Equivalent(
            (f"{base}/{ref.variant}/{ref.name}{ref.fragment}",), "same", (ref.variant,)
        )
    if ref.kind == "page":
        if not variants:
            return (
                "the page lists every variant and the command pins none (+cu118, +cpu), so "
                "no one variant's listing can stand in for it"
            )
        role = "page" if wheels.layout == "find-links" else "index"
        return Equivalent(tuple(wheels.variant_url(v) for v in variants), role, variants)
    return f"it has no copy of {ref.describe()}"


def file_name(ref: TorchUrl) -> str:
    """The wheel's file name as listings show it (``%2B`` read as ``+``)."""
    return unquote(ref.name)
