"""Which mirrors an install tries, in which order (pure over catalog and ranking)."""

from __future__ import annotations

from pathlib import Path

from mirrorinstall.argv import parse_command
from mirrorinstall.catalog import build_catalog
from mirrorinstall.execute import candidates

ROOT = Path(__file__).resolve().parents[2]
CATALOG = build_catalog([("mirrors.toml", (ROOT / "mirrors.toml").read_text())])
PIP = parse_command(["pip", "install", "six"])
CONDA = parse_command(["conda", "install", "numpy"])


def test_best_ranked_first_and_the_official_host_last() -> None:
    order = {"pypi": ["pypi", "aliyun", "tuna", "douban"]}  # pypi.org measured fastest
    assert candidates(CATALOG, order, PIP, 3) == ["aliyun", "tuna", "pypi"]
    assert candidates(CATALOG, order, PIP, 1) == ["aliyun"]
    assert candidates(CATALOG, order, PIP, 10) == ["aliyun", "tuna", "douban", "pypi"]


def test_only_mirrors_that_carry_the_kind_and_are_enabled() -> None:
    order = {"conda": ["douban", "tuna", "ustc"], "pypi": ["douban"]}
    tries = candidates(CATALOG, order, CONDA, 3)
    assert "douban" not in tries and tries[:2] == ["tuna", "ustc"]
    assert CATALOG.get(tries[-1]).upstream
    off = build_catalog(
        [
            ("a", (ROOT / "mirrors.toml").read_text()),
            ("u", "schema = 1\n[mirror.tuna]\nenabled = false\n"),
        ]
    )
    assert "tuna" not in candidates(off, order, CONDA, 3)
