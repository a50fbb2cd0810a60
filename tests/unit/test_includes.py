"""Relative paths in rewritten copies made absolute (issue 19, "rewritten files keep working"):
expected lines written by hand from pip's and conda's rules (rewrite/includes.py cites them)."""

from __future__ import annotations

from mirrorinstall.rewrite.includes import absolute_includes, absolute_pip_section


def test_requirements_includes_are_joined_to_the_files_folder_and_nothing_else_moves() -> None:
    text = (
        "-r base.txt\r\n"
        "--requirement=../shared/common.txt\r\n"
        "-c constraints.txt  # pinned\r\n"
        "-r /etc/abs.txt\n"
        "-r https://example.org/reqs.txt\n"
        "-e .\n"
        "./local-1.0-py3-none-any.whl\n"
        "torch==2.1.0\n"
    )
    assert absolute_includes(text, "/home/u/proj") == (
        "-r /home/u/proj/base.txt\r\n"
        "--requirement=/home/u/shared/common.txt\r\n"
        "-c /home/u/proj/constraints.txt  # pinned\r\n"
        "-r /etc/abs.txt\n"
        "-r https://example.org/reqs.txt\n"
        "-e .\n"  # pip reads these relative to its working directory, which stays
        "./local-1.0-py3-none-any.whl\n"
        "torch==2.1.0\n"
    )
    assert absolute_includes("-r my reqs.txt\n", "/p") == '-r "/p/my reqs.txt"\n'


def test_an_environment_files_pip_list_is_joined_to_its_folder() -> None:
    text = (
        "name: lab\n"
        "channels:\n"
        "  - conda-forge\n"
        "dependencies:\n"
        "  - python=3.11\n"
        "  - ./not-pip-so-kept\n"
        "  - pip\n"
        "  - pip:\n"
        "    - -r requirements.txt\n"
        "    - -e .\n"
        "    - '-e ./vendor/lib'\n"
        "    - ./submodule\n"
        "    - git+https://github.com/o/r.git\n"
        "    - --extra-index-url https://download.pytorch.org/whl/cu121\n"
        "    - torch==2.1.0\n"
        "prefix: ./env\n"
    )
    assert absolute_pip_section(text, "/home/u/proj") == (
        "name: lab\n"
        "channels:\n"
        "  - conda-forge\n"
        "dependencies:\n"
        "  - python=3.11\n"
        "  - ./not-pip-so-kept\n"
        "  - pip\n"
        "  - pip:\n"
        "    - -r /home/u/proj/requirements.txt\n"
        "    - -e /home/u/proj\n"
        "    - '-e /home/u/proj/vendor/lib'\n"
        "    - /home/u/proj/submodule\n"
        "    - git+https://github.com/o/r.git\n"
        "    - --extra-index-url https://download.pytorch.org/whl/cu121\n"
        "    - torch==2.1.0\n"
        "prefix: ./env\n"
    )
