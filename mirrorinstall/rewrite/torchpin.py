"""Exact torch-family pins read from a mirror's flat listing. Pure.

``pip install torch --index-url https://download.pytorch.org/whl/cu124`` takes torch only from
that index: the newest cu124 build. A mirror that copies the wheels as a flat page (Aliyun,
SJTU) is a ``--find-links`` source, which pip merges with the PyPI index that the
dependencies need; merged, pip would take PyPI's newest torch instead. So when the variant
index was the only source (pip's ``--index-url``, any torch index for uv, whose default
``first-index`` strategy takes a package from the first index that has it), each torch-family
requirement is pinned to what that index would have given: the newest build of the variant
the mirror lists that satisfies the requirement and fits this Python and platform. A
torchvision/torchaudio beside torch is pinned to the release paired with that torch (the
tables), or left for pip to match against the pinned torch when the pairing is unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from mirrorinstall.bench.pages import wheel_fits
from mirrorinstall.cuda.tables import Tables
from mirrorinstall.rewrite.torchurls import FAMILY


def listed_builds(
    names: Iterable[str], variant: str, python: str, platform: str
) -> dict[str, list[Version]]:
    """project -> versions of ``variant`` listed for this Python/platform, newest first."""
    out: dict[str, set[Version]] = {}
    for name in names:
        try:
            project, version, _, _ = parse_wheel_filename(name)
        except InvalidWheelFilename:
            continue
        if project not in FAMILY or not wheel_fits(name, python, platform):
            continue
        if (version.local or "") != variant and not (variant == "cpu" and not version.local):
            continue
        out.setdefault(str(project), set()).add(version)
    return {p: sorted(v, reverse=True) for p, v in out.items()}


def _requirement(text: str) -> Requirement | None:
    try:
        req = Requirement(text)
    except InvalidRequirement:
        return None
    return req if canonicalize_name(req.name) in FAMILY else None


def _pin(req: Requirement, version: Version) -> str:
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    marker = f"; {req.marker}" if req.marker else ""
    return f"{req.name}{extras}=={version}{marker}"


def family_pins(
    requirements: Sequence[str],
    listing: Iterable[str],
    variant: str,
    *,
    python: str,
    platform: str,
    tables: Tables | None,
) -> dict[str, str] | str:
    """{requirement text -> pinned text} for the torch-family requirements, or why no pin
    can match what the variant index would have given (then nothing is rewritten)."""
    listed = listed_builds(listing, variant, python, platform)
    reqs = {text: req for text in requirements if (req := _requirement(text)) is not None}
    by_name = {canonicalize_name(r.name): (t, r) for t, r in reqs.items()}
    if not by_name:
        return {}
    pins: dict[str, str] = {}
    torch = by_name.get("torch")
    if torch is None:
        for name, (text, req) in by_name.items():
            fits = [v for v in listed.get(name, []) if req.specifier.contains(v, prereleases=None)]
            if not fits:
                return f"it lists no {name} {variant} wheel matching {text!r} for this platform"
            pins[text] = _pin(req, fits[0])
        return pins
    text, req = torch
    fits = [v for v in listed.get("torch", []) if req.specifier.contains(v, prereleases=None)]
    if not fits:
        return f"it lists no torch {variant} wheel matching {text!r} for this platform"
    chosen = fits[0]
    pins[text] = _pin(req, chosen)
    public = chosen.public
    row = None
    if tables is not None:
        row = next((r for r in tables.torch if public in r.versions), None)
    for name in ("torchvision", "torchaudio"):
        if name not in by_name:
            continue
        other_text, other = by_name[name]
        paired = row.pairs(name).get(public) if row is not None else None
        if paired is None:
            continue  # pip matches it against the pinned torch
        found = [
            v
            for v in listed.get(name, [])
            if v.public == paired and other.specifier.contains(v, prereleases=None)
        ]
        if not found:
            return (
                f"it lists no {name} {paired}+{variant} wheel (the release made for torch "
                f"{public}) matching {other_text!r}"
            )
        pins[other_text] = _pin(other, found[0])
    return pins


def certain_files(
    requirements: Iterable[str], listing: Iterable[str], python: str, platform: str
) -> list[str]:
    """The listed wheels an installer must take for exact torch-family pins
    (``torch==2.5.1+cu121``, no marker): one per pin, only where exactly one listed file has
    that very version (local part included) and fits this Python and platform; any other
    choice stays the installer's."""
    names = list(listing)
    out = []
    for text in requirements:
        req = _requirement(text) if "==" in text else None
        specs = list(req.specifier) if req is not None and not req.marker else []
        if len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version:
            continue
        try:
            wanted = (canonicalize_name(req.name), Version(specs[0].version))  # type: ignore[union-attr]
        except InvalidVersion:
            continue
        found = []
        for name in names:
            try:
                project, version, _, _ = parse_wheel_filename(name)
            except InvalidWheelFilename:
                continue
            # Version equality counts the local part: ==2.5.1 is not 2.5.1+cu121 here
            if (project, version) == wanted and wheel_fits(name, python, platform):
                found.append(name)
        if len(found) == 1:
            out.append(found[0])
    return out
