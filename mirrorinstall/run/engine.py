"""The install command ``minstall [install] PKG...`` stands for.  [edge: host (environment)]

conda in a conda environment (or with -n/-p), mamba/micromamba when chosen with ``--engine``,
else pip of the target Python (``--python``, the active venv or conda env, or this Python),
or uv. The executable itself is found once, by ``core.engines`` (``CONDA_EXE`` first).
"""

from __future__ import annotations

from collections.abc import Mapping

from mirrorinstall.core.errors import UsageError


def engine_command(
    environ: Mapping[str, str],
    packages: list[str],
    *,
    engine: str | None,
    env_name: str | None,
    prefix: str | None,
    python: str | None,
    channels: list[str],
) -> list[str]:
    """The command to plan and run, as the user would have typed it."""
    in_conda = bool(env_name or prefix or environ.get("CONDA_PREFIX")) and not python
    chosen = engine or ("conda" if in_conda else "pip")
    if chosen in ("conda", "mamba", "micromamba"):
        target = ["-n", env_name] if env_name else ["-p", prefix] if prefix else []
        chans = [t for c in channels for t in ("-c", c)]
        return [chosen, "install", *target, *packages, *chans]
    if channels:
        raise UsageError("-c/--channel is a conda option", "Drop it, or use --engine conda.")
    from mirrorinstall.cuda.verify import target_python

    target_py = target_python(environ, python=python)
    if chosen == "uv":
        return ["uv", "pip", "install", "--python", target_py, *packages]
    return [target_py, "-m", "pip", "install", *packages]
