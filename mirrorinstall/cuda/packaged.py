"""The CUDA tables shipped in ``mirrorinstall/data``, read once per process.
[edge: disk (package data)]"""

from __future__ import annotations

import functools
from importlib import resources

from mirrorinstall.cuda.tables import TABLE_FILES, Tables, parse_tables


@functools.lru_cache(maxsize=1)
def load_tables() -> Tables:
    data = resources.files("mirrorinstall.data")
    return parse_tables({name: data.joinpath(name).read_text("utf-8") for name in TABLE_FILES})
