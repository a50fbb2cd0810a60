"""PyTorch's release table (mirrorinstall/data/pytorch.toml) against the data of the page it
cites, https://pytorch.org/get-started/previous-versions/, as recorded in
../shared/research/cuda-facts.md section 3a (issue 19: a missing row is a data bug, and the
table gains this check). Every release and pip CUDA variant that page lists must be in the
table, with the torchvision it pairs; the table may know more (releases and variants the page
leaves out, each with its own source)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mirrorinstall.cuda.packaged import load_tables

FACTS = Path(__file__).resolve().parents[3] / "shared" / "research" / "cuda-facts.md"


def _page_rows() -> list[tuple[list[str], list[str], list[str]]]:
    """(torch versions, torchvision versions, pip variants) per row of table 3a."""
    if not FACTS.exists():
        pytest.skip(f"{FACTS} is missing (the shared research folder)")
    text = FACTS.read_text(encoding="utf-8")
    section = text[text.index("### 3a.") : text.index("### 3b.")]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 6 or not re.match(r"^\d+\.\d+\.\d+", cells[0]) or "LTS" in cells[0]:
            continue  # the header, a planned release, or the LTS (its own index, not /whl)
        versions = re.findall(r"\d+\.\d+\.\d+", cells[0])
        vision = re.findall(r"\d+\.\d+\.\d+", cells[1].split("(pip)")[0] + cells[1][:0])
        variants = re.findall(r"\bcu\d{2,3}\b", cells[3].split("(cu113 also")[0])
        if "experimental" in cells[3]:
            variants = re.findall(r"\bcu\d{2,3}\b", cells[3].split("stable")[0])
        rows.append((versions, vision, variants))
    return rows


def test_every_release_and_variant_on_the_page_is_in_the_table() -> None:
    tables = load_tables()
    by_version = {v: row for row in tables.torch for v in row.versions}
    rows = _page_rows()
    assert len(rows) >= 20
    for versions, vision, variants in rows:
        for k, version in enumerate(versions):
            assert version in by_version, f"torch {version} is on the page, not in the table"
            row = by_version[version]
            missing = set(variants) - set(row.pip)
            assert not missing, f"torch {version}: the page lists {sorted(missing)}, the table not"
            if len(vision) == len(versions):
                assert row.pairs("torchvision").get(version) == vision[k], version
