"""The torch already installed in the target Python, and its CUDA.  [edge: child process]

A find-links page built per torch release (PyG's, mmcv's) must match the torch the target
already has when the command does not install one: ``pip install torch-scatter -f
.../torch-2.1.0+cu118.html`` into an environment with torch 2.4.1+cu121 gives extensions that
fail to load. Only the target's own interpreter knows what it has (its site-packages, a
conda prefix, a user site), so it is asked, with a timeout and bounded output.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping

from mirrorinstall.core import capped

_VERSION = re.compile(r"[0-9][0-9A-Za-z.+!_-]{0,63}")
# torch's version, then its torch.version.cuda read from torch/version.py without importing
# torch (seconds, and a broken torch would fail it): "12.1", "-" when it is None, "" unknown
_TORCH_SCRIPT = (
    "import importlib.metadata as m, importlib.util as u, os, re\n"
    "try:\n    v = m.version('torch')\n"
    "except m.PackageNotFoundError:\n    raise SystemExit(0)\n"
    "s, t = u.find_spec('torch'), ''\n"
    "if s and s.submodule_search_locations:\n"
    "    try:\n"
    "        with open(os.path.join(list(s.submodule_search_locations)[0], 'version.py'),"
    " encoding='utf-8') as f:\n            t = f.read(65536)\n"
    "    except OSError:\n        pass\n"
    "c = re.search(r\"^cuda\\b[^=\\n]*=\\s*(?:'([0-9.]+)'|(None))\", t, re.M)\n"
    "print(v)\nprint((c.group(1) or '-') if c else '')\n"
)
_CUDA = re.compile(r"[0-9]{1,2}\.[0-9]{1,2}|-|")


def torch_build(
    python: list[str], environ: Mapping[str, str], timeout_s: float = 15.0
) -> tuple[str, str | None] | None:
    """The target's torch: (version, its CUDA: "12.1", "" for a build without CUDA, None when
    that cannot be read), or None when torch is not installed or the interpreter cannot say."""
    try:
        proc = capped.run(
            [*python, "-c", _TORCH_SCRIPT], env=environ, timeout=timeout_s, limit=4096
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = proc.stdout.decode("ascii", "replace").splitlines()
    if proc.returncode != 0 or len(lines) != 2 or not _VERSION.fullmatch(lines[0].strip()):
        return None
    cuda = lines[1].strip()
    if not _CUDA.fullmatch(cuda):
        return lines[0].strip(), None
    return lines[0].strip(), {"-": "", "": None}.get(cuda, cuda)


def interpreter_of(head: tuple[str, ...], args: tuple[str, ...]) -> list[str] | None:
    """The interpreter a pip or uv command installs into, as it names one: ``--python X``
    (pip's global option, uv's), ``python3.11 -m pip``, ``py -3.11 -m pip``; None when it
    names none (the active environment's, or pip's own)."""
    tokens = (*head, *args)
    for k, token in enumerate(tokens):
        if token == "--python" and k + 1 < len(tokens):
            return [_interpreter_in(tokens[k + 1])]
        if token.startswith("--python="):
            return [_interpreter_in(token.split("=", 1)[1])]
    if head and (head[0].startswith("python") or head[0] == "py") and "-m" in head:
        return list(head[: head.index("-m")])
    return None


def _interpreter_in(path: str) -> str:
    """``--python`` may name an environment's folder: its interpreter, looked for as pip
    looks (``bin/python``, then ``Scripts/python.exe``, pip's identify_python_interpreter)."""
    if os.path.isdir(path):
        for exe in (os.path.join("bin", "python"), os.path.join("Scripts", "python.exe")):
            if os.path.exists(os.path.join(path, exe)):
                return os.path.join(path, exe)
    return path
