"""What the benchmarks share: the environment that points minstall, pip and uv at a farm."""

from __future__ import annotations

import os
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def farm_env(farm, root: Path) -> dict[str, str]:
    """Only the farm (its catalog, a private cache, a fixed network id), no pip or uv config
    or cache of this machine, and this checkout's tools first on PATH."""
    env = {
        **os.environ,
        "MINSTALL_CATALOG": str(farm.write_catalog(root / "farm.toml")),
        "MINSTALL_CACHE_DIR": str(root / "cache"),
        "MINSTALL_NETWORK_ID": "bench",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_CACHE_DIR": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "UV_NO_CACHE": "1",
        "PATH": f"{BIN}:{os.environ['PATH']}",
    }
    env.pop("PIP_FIND_LINKS", None)
    return env
