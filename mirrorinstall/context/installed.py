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
from dataclasses import dataclass

from mirrorinstall.core import capped

_VERSION = re.compile(r"[0-9][0-9A-Za-z.+!_-]{0,63}")
_PYTHON = re.compile(r"[0-9]{1,2}\.[0-9]{1,3}")
# its Python X.Y; then, when it has torch, torch's version and its torch.version.cuda read
# from torch/version.py without importing torch (seconds, and a broken torch would fail it):
# "12.1", "-" when it is None, "" unknown; and the C++ ABI it was built with, as its CMake
# config tells C++ extensions (TorchConfig.cmake: -D_GLIBCXX_USE_CXX11_ABI=0 or 1, up to torch
# 2.7; conda-forge's sits under the environment's share/), "" when it does not say
_TORCH_SCRIPT = (
    "import importlib.metadata as m, importlib.util as u, os, re, sys\n"
    "print('%d.%d' % sys.version_info[:2])\n"
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
    "a = ''\n"
    "for d in ([os.path.join(list(s.submodule_search_locations)[0], 'share')] if s and "
    "s.submodule_search_locations else []) + [os.path.join(sys.prefix, 'share')]:\n"
    "    try:\n"
    "        with open(os.path.join(d, 'cmake', 'Torch', 'TorchConfig.cmake'),"
    " encoding='utf-8', errors='replace') as f:\n            k = f.read(262144)\n"
    "    except OSError:\n        continue\n"
    "    g = re.search(r'_GLIBCXX_USE_CXX11_ABI=([01])', k)\n"
    "    a = g.group(1) if g else ''\n    break\n"
    "print(a)\n"
)
_CUDA = re.compile(r"[0-9]{1,2}\.[0-9]{1,2}|-|")


@dataclass(frozen=True)
class Target:
    """What the target interpreter says of itself."""

    python: str  # "3.11"
    torch: str | None = None  # "2.4.1+cu121"; None: no torch
    cuda: str | None = None  # torch.version.cuda: "12.1", "" none (a CPU build), None unknown
    cxx11_abi: bool | None = None  # torch._C._GLIBCXX_USE_CXX11_ABI; None: not written down


def ask_target(
    python: list[str], environ: Mapping[str, str], timeout_s: float = 15.0
) -> Target | None:
    """The target's Python version and torch, or None when the interpreter cannot say."""
    try:
        proc = capped.run(
            [*python, "-c", _TORCH_SCRIPT], env=environ, timeout=timeout_s, limit=4096
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = [line.strip() for line in proc.stdout.decode("ascii", "replace").splitlines()]
    if proc.returncode != 0 or not lines or not _PYTHON.fullmatch(lines[0]):
        return None
    if len(lines) not in (3, 4) or not _VERSION.fullmatch(lines[1]):
        return Target(lines[0])
    cuda = lines[2]
    if not _CUDA.fullmatch(cuda):
        return Target(lines[0], lines[1])
    abi = {"1": True, "0": False}.get(lines[3]) if len(lines) == 4 else None
    return Target(lines[0], lines[1], {"-": "", "": None}.get(cuda, cuda), abi)


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
