"""Rules of the codebase that a reviewer would otherwise have to remember."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mirrorinstall.errors import EXIT_CODES

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "mirrorinstall"

# Pure logic: no network, no processes, no UI, no environment or clock reads.
PURE_MODULES = [
    "argv.py",
    "catalog.py",
    "classify.py",
    "cuda.py",
    "defaults.py",
    "errors.py",
    "listing.py",
    "pages.py",
    "rank.py",
    "report.py",
    "rewrite.py",
    "rewrite_conda.py",
    "rewrite_pip.py",
    "targets.py",
]
FORBIDDEN = {"httpx", "subprocess", "socket", "asyncio", "click", "tqdm", "urllib.request"}


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_modules_touch_no_edges(module: str) -> None:
    tree = ast.parse((PACKAGE / module).read_text())
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            assert not any(name == f or name.startswith(f + ".") for f in FORBIDDEN), (module, name)
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("environ", "getenv", "time", "now")
            and isinstance(node.value, ast.Name)
            and node.value.id in ("os", "time", "datetime")
        ):
            pytest.fail(f"{module} reads {node.value.id}.{node.attr}")


def test_ruff_is_clean() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format_is_clean() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--no-cache", str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run must run exactly the command README.md gives for the whole suite."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Quickstart", 1)[1].split("```", 2)[1]
    test_command = [ln for ln in block.splitlines() if "pytest" in ln]
    assert len(test_command) == 1
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command[0].strip() in [ln.strip() for ln in ci]


def test_readme_documents_every_exit_code() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = {int(c) for c in re.findall(r"^\|\s*`?(\d+)`?\s*\|", readme, re.M)}
    assert set(EXIT_CODES) <= documented


def test_changelog_keeps_a_changelog_shape() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog") and "## [Unreleased]" in text
