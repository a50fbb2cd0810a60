"""URLs from text minstall does not control (a command line, a catalog, a server's page or
headers, a child's output), split without raising. Pure.

``urllib.parse.urlsplit`` raises ``ValueError`` for an unclosed IPv6 bracket
(``https://[::1``), and ``SplitResult.port`` raises later for a port that is not a number in
0-65535: one such URL anywhere used to end a run with "internal error".
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit


def split_url(text: str) -> SplitResult | None:
    """``text`` split as a URL (its port checked), or None when it cannot be one."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises for a bad port: checked here, once
    except ValueError:
        return None
    return parts


def joined(base: str, href: str) -> str | None:
    """``href`` read against the page ``base`` (``urljoin``), or None when a server's link is
    no URL at all (``http://[::1:bad`` makes urljoin raise)."""
    from urllib.parse import urljoin

    try:
        full = urljoin(base, href)
    except ValueError:
        return None
    return full if split_url(full) is not None else None


def host_port(text: str) -> tuple[str, int] | None:
    """(host, port) of a URL, the scheme's default port filled in; None if it is not one."""
    parts = split_url(text)
    if parts is None:
        return None
    return (parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))


def origin(text: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a URL, the port filled in: what a credential is bound to."""
    parts = split_url(text)
    if parts is None or not parts.hostname:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return (parts.scheme.lower(), parts.hostname.lower(), port)


def redact_url(text: str) -> str:
    """``text`` with the password of any ``user:password@`` in it shown as ``****``, as pip
    shows it (the user name stays: it tells which account, and is no secret)."""
    return _USERINFO.sub(lambda m: f"{m.group(1)}{m.group(2)}:****@", text)


# scheme://user:password@ ... the password ends at the last "@" before the host. The scheme
# is bounded (32 characters; the longest registered ones are ~30): unbounded, every letter of
# a long word was a start scanned to its end, and a 100 000-character URL took 14-19 s
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,31}://)([^\s/@:]*):[^\s/]*@")
