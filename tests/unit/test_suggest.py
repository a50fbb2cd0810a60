"""A mistyped command is not a package name (pure)."""

from __future__ import annotations

import pytest

from mirrorinstall.core.suggest import distance, mistyped

COMMANDS = ("bench", "cache", "conda", "doctor", "fetch", "install", "mirrors", "pip", "uv")


@pytest.mark.parametrize(
    ("a", "b", "edits"),
    [
        ("benhc", "bench", 1),
        ("doctr", "doctor", 1),
        ("fecth", "fetch", 1),
        ("pip", "pip", 0),
        ("kitten", "sitting", 3),
        ("", "uv", 2),
    ],
)
def test_edit_distance_counts_a_swap_as_one(a, b, edits) -> None:
    assert distance(a, b) == edits


@pytest.mark.parametrize(
    ("word", "meant"),
    [
        ("doctr", "doctor"),
        ("benhc", "bench"),
        ("Bench", "bench"),
        ("instal", "install"),
        ("mirorrs", "mirrors"),
        ("pytorch", None),
        ("torch", None),
        ("numpy", None),
        ("av", None),
        ("uv", None),
        ("tensorflow", None),
    ],
)
def test_words_close_to_a_command_are_typos_others_are_packages(word, meant) -> None:
    assert mistyped(word, COMMANDS) == meant
