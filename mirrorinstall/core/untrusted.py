"""Text minstall did not write (a server's page or headers, a cache file another version or a
disk error may have mangled, a child's output): parsed without surprises, cleaned before a
terminal sees it. Pure.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# C0 and C1 control characters and DEL, less tab and newline: ESC, CSI, BEL, backspace and
# carriage return can move the cursor, retitle the window or hide text on a terminal
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# what minstall's own output may hold: a progress bar redraws its line with \r
# a password moved out of a file into the child's environment (rewrite/pip.py), as
# ``MINSTALL_SECRET_1=value`` in a command line or ``"MINSTALL_SECRET_1": "value"`` in JSON
_SECRET_VALUE = re.compile(r"""(MINSTALL_SECRET_\w+(?:=|": "))(?:"[^"]*"|'[^']*'|[^\s"']+)""")
_OUTPUT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_AND_NEWLINES = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str, *, lines: bool = False) -> str:
    """``text`` with every control character shown as ``?``; newlines and tabs kept only
    when ``lines`` (a multi-line block), else they too become ``?``."""
    return (_CONTROL if lines else _CONTROL_AND_NEWLINES).sub("?", text)


def for_output(text: str, secrets: frozenset[str] = frozenset()) -> str:
    """What minstall prints, made safe to print: a URL's password as ``****`` (as pip shows
    it), each of ``secrets`` (tokens from the environment) as ``****``, every control
    character but newline, tab and carriage return as ``?``."""
    from mirrorinstall.core.urls import redact_url

    text = redact_url(text)
    text = _SECRET_VALUE.sub(lambda m: m.group(1) + "****", text)
    for secret in secrets:
        text = text.replace(secret, "****")
    return _OUTPUT_CONTROL.sub("?", text)


def finite(value: Any) -> Any:
    """``value`` (JSON-shaped) with every NaN or infinity replaced by None: ``json.dumps``
    would write them as ``NaN``/``Infinity``, which no JSON parser reads."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def json_value(text: str | bytes) -> Any:
    """``json.loads`` that fails only with ValueError: nesting deep enough to exhaust the
    stack and the non-JSON constants ``NaN``/``Infinity`` are refused as malformed."""

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(text, parse_constant=constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def json_object(text: str | bytes) -> dict[str, Any]:
    """A JSON document that must be an object (ValueError otherwise)."""
    value = json_value(text)
    if not isinstance(value, dict):
        raise ValueError(f"a JSON {type(value).__name__}, not an object")
    return value
