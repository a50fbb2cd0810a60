"""The torch the target Python already has (context/installed.py), asked of real interpreters."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

from mirrorinstall.context.installed import Target, ask_target, interpreter_of
from mirrorinstall.core import hostos


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ("pip --python /env/bin/python install x", ["/env/bin/python"]),
        ("pip install --python=/env/bin/python x", ["/env/bin/python"]),
        ("uv pip install --python 3.11 x", ["3.11"]),
        ("python3.11 -m pip install x", ["python3.11"]),
        ("py -3.12 -m pip install x", ["py", "-3.12"]),
        ("pip install x", None),
    ],
)
def test_the_interpreter_a_command_names(argv: str, expected) -> None:
    from mirrorinstall.core.argv import parse_command

    cmd = parse_command(argv.split())
    assert interpreter_of(cmd.head, cmd.args) == expected


def test_an_environment_folder_given_to_python_is_its_interpreter(tmp_path: Path) -> None:
    """pip and uv take ``--python <venv folder>``; the folder is asked through its Python."""
    from mirrorinstall.core.argv import parse_command

    _venv_with_torch(tmp_path / "v", "2.4.1+cu121", "cuda: Optional[str] = '12.1'\n")
    cmd = parse_command(["pip", "--python", str(tmp_path / "v"), "install", "x"])
    python = interpreter_of(cmd.head, cmd.args)
    assert python is not None and Path(python[0]).is_file(), python
    # the folder's own interpreter answers: its torch, not this process's (which has none)
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert ask_target(python, {}) == Target(here, "2.4.1+cu121", "12.1")
    assert ask_target([sys.executable], {}) == Target(here)


def _venv_with_torch(root: Path, version: str, version_py: str | None) -> str:
    """A real venv holding a torch distribution as pip leaves one (its dist-info and, unless
    None, torch/version.py with the text given); torch itself is not importable."""
    venv.EnvBuilder(with_pip=False).create(root)
    python = hostos.env_python(str(root), venv=True)
    site = Path(
        subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                       capture_output=True, text=True, check=True).stdout.strip()
    )  # fmt: skip
    info = site / f"torch-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: torch\nVersion: {version}\n")
    (site / "torch").mkdir()
    (site / "torch" / "__init__.py").write_text("raise ImportError('not importable here')\n")
    if version_py is not None:
        (site / "torch" / "version.py").write_text(version_py)
    return python


@pytest.mark.parametrize(
    ("version", "version_py", "expected"),
    [
        # torch/version.py as torch 2.x writes it (tools/generate_torch_version.py)
        ("2.4.1+cu121", "__version__ = '2.4.1+cu121'\ndebug = False\n"
         "cuda: Optional[str] = '12.1'\nhip: Optional[str] = None\n", ("2.4.1+cu121", "12.1")),
        ("2.3.1+cpu", "__version__ = '2.3.1+cpu'\ncuda: Optional[str] = None\n",
         ("2.3.1+cpu", "")),
        # torch 1.x wrote it without the annotation
        ("1.13.1", "__version__ = '1.13.1'\ncuda = '11.7'\n", ("1.13.1", "11.7")),
        # no version.py: the version only
        ("2.4.1", None, ("2.4.1", None)),
        # something else where the CUDA version goes
        ("2.4.1", "cuda = '<script>'\n", ("2.4.1", None)),
    ],
)  # fmt: skip
def test_the_targets_torch_and_its_cuda(tmp_path: Path, version, version_py, expected) -> None:
    python = _venv_with_torch(tmp_path / "v", version, version_py)
    found = ask_target([python], {})
    assert found is not None and (found.torch, found.cuda) == expected


def test_the_c_abi_is_read_from_torchs_cmake_config(tmp_path: Path) -> None:
    """TorchConfig.cmake passes its build's ABI on to C++ extensions (pytorch's
    cmake/TorchConfig.cmake.in up to 2.7: set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=...")):
    in the wheel under torch/share/cmake/Torch, in a conda-forge environment under its own
    share/cmake/Torch; from 2.8 the line is gone (every build has the new ABI)."""
    line = '  set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI={}")\n'
    wheel = _venv_with_torch(tmp_path / "w", "2.5.1+cu124", "cuda = '12.4'\n")
    site = _ask(wheel, "import sysconfig; print(sysconfig.get_path('purelib'))")
    config = Path(site) / "torch" / "share" / "cmake" / "Torch"
    config.mkdir(parents=True)
    (config / "TorchConfig.cmake").write_text(line.format(0))
    found = ask_target([wheel], {})
    assert found is not None and found.cxx11_abi is False
    forge = _venv_with_torch(tmp_path / "f", "2.5.1", "cuda = '12.4'\n")
    prefix = Path(_ask(forge, "import sys; print(sys.prefix)"))
    (prefix / "share" / "cmake" / "Torch").mkdir(parents=True)
    (prefix / "share" / "cmake" / "Torch" / "TorchConfig.cmake").write_text(line.format(1))
    found = ask_target([forge], {})
    assert found is not None and found.cxx11_abi is True
    assert ask_target([_venv_with_torch(tmp_path / "n", "2.8.0", None)], {}).cxx11_abi is None


def _ask(python: str, code: str) -> str:
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_no_torch_is_the_python_alone_and_no_answer_is_none(tmp_path: Path) -> None:
    venv.EnvBuilder(with_pip=False).create(tmp_path / "v")
    python = hostos.env_python(str(tmp_path / "v"), venv=True)
    # no torch: its Python still answers for itself (a flash-attn wheel is chosen for it)
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert ask_target([python], {}) == Target(here, None, None)
    assert ask_target([str(tmp_path / "no-such-python")], {}) is None
    hang = [sys.executable, "-c", "import time; time.sleep(30)", "--"]
    assert ask_target(hang, {}, timeout_s=1.0) is None
