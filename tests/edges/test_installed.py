"""What the target Python already has (context/installed.py), asked of real interpreters."""

from __future__ import annotations

import sys
import venv
from pathlib import Path

import pytest

from mirrorinstall.context.installed import installed_version, interpreter_of
from mirrorinstall.core import hostos


def test_a_real_interpreter_says_what_it_has(tmp_path: Path) -> None:
    assert installed_version([sys.executable], "packaging", {}) not in (None, "")
    venv.EnvBuilder(with_pip=False).create(tmp_path / "v")
    empty = hostos.env_python(str(tmp_path / "v"), venv=True)
    assert installed_version([empty], "torch", {}) is None


def test_an_interpreter_that_cannot_answer_is_none(tmp_path: Path) -> None:
    assert installed_version([str(tmp_path / "no-such-python")], "torch", {}) is None
    # one that prints something else than a version
    fake = [sys.executable, "-c", "print('<html>')", "--"]
    assert installed_version(fake, "torch", {}) is None
    # one that hangs
    assert installed_version([sys.executable, "-c", "import time; time.sleep(30)", "--"],
                             "torch", {}, timeout_s=1.0) is None  # fmt: skip


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

    venv.EnvBuilder(with_pip=False).create(tmp_path / "v")
    cmd = parse_command(["pip", "--python", str(tmp_path / "v"), "install", "x"])
    python = interpreter_of(cmd.head, cmd.args)
    assert python is not None and Path(python[0]).is_file(), python
    # the folder's own interpreter answers (a venv without packaging: not installed there)
    assert installed_version(python, "packaging", {}) is None
    assert installed_version(python, "pip", {}) is None
