"""What the loopback index reads ahead of pip (fetch/readahead.py): the requirements a
METADATA has on the target, and the one file pip will plainly read the metadata of."""

from __future__ import annotations

import pytest
from packaging.requirements import Requirement

from mirrorinstall.fetch.readahead import environment, likely_file, named, required
from mirrorinstall.fetch.simplepage import PageFile

# torch 2.5.1's own Requires-Dist lines (its METADATA on PyPI, abridged to these), the
# markers as PyTorch writes them
LINUX_X86 = 'platform_system == "Linux" and platform_machine == "x86_64"'
TORCH_METADATA = f"""Metadata-Version: 2.1
Name: torch
Version: 2.5.1
Requires-Dist: filelock
Requires-Dist: typing-extensions>=4.8.0
Requires-Dist: sympy==1.13.1; python_version >= "3.9"
Requires-Dist: nvidia-cublas-cu12==12.4.5.8; {LINUX_X86}
Requires-Dist: triton==3.1.0; {LINUX_X86} and python_version < "3.13"
Requires-Dist: setuptools; python_version >= "3.12"
Requires-Dist: opt-einsum>=3.3; extra == "opt-einsum"
Requires-Dist: optree>=0.12.0; extra == "optree"

""".encode()


def _names(reqs) -> list[str]:
    return [r.name for r in reqs]


@pytest.mark.parametrize(
    ("python", "subdir", "extras", "expected"),
    [
        (
            "3.11",
            "linux-64",
            (),
            ["filelock", "typing-extensions", "sympy", "nvidia-cublas-cu12", "triton"],
        ),
        (
            "3.12",
            "linux-64",
            (),
            [
                "filelock",
                "typing-extensions",
                "sympy",
                "nvidia-cublas-cu12",
                "triton",
                "setuptools",
            ],
        ),
        (
            "3.13",
            "linux-64",
            (),
            ["filelock", "typing-extensions", "sympy", "nvidia-cublas-cu12", "setuptools"],
        ),
        # the GTX 1060 on Windows: no CUDA wheels from PyPI there
        ("3.11", "win-64", (), ["filelock", "typing-extensions", "sympy"]),
        ("3.11", "linux-aarch64", (), ["filelock", "typing-extensions", "sympy"]),
        ("3.11", "osx-arm64", ("optree",), ["filelock", "typing-extensions", "sympy", "optree"]),
    ],
)
def test_requirements_that_apply_on_the_target(python, subdir, extras, expected) -> None:
    got = required(TORCH_METADATA, environment(python, subdir), extras)
    assert _names(got) == expected


def test_unreadable_lines_are_skipped_not_fatal() -> None:
    meta = b"Name: x\nRequires-Dist: good>=1\nRequires-Dist: bad ((\n"
    meta += b"Requires-Dist: odd; nonsense == 1\n\n"
    assert _names(required(meta, environment("3.11", "linux-64"))) == ["good"]


def test_the_command_s_requirements_by_name() -> None:
    tokens = [
        "torch==2.5.1",
        "jax[cuda12]>=0.4",
        "./local-pkg",
        "pkg-1.0-py3-none-any.whl",
        "requirements.txt",
        "https://example.org/x.tar.gz",
        "name @ https://example.org/name-1.0.tar.gz",
        "C:\\wheels\\x.whl",
    ]
    got = named(tokens)
    assert [str(r) for r in got] == ["torch==2.5.1", "jax[cuda12]>=0.4"]


def _f(name: str, **kw) -> PageFile:
    return PageFile(name, f"https://m.example/packages/{name}", "0" * 64, **kw)


TORCH_PAGE = [
    _f("torch-2.4.1-cp311-cp311-manylinux1_x86_64.whl"),
    _f("torch-2.5.1-cp311-cp311-manylinux1_x86_64.whl"),
    _f("torch-2.5.1-cp311-cp311-win_amd64.whl"),
    _f("torch-2.5.1-cp312-cp312-manylinux1_x86_64.whl"),
    _f("torch-2.6.0rc1-cp311-cp311-manylinux1_x86_64.whl"),
]


@pytest.mark.parametrize(
    ("req", "python", "subdir", "expected"),
    [
        ("torch", "3.11", "linux-64", "torch-2.5.1-cp311-cp311-manylinux1_x86_64.whl"),
        ("torch", "3.11", "win-64", "torch-2.5.1-cp311-cp311-win_amd64.whl"),
        ("torch<2.5", "3.11", "linux-64", "torch-2.4.1-cp311-cp311-manylinux1_x86_64.whl"),
        ("torch", "3.12", "linux-64", "torch-2.5.1-cp312-cp312-manylinux1_x86_64.whl"),
        # no wheel for this Python in the newest release: pip goes on to older ones
        ("torch", "3.10", "linux-64", None),
    ],
)
def test_the_file_pip_will_read(req, python, subdir, expected) -> None:
    got = likely_file(TORCH_PAGE, Requirement(req), python, subdir)
    assert (got.filename if got else None) == expected


def test_no_guess_where_pip_s_choice_is_not_plain() -> None:
    two = [_f("x-1.0-py3-none-any.whl"), _f("x-1.0-cp311-cp311-manylinux1_x86_64.whl")]
    assert likely_file(two, Requirement("x"), "3.11", "linux-64") is None  # pip's tag order
    sdist_newest = [_f("x-1.0-py3-none-any.whl"), _f("x-1.1.tar.gz")]
    assert likely_file(sdist_newest, Requirement("x"), "3.11", "linux-64") is None


def test_yanked_and_requires_python_are_respected() -> None:
    page = [
        _f("x-1.0-py3-none-any.whl"),
        _f("x-1.1-py3-none-any.whl", requires_python=">=3.12"),
        _f("x-1.2-py3-none-any.whl", yanked="broken"),
    ]
    got = likely_file(page, Requirement("x"), "3.11", "linux-64")
    assert got is not None and got.filename == "x-1.0-py3-none-any.whl"
    got = likely_file(page, Requirement("x"), "3.12", "linux-64")
    assert got is not None and got.filename == "x-1.1-py3-none-any.whl"
