"""The channels conda adds to every command by itself (``.condarc``'s ``channels``), asked of
conda itself.  [edge: process]

conda merges many condarc files, ``CONDARC`` and ``CONDA_*`` variables; rather than
re-implement that, minstall asks ``conda config --show channels --json`` once per run. When
conda cannot be asked (not installed here, planning for another machine, an error), the
answer is conda's built-in default, ``defaults``, and the reason says so.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Mapping

from mirrorinstall.core import capped

DEFAULT_CHANNELS = ("defaults",)


def parse_channels(text: str) -> tuple[str, ...] | None:
    """``conda config --show channels --json`` output -> the channel list, None if unreadable."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    channels = data.get("channels") if isinstance(data, dict) else None
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        return None
    return tuple(channels)


def detect_conda_channels(
    exe: str | None,
    environ: Mapping[str, str],
    *,
    run: Callable[..., subprocess.CompletedProcess] = capped.run,
    timeout_s: float = 30.0,
) -> tuple[tuple[str, ...], str]:
    """(channels, where that answer came from)."""
    if exe is None:
        return DEFAULT_CHANNELS, "conda's built-in default (conda was not found to ask)"
    argv = [exe, "config", "--show", "channels", "--json"]
    try:
        proc = run(
            argv,
            capture_output=True,
            text=True,
            env=dict(environ),
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return DEFAULT_CHANNELS, f"conda's built-in default (asking conda failed: {exc})"
    channels = parse_channels(proc.stdout) if proc.returncode == 0 else None
    if channels is None:
        return DEFAULT_CHANNELS, (
            f"conda's built-in default ('conda config --show channels' exited "
            f"{proc.returncode} without a channel list)"
        )
    return channels, "conda config --show channels"
