"""What a new conda environment's ``pip:`` list runs with: the environment's Python and the
torch its conda dependencies install, read from the environment file. Pure.

conda env create installs the conda dependencies, then runs the new environment's pip on the
``pip:`` list. A package built per torch and Python (flash-attn's release wheels) must fit
that environment, not the Python minstall runs in: ``python=3.10`` names its Python,
``pytorch=2.5.1`` its torch. conda-forge builds torch, like everything it builds, with the new
C++ ABI (``_GLIBCXX_USE_CXX11_ABI=1``: what OpenVDB's fvdb asks for by name, "Please install
PyTorch with the C++11 ABI (e.g. conda-forge package)", fvdb/src/cmake/get_torch.cmake), with
the CUDA that ``cuda-version`` pins. Which ABI the pytorch channel's and Anaconda's own builds
used is not written down in a source minstall cites, so for them nothing is guessed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# conda's match specs for one release: "python=3.10", "python==3.10.14", "python 3.10.*"
_PYTHON = re.compile(r"^python\s*(?:={1,2}|\s)\s*(3\.[0-9]{1,2})(?:\.[0-9*]+)*(?:[=\s].*)?$")
_TORCH = re.compile(
    r"^(?:(?P<chan>[A-Za-z0-9_.-]+)::)?pytorch\s*(?:={1,2}|\s)\s*(?P<ver>[0-9]+\.[0-9]+\.[0-9]+)"
    r"(?:\s*=\s*(?P<build>\S+))?$"
)
_CUDA_VERSION = re.compile(r"^cuda-version\s*(?:={1,2}|\s)\s*(?P<ver>[0-9]{2}\.[0-9])(?:\.\*)?$")
_BUILD_CUDA = re.compile(r"cuda(?P<ver>[0-9]{3})")


@dataclass(frozen=True)
class NewEnv:
    """The environment an environment file creates, as its ``pip:`` list sees it."""

    python: str | None  # "3.10"; None: the file pins none (conda takes its newest)
    torch: tuple[str | None, str | None] = (None, None)  # (release, "cu126"), from conda
    abi: bool | None = None  # that torch's C++ ABI, when a source says it
    why_not: str | None = None  # why its torch cannot be told, when conda installs one


def read_new_env(dependencies: Sequence[str], channels: Sequence[str]) -> NewEnv:
    """The environment of an environment file's conda ``dependencies`` (as written) and
    ``channels`` (names: ``conda-forge``, ``pytorch``), in the order conda reads them."""
    python = next((m.group(1) for d in dependencies if (m := _PYTHON.match(d.strip()))), None)
    torch = next((m for d in dependencies if (m := _TORCH.match(d.strip()))), None)
    named = any(re.match(r"^(?:[\w.-]+::)?pytorch\b", d.strip()) for d in dependencies)
    if torch is None:
        why = "this environment's torch comes from conda with no exact release" if named else None
        return NewEnv(python, why_not=why)
    # strict channel priority: an unprefixed spec comes from the first channel listed
    channel = torch.group("chan") or next(iter(channels), "defaults")
    release = torch.group("ver")
    if channel != "conda-forge":
        return NewEnv(
            python,
            why_not=f"this environment's torch {release} comes from the {channel} channel, "
            "whose C++ ABI minstall's sources do not record; once the environment exists, "
            "'minstall pip install flash-attn --no-build-isolation' in it reads its torch's "
            "own TorchConfig.cmake",
        )
    if (torch.group("build") or "").startswith("cpu"):
        return NewEnv(python, why_not=f"this environment's torch {release} is a CPU build")
    pins = (m.group("ver") for d in dependencies if (m := _CUDA_VERSION.match(d.strip())))
    cuda = next(pins, None)
    build = _BUILD_CUDA.search(torch.group("build") or "")
    variant = f"cu{cuda.replace('.', '')}" if cuda else None
    if variant is None and build is not None:
        variant = f"cu{build.group('ver')}"
    if variant is None:
        return NewEnv(
            python,
            why_not=f"conda-forge's torch {release} takes the CUDA of the driver's __cuda, which "
            "this file does not pin (cuda-version=12.6 pins it)",
        )
    return NewEnv(python, (release, variant), True)
