"""Relative paths in a rewritten copy, made absolute, so the copy works from minstall's cache as
the original does from its own folder. Pure.

- A requirements file: pip reads ``-r``/``--requirement`` and ``-c``/``--constraint`` relative
  to the folder of the file that names them (``pip/_internal/req/req_file.py``:
  ``os.path.join(os.path.dirname(filename), req_path)``), so a copy elsewhere would look beside
  itself. Other paths in it (``-e .``, ``./local.whl``) are relative to pip's working
  directory, which minstall leaves as it is: they stay.
- An environment file's ``pip:`` list: conda 26 writes it to a temporary requirements file in
  the environment file's folder and runs pip there (``conda/env/installers/pip.py``,
  ``conda/env/pip_util.py`` ``get_pip_workdir``), so ``-r``, ``-c``, ``-e`` and ``./path``
  items are relative to that folder, which for a copy would be minstall's cache.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

_INCLUDES = ("-r", "--requirement", "-c", "--constraint")
_PIP_SECTION_OPTIONS = (*_INCLUDES, "-e", "--editable")
_OPTION = re.compile(r"^(\s*)(-[-\w]+)(=|\s+)(\S.*?)(\s*(?:\s#.*)?)$")


def _relative(path: str) -> bool:
    """A local path relative to some folder: not a URL, a VCS or file: link, nor absolute."""
    if re.match(r"^[a-zA-Z][\w+.-]*:", path) and not re.match(r"^[a-zA-Z]:[\\/]", path):
        return False  # https:, git+https:, file: (one letter and a slash is a Windows drive)
    return not (path.startswith(("/", "\\", "~", "$")) or re.match(r"^[a-zA-Z]:[\\/]", path))


def _joined(base: str, path: str) -> str:
    joined = os.path.normpath(os.path.join(base, path.strip("'\"")))
    return f'"{joined}"' if " " in joined else joined


def _line_ending(line: str) -> tuple[str, str]:
    body = line.rstrip("\r\n")
    return body, line[len(body) :]


def absolute_includes(text: str, base: str) -> str:
    """``text`` (a requirements file from folder ``base``) with each relative ``-r``/``-c``
    path joined to ``base``; everything else, line endings included, as it was."""
    out = []
    for line in text.splitlines(keepends=True):
        body, ending = _line_ending(line)
        found = _OPTION.match(body)
        if found and found[2] in _INCLUDES and _relative(found[4]):
            body = f"{found[1]}{found[2]}{found[3]}{_joined(base, found[4])}{found[5]}"
        out.append(body + ending)
    return "".join(out)


def absolute_pip_section(text: str, base: str) -> str:
    """``text`` (an environment file from folder ``base``) with the relative paths of its
    ``pip:`` list joined to ``base``: ``-r``, ``-c``, ``-e`` values and ``./``, ``../`` items."""
    return map_pip_section(text, lambda item: [_absolute_pip_item(item, base)])


def pip_section_items(text: str) -> list[str]:
    """The items of an environment file's ``pip:`` list, unquoted, in order."""
    items: list[str] = []
    map_pip_section(text, lambda item: items.append(item) or [item])
    return items


def map_pip_section(text: str, change: Callable[[str], list[str]]) -> str:
    """``text`` (an environment file) with each item of its ``pip:`` list replaced by the
    items ``change`` makes of it (same indentation and quoting); everything else as it was."""
    out = []
    pip_indent: int | None = None
    for line in text.splitlines(keepends=True):
        body, ending = _line_ending(line)
        indent = len(body) - len(body.lstrip())
        stripped = body.strip()
        if re.match(r"^-\s*pip\s*:\s*(#.*)?$", stripped):
            pip_indent = indent
        elif pip_indent is not None and stripped and indent <= pip_indent:
            pip_indent = None  # the list ended
        elif pip_indent is not None and stripped.startswith("- "):
            item = stripped[2:].strip()
            quote = item[0] if item[:1] in "'\"" and item[-1:] == item[:1] else ""
            value = item[1:-1] if quote else item
            new = change(value)
            if new != [value]:
                lead = body[: len(body) - len(stripped)]
                out += [lead + "- " + quote + v + quote + ending for v in new]
                continue
        out.append(body + ending)
    return "".join(out)


def _absolute_pip_item(item: str, base: str) -> str:
    found = _OPTION.match(item)
    if found and found[2] in _PIP_SECTION_OPTIONS and _relative(found[4]):
        return f"{found[2]}{found[3]}{_joined(base, found[4])}{found[5]}"
    if item in (".", "..") or item.startswith(("./", "../", ".\\", "..\\")):
        return _joined(base, item)
    return item
