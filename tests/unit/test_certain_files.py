"""Which listed wheels an installer is certain to take for exact pins (rewrite/torchpin.py
certain_files): those fetched before the installer starts. Expected files written by hand
from PEP 440's version matching (a local part counts only when the pin names one:
https://peps.python.org/pep-0440/#version-matching) and the wheel tags of each file name."""

from __future__ import annotations

from mirrorinstall.rewrite.torchpin import certain_files

LISTING = (
    "torch-2.5.1+cu121-cp311-cp311-linux_x86_64.whl",
    "torch-2.5.1+cu121-cp311-cp311-win_amd64.whl",
    "torch-2.5.1+cu121-cp312-cp312-linux_x86_64.whl",
    "torch-2.4.1+cu121-cp311-cp311-linux_x86_64.whl",
    "torchvision-0.20.1+cu121-cp311-cp311-linux_x86_64.whl",
    "torchaudio-2.5.1+cu121-cp311-cp311-linux_x86_64.whl",
    "torchaudio-2.5.1+cu121-cp311-cp311-manylinux1_x86_64.whl",
)


def test_an_exact_pin_with_one_fitting_file_is_certain() -> None:
    argv = ["pip", "install", "torch==2.5.1+cu121", "torchvision==0.20.1+cu121", "-f", "x/"]
    assert certain_files(argv, LISTING, "3.11", "linux-64") == [
        "torch-2.5.1+cu121-cp311-cp311-linux_x86_64.whl",
        "torchvision-0.20.1+cu121-cp311-cp311-linux_x86_64.whl",
    ]
    assert certain_files(argv[:3], LISTING, "3.12", "linux-64") == [
        "torch-2.5.1+cu121-cp312-cp312-linux_x86_64.whl"
    ]
    assert certain_files(argv[:3], LISTING, "3.11", "win-64") == [
        "torch-2.5.1+cu121-cp311-cp311-win_amd64.whl"
    ]


def test_anything_the_installer_still_decides_is_left_to_it() -> None:
    def files(*reqs: str, python: str = "3.11") -> list[str]:
        return certain_files(["pip", "install", *reqs], LISTING, python, "linux-64")

    assert files("torch==2.5.1") == []  # also matches PyPI's 2.5.1: pip picks between them
    assert files("torch>=2.5") == []
    assert files("torch==2.5.*") == []
    assert files("torch==2.5.1+cu121; python_version < '3.12'") == []  # a marker
    assert files("torch==2.5.1+cu121", python="3.10") == []  # no cp310 file listed
    assert files("torchaudio==2.5.1+cu121") == []  # two fitting files: pip's tag order decides
    assert files("numpy==1.26.4") == []  # not a torch-family project
    assert files("torch==2.5.1+cu118") == []
