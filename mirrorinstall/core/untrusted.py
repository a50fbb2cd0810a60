"""Text minstall did not write (a server's page or headers, a cache file another version or a
disk error may have mangled, a child's output): parsed without surprises, cleaned before a
terminal sees it. Pure.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# What must not reach a terminal: C0 and C1 controls and DEL (ESC, CSI, BEL, backspace can
# move the cursor, retitle the window or hide text), and the invisible format characters that
# reorder or hide text (bidi overrides and isolates, zero-width characters, BOM, line and
# paragraph separators). Each use keeps some whitespace: see _unsafe.
_INVISIBLE = "\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff"


def _unsafe(keep: str) -> re.Pattern[str]:
    controls = "".join(
        f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)] if chr(c) not in keep
    )
    return re.compile(f"[{controls}{_INVISIBLE}]")


_ONE_LINE = _unsafe("")
_LINES = _unsafe("\t\n")
_OUTPUT = _unsafe("\t\n\r")  # minstall's own output: a progress bar redraws its line with \r
# a password moved out of a file into the child's environment (rewrite/pip.py), as
# ``MINSTALL_SECRET_1=value`` in a command line or ``"MINSTALL_SECRET_1": "value"`` in JSON
_SECRET_VALUE = re.compile(r"""(MINSTALL_SECRET_\w+(?:=|": "))(?:"[^"]*"|'[^']*'|[^\s"']+)""")


def printable(text: str, *, lines: bool = False) -> str:
    """``text`` with every control or invisible format character shown as ``?``; newlines
    and tabs kept only when ``lines`` (a multi-line block), else they too become ``?``."""
    return (_LINES if lines else _ONE_LINE).sub("?", text)


def for_output(text: str, secrets: frozenset[str] = frozenset()) -> str:
    """What minstall prints, made safe to print: a URL's password as ``****`` (as pip shows
    it), each of ``secrets`` (tokens from the environment) as ``****``, every control
    character but newline, tab and carriage return as ``?``."""
    from mirrorinstall.core.urls import redact_url

    text = redact_url(text)
    text = _SECRET_VALUE.sub(lambda m: m.group(1) + "****", text)
    for secret in secrets:
        text = text.replace(secret, "****")
    return _OUTPUT.sub("?", text)


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
