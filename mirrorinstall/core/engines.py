"""Where the installers live: one lookup for ``minstall install`` and ``minstall conda ...``.
[edge: host (PATH and the variables conda/mamba set)]

conda: ``CONDA_EXE`` (set by ``conda activate``/``conda init``, so it names the conda of the
user's shell even when it is not on PATH), else ``conda`` on PATH. mamba and micromamba:
``MAMBA_EXE`` when it names that tool, else the tool on PATH. Anything else (pip, uv, a
Python path) is looked up on PATH as given.

On Windows, what PATH finds for conda in cmd is ``<root>\\condabin\\conda.bat``, a batch file:
cmd reads its arguments a second time (``numpy>=1.26`` becomes a redirection), so the real
program beside it, ``<root>\\Scripts\\conda.exe``, is taken instead (mamba likewise); a batch
file with no program beside it runs through ``cmd /d /s /c`` with cmd's quoting
(run/runner.py).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping

from mirrorinstall.core.argv import tool_name
from mirrorinstall.core.errors import EngineNotFound


def find_engine(
    tool: str,
    environ: Mapping[str, str],
    which: Callable[[str], str | None] = shutil.which,
) -> str | None:
    """The executable for ``tool`` as typed (``conda``, ``pip``, ``/x/bin/python``), or None."""
    stem = tool_name(tool)
    if os.sep in tool or (os.altsep and os.altsep in tool):
        return tool if os.path.exists(tool) else None
    if stem == "conda" and environ.get("CONDA_EXE") and os.path.isfile(environ["CONDA_EXE"]):
        return environ["CONDA_EXE"]
    mamba = environ.get("MAMBA_EXE")
    if stem in ("mamba", "micromamba") and mamba and tool_name(mamba) == stem:
        return mamba if os.path.isfile(mamba) else None
    found = which(tool)
    if found is not None and found.lower().endswith((".bat", ".cmd")):
        exe = exe_beside_batch(found)
        if exe is not None and os.path.isfile(exe):
            return exe
    return found


def exe_beside_batch(batch: str, path=os.path) -> str | None:
    """``<root>\\Scripts\\<tool>.exe`` for ``<root>\\condabin\\<tool>.bat``, the layout
    Miniconda, Anaconda and Miniforge install; None for any other batch file."""
    folder, name = path.split(batch)
    root, condabin = path.split(folder)
    if condabin.lower() != "condabin":
        return None
    return path.join(root, "Scripts", path.splitext(name)[0] + ".exe")


def require_engine(tool: str, environ: Mapping[str, str]) -> str:
    found = find_engine(tool, environ)
    if found is None:
        where = " (CONDA_EXE is not set either)" if tool_name(tool) == "conda" else ""
        raise EngineNotFound(
            f"{tool} was not found on PATH{where}",
            "Install it, activate the environment that has it, put it on PATH, or choose "
            "another installer with --engine.",
        )
    return found
