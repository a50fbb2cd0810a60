"""The error messages doctor recognises (``data/error_patterns.toml``), typed. Pure."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FIX_KINDS = (
    "build-for-driver",
    "build-for-gpu",
    "cpu-build",
    "cuda-libs",
    "gpu-memory",
    "conda-cuda",
    "use-mirror",
    "build-for-accel",  # the torch build for this machine's AMD/Intel/Ascend device
    "gpu-package",  # the build of the row's package (JAX, ONNX Runtime...) this driver runs
    "as-written",  # the row's own fix_text: a fix that needs nothing of this machine
)


@dataclass(frozen=True)
class Pattern:
    id: str
    title: str
    regex: re.Pattern[str]
    cause: str
    fix: str
    sources: tuple[str, ...]
    fix_text: str = ""
    package: str = ""  # gpu-package: the family in gpu_packages.toml


@dataclass(frozen=True)
class Match:
    pattern: Pattern
    evidence: str  # the matched text (first line of it)
    groups: dict[str, str]


def parse_patterns(text: str, name: str = "error_patterns.toml") -> tuple[Pattern, ...]:
    """The patterns of the data file; a broken row names the file, the row and the key."""
    out = []
    for n, row in enumerate(tomllib.loads(text)["pattern"], start=1):
        where = f"{name}: pattern {n} ({row.get('id', '?')})"
        if row.get("fix") not in FIX_KINDS:
            raise ValueError(f"{where}: fix {row.get('fix')!r} is not one of {FIX_KINDS}")
        if not row.get("sources") or not all(s.startswith("https://") for s in row["sources"]):
            raise ValueError(f"{where}: every pattern needs https sources")
        try:
            regex = re.compile(row["regex"], re.IGNORECASE | re.MULTILINE)
        except re.error as exc:
            raise ValueError(f"{where}: regex: {exc}") from None
        if (row["fix"] == "as-written") != bool(row.get("fix_text")):
            raise ValueError(f"{where}: fix_text goes with fix = 'as-written', and only there")
        if (row["fix"] == "gpu-package") != bool(row.get("package")):
            raise ValueError(f"{where}: package goes with fix = 'gpu-package', and only there")
        out.append(
            Pattern(
                row["id"],
                row["title"],
                regex,
                row["cause"],
                row["fix"],
                tuple(row["sources"]),
                row.get("fix_text", ""),
                row.get("package", ""),
            )
        )
    return tuple(out)


def find(patterns: tuple[Pattern, ...], text: str) -> list[Match]:
    """Every pattern that ``text`` shows, in the data file's order."""
    out = []
    for pattern in patterns:
        match = pattern.regex.search(text)
        if match:
            groups = {k: v for k, v in match.groupdict().items() if v}
            evidence = match.group(0).strip().splitlines()[0][:300]
            out.append(Match(pattern, evidence, groups))
    return out
