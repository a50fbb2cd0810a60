"""The requirements files a requirements file includes (``-r other.txt``), as pip finds them.
Pure.

pip reads an include relative to the folder of the file that names it
(``pip/_internal/req/req_file.py``: ``os.path.join(os.path.dirname(filename), req_path)``, the
parent's name as it was given); URLs and absolute paths as they are. The path a nested file
is known by here is that joined string, so the reader (context) and the rewriter agree.
"""

from __future__ import annotations

import os
import re

_INCLUDE = re.compile(r"^\s*(?:-r|--requirement)(?:=|\s+|(?=[^\s=-]))(\S+)")
MAX_FILES = 64  # a tree of requirements files larger than this is not one people write


def included_paths(text: str, parent: str) -> list[str]:
    """The ``-r`` files ``text`` (the file ``parent``) names, joined as pip joins them."""
    out = []
    for line in text.splitlines():
        found = _INCLUDE.match(line.split(" #")[0])
        if not found:
            continue
        value = found.group(1).strip("'\"")
        if re.match(r"^[a-zA-Z][\w+.-]*://", value):
            continue  # a URL: pip fetches it; not a file to copy
        out.append(os.path.join(os.path.dirname(parent), value))
    return out
