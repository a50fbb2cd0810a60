"""Which credential goes to which URL. Pure.

A catalog mirror with ``token_env`` has its token in that environment variable; it is sent
as HTTP Basic auth (user ``token_user``, default ``__token__``, password the token), the one
scheme pip, uv and conda all speak, so the bench checks exactly what the installer will send.
It goes only to the mirror's own origins (scheme, host and port of each URL the catalog gives
it) and only over https or to loopback: never to a host the mirror's pages link, never after a
redirect elsewhere, never in clear over a network.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from mirrorinstall.core.catalog import Catalog, is_loopback
from mirrorinstall.core.urls import origin, split_url

Origin = tuple[str, str, int]


@dataclass(frozen=True)
class Credential:
    mirror: str
    origin: Origin
    user: str
    token: str

    @property
    def header(self) -> str:
        pair = f"{self.user}:{self.token}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


def credentials(catalog: Catalog, environ: Mapping[str, str]) -> dict[Origin, Credential]:
    """Every enabled mirror's token, by the origins it may go to."""
    out: dict[Origin, Credential] = {}
    for mirror in catalog.enabled():
        token = environ.get(mirror.token_env) if mirror.token_env else None
        if not token:
            continue
        for url in mirror.urls():
            where = origin(url)
            if where is not None and (where[0] == "https" or is_loopback(where[1])):
                out.setdefault(where, Credential(mirror.id, where, mirror.token_user, token))
    return out


def credential_for(url: str, known: Mapping[Origin, Credential]) -> Credential | None:
    """The credential ``url`` may carry, or None."""
    where = origin(url)
    return known.get(where) if where is not None else None


def embed(argv: list[str], known: Mapping[Origin, Credential]) -> list[str]:
    """``argv`` with each mirror URL that has a credential carrying it as ``user:token@``:
    pip, uv and conda read userinfo in an index or channel URL and send it to that URL's host
    alone (pip's netrc would send it to every port of the host). minstall prints the result
    masked (core/guarded.py)."""
    return [_embed_one(token, known) for token in argv]


def _embed_one(token: str, known: Mapping[Origin, Credential]) -> str:
    prefix, sep, value = token.partition("=") if token.startswith("--") else ("", "", token)
    if "://" not in value:
        return token
    parts = split_url(value)
    found = credential_for(value, known) if parts is not None else None
    if found is None or parts is None or parts.username or parts.password:
        return token
    userinfo = f"{quote(found.user, safe='')}:{quote(found.token, safe='')}@"
    netloc = userinfo + parts.netloc
    return prefix + sep + parts._replace(netloc=netloc).geturl()
