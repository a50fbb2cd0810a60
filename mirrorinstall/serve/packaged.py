"""The fleet cache's table shipped in ``mirrorinstall/data``.  [edge: disk (package data)]"""

from __future__ import annotations

from importlib import resources

from mirrorinstall.config.tomlconf import tomllib
from mirrorinstall.serve.plan import Absolute, parse_absolutes


def load_absolutes() -> tuple[Absolute, ...]:
    text = resources.files("mirrorinstall.data").joinpath("fleet_cache.toml").read_text("utf-8")
    return parse_absolutes(tomllib.loads(text))
