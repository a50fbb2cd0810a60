"""Which network this machine is on, as a short stable key for the ranking cache.  [edge: host]

A ranking measured at home says little on a campus network, so cached rankings are
keyed by network. The key is a hash of what identifies the network without sending a
packet:

- Linux: the default route's gateway address and interface (``/proc/net/route``) and
  the DNS servers in ``/etc/resolv.conf``;
- elsewhere: the host name only (so every network shares one cache entry there;
  ``--refresh`` re-measures after a move).

``MINSTALL_NETWORK_ID`` overrides the detection (useful on VPNs, and in tests); a value that
is not a plain file name is used hashed.
"""

from __future__ import annotations

import hashlib
import re
import socket
from collections.abc import Mapping
from pathlib import Path


def _default_route(route_table: str) -> str | None:
    for line in route_table.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 3 and fields[1] == "00000000":  # destination 0.0.0.0
            gateway = bytes.fromhex(fields[2])[::-1]  # little-endian hex
            return f"{fields[0]} via {'.'.join(str(b) for b in gateway)}"
    return None


def _nameservers(resolv_conf: str) -> list[str]:
    return [
        line.split()[1]
        for line in resolv_conf.splitlines()
        if line.startswith("nameserver") and len(line.split()) > 1
    ]


def network_id(environ: Mapping[str, str], root: Path = Path("/")) -> tuple[str, str]:
    """(key, how it was found)."""
    given = environ.get("MINSTALL_NETWORK_ID")
    if given:
        # the key names a file in the cache dir: anything but a plain name (``../../x``, a
        # slash, a control character) is hashed, so it cannot point outside
        if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", given):
            return given, "MINSTALL_NETWORK_ID"
        return hashlib.sha256(given.encode("utf-8", "replace")).hexdigest()[:16], (
            "MINSTALL_NETWORK_ID (hashed: not a plain name)"
        )
    parts: list[str] = []
    try:
        route = _default_route((root / "proc/net/route").read_text())
        if route:
            parts.append(route)
        parts += _nameservers((root / "etc/resolv.conf").read_text())
    except OSError:
        pass
    how = "default route and DNS servers" if parts else "host name"
    if not parts:
        parts.append(socket.gethostname())
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16], how
