"""The command a refusal offers instead ("Fixed command: ..."), made so that it runs. Pure.

A refusal names one requirement to use instead (``pytorch=1.7.1`` for ``pytorch=1.0.0``). Put
into the user's command it must keep what else the token said, and its companions must move
with it:
- a channel prefix stays (``pytorch::pytorch=1.0.0`` -> ``pytorch::pytorch=1.7.1``), and a pin
  is never glued to a channel or an option;
- torchvision and torchaudio pins are paired with one torch release each
  (https://pytorch.org/get-started/previous-versions/, the tables' pairs): they move to the
  release paired with the new one, or lose their pin where the pairing is not known.
"""

from __future__ import annotations

import re

from mirrorinstall.cuda.tables import Tables
from mirrorinstall.rewrite.common import spec_name

_COMPANIONS = ("torchvision", "torchaudio")
_PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9_.\-]+)(?P<extras>\[[^\]]*\])?\s*(?P<op>===?|=)\s*(?P<v>[^\s;=,<>!~]+)"
)


def fixed_args(args: list[str], project: str, requirement: str, tables: Tables | None) -> list[str]:
    """``args`` with ``project``'s requirement replaced by ``requirement`` and its companions
    re-paired (see the module docstring)."""
    out = []
    release = _version(requirement)
    for k, token in enumerate(args):
        if token.startswith("-") or (k and args[k - 1] in ("-c", "--channel", "-n", "-p")):
            out.append(token)
            continue
        prefix, sep, spec = token.rpartition("::")
        name = spec_name(spec)
        if name == project:
            out.append(f"{prefix}{sep}{requirement}")
        elif name in _COMPANIONS and project in ("torch", "pytorch") and _PIN.match(spec):
            out.append(f"{prefix}{sep}{_companion(spec, name, release, tables)}")
        else:
            out.append(token)
    return out


def _version(requirement: str) -> str | None:
    found = _PIN.match(requirement.rpartition("::")[2])
    return found.group("v").split("+")[0].rstrip(".*") if found else None


def _companion(spec: str, name: str, release: str | None, tables: Tables | None) -> str:
    """``spec`` (a pinned torchvision/torchaudio) pinned to the release paired with torch
    ``release``, written as it was (``==`` or ``=``, local version kept); else unpinned."""
    found = _PIN.match(spec)
    assert found is not None
    paired = None
    if release and tables is not None:
        for row in tables.torch:
            paired = row.pairs(name).get(release) or paired
            if paired:
                break
    if paired is None:
        return found.group("name") + (found.group("extras") or "")
    local = found.group("v").partition("+")[2]
    return (
        found.group("name")
        + (found.group("extras") or "")
        + found.group("op")
        + paired
        + (f"+{local}" if local else "")
        + spec[found.end() :]
    )
