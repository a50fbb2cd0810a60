"""Find-links pages built per torch release and CUDA build (PyG's ``torch-2.5.0+cu121.html``,
OpenMMLab's ``mmcv/dist/cu121/torch2.1/index.html``): which pair a page is, and the page for
the torch a command installs. Pure.

An extension built against one torch fails to load in another ("undefined symbol:
make_function_schema"), and its CUDA build must be torch's own; a page copied from an older
README gives exactly that. The facts are ``data/find_links.toml`` (each row with its source).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from mirrorinstall.cuda.packages import check_row

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_VARIANT = re.compile(r"cpu|cu\d{2,3}")
_FIELDS = {"{torch}": r"(?P<torch>\d+\.\d+(?:\.\d+)?)", "{variant}": r"(?P<variant>[a-z0-9]+)"}
_PLUS = r"(?P<plus>\+|%2[Bb])"


@dataclass(frozen=True)
class PageFamily:
    family: str  # "pyg"
    projects: tuple[str, ...]  # what its pages carry
    page: str  # the URL template: {torch} a release, {variant} a build
    aliases: tuple[str, ...]
    source: str
    pages: tuple[tuple[str, tuple[str, ...], str], ...]  # (torch minor, builds, source)
    newest: str | None = None  # the last torch minor it publishes for at all
    newest_source: str | None = None

    def builds(self, minor: str) -> tuple[str, ...] | None:
        """The builds a source shows for torch ``minor`` ("2.5"); None: not known."""
        return next((v for m, v, _ in self.pages if m == minor), None)

    def row_source(self, minor: str) -> str:
        return next((s for m, _, s in self.pages if m == minor), self.source)


@dataclass(frozen=True)
class PageRef:
    """A page of a family as a command names it."""

    family: PageFamily
    template: str  # the family's page or the alias the URL was written with
    torch: str  # "2.5.0", as written
    variant: str  # "cu121"
    plus: str  # "+" or "%2B", as written

    @property
    def minor(self) -> str:
        return _minor(self.torch) or self.torch

    def url(self, torch: str, variant: str) -> str:
        """The same family's page for ``torch`` and ``variant``, spelled as this one."""
        return (
            self.template.replace("{torch}", torch)
            .replace("+", self.plus)
            .replace("{variant}", variant)
        )


@dataclass(frozen=True)
class PageChoice:
    url: str  # the page to use (the same URL when nothing changes)
    note: str | None = None  # why it changed, or why a page that does not fit is kept


@dataclass(frozen=True)
class MimFacts:
    """What ``mim install`` adds to the pip install it runs (the data file's ``[mim]``)."""

    base: str  # the default $MMCV_BASE_URL
    page: str  # mmcv's page: {base}, {variant} ("cu121", "cpu"), {torch} ("2.4.0")
    packages: tuple[str, ...]  # OpenMMLab packages whose 'mim' extra it adds
    source: str


def parse_mim(text: str, name: str = "find_links.toml") -> MimFacts | None:
    """The ``[mim]`` table, or None when the file has none; a broken one names file and key."""
    table = tomllib.loads(text).get("mim")
    if table is None:
        return None
    missing = [k for k in ("base", "page", "packages", "source") if k not in table]
    check_row(f"{name}: [mim]", missing, table.get("source", ""))
    if not str(table["base"]).startswith("https://"):
        raise ValueError(f"{name}: [mim]: base must be an https URL")
    return MimFacts(
        str(table["base"]).rstrip("/"), table["page"], tuple(table["packages"]), table["source"]
    )


def parse_families(text: str, name: str = "find_links.toml") -> tuple[PageFamily, ...]:
    """The families of the data file; a broken row names the file, the row and the key."""
    out = []
    for n, row in enumerate(tomllib.loads(text).get("family", []), start=1):
        where = f"{name}: family {n} ({row.get('family', '?')})"
        missing = [k for k in ("family", "projects", "page", "source", "pages") if k not in row]
        missing += [
            f"pages.{k}" for p in row.get("pages", []) for k in ("torch", "variants") if k not in p
        ]
        check_row(where, missing, row.get("source", ""))
        for template in (row["page"], *row.get("aliases", [])):
            if "{torch}" not in template or "{variant}" not in template:
                raise ValueError(f"{where}: page {template!r} needs {{torch}} and {{variant}}")
        out.append(
            PageFamily(
                row["family"],
                tuple(row["projects"]),
                row["page"],
                tuple(row.get("aliases", ())),
                row["source"],
                tuple(
                    (p["torch"], tuple(p["variants"]), p.get("source", row["source"]))
                    for p in row["pages"]
                ),
                row.get("newest"),
                row.get("newest_source", row["source"]),
            )
        )
    return tuple(out)


def read_page(families: tuple[PageFamily, ...], url: str) -> PageRef | None:
    """The family page ``url`` is (``torch-2.5.0+cu121.html``, ``%2B`` too); None for any
    other URL."""
    for family in families:
        for template in (family.page, *family.aliases):
            pattern = "".join(
                _FIELDS.get(piece) or re.escape(piece).replace(re.escape("+"), _PLUS)
                for piece in re.split(r"(\{torch\}|\{variant\})", template)
            )
            found = re.fullmatch(pattern, url.strip())
            if found and _VARIANT.fullmatch(found["variant"]):
                plus = found.groupdict().get("plus") or "+"
                return PageRef(family, template, found["torch"], found["variant"], plus)
    return None


def page_for(
    ref: PageRef, torch: str | None, variant: str | None, *, installed: bool = False
) -> PageChoice:
    """The page of ``ref``'s family for the torch a command installs (``torch``: its release,
    "2.5.1"; ``variant``: its build, "cu121"; None: not known, the page's own kept);
    ``installed``: that torch is the one already in the target, the command installs none."""
    family, written = ref.family, ref.url(ref.torch, ref.variant)
    want_minor = _minor(torch) if torch else ref.minor
    want_variant = variant or ref.variant
    if want_minor is None or (want_minor, want_variant) == (ref.minor, ref.variant):
        return PageChoice(written)
    why = (
        f"{family.family}'s wheels on it are built for torch {ref.minor} with {ref.variant}; "
        + ("the target has torch " if installed else "this command installs torch ")
        + f"{torch or ref.minor}"
        + (f" with {variant}" if variant else "")
        + f", where they fail to load (undefined symbol; {family.source})"
    )
    builds = family.builds(want_minor)
    if builds is None and family.newest and _later(want_minor, family.newest):
        return PageChoice(
            written,
            f"{written}: {why}. {family.family} publishes no build for any torch after "
            f"{family.newest} ({family.newest_source}): install torch {family.newest} or "
            f"older, or let pip build {family.family} from source (slow, needs the CUDA "
            "toolkit)",
        )
    if builds is None:
        return PageChoice(
            written,
            f"{written}: {why}. No page for torch {want_minor} is known to minstall; pip "
            f"takes what this one has (see {family.page.split('{')[0]})",
        )
    if want_variant not in builds:
        return PageChoice(
            written,
            f"{written}: {why}. {family.family} publishes no {want_variant} build for torch "
            f"{want_minor} (builds: {', '.join(builds)}; {family.row_source(want_minor)}): "
            "install torch with one of those builds",
        )
    # a page names the torch as the command wrote it: "2.1" (mmcv's selector) or "2.1.0"
    new = ref.url(want_minor if ref.torch.count(".") == 1 else f"{want_minor}.0", want_variant)
    return PageChoice(new, f"{written} -> {new}: {why}")


def _later(minor: str, than: str) -> bool:
    return Version(minor) > Version(than)


def _minor(release: str) -> str | None:
    try:
        v = Version(release)
    except InvalidVersion:
        return None
    return f"{v.major}.{v.minor}"
