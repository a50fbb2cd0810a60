"""Which credential goes to which URL (pure)."""

from __future__ import annotations

import base64
from pathlib import Path

from mirrorinstall.core.catalog import build_catalog
from mirrorinstall.core.credentials import credential_for, credentials, embed

PACKAGED = (Path(__file__).resolve().parents[2] / "mirrors.toml").read_text()
CORP = """schema = 1
[mirror.corp]
name = "Corp"
region = "internal"
token_env = "CORP_TOKEN"
token_user = "ci-bot"
[mirror.corp.pypi]
simple = "https://pypi.corp.example:8443/simple"
[mirror.lab]
name = "Lab"
region = "internal"
token_env = "LAB_TOKEN"
insecure = true
[mirror.lab.pypi]
simple = "http://pypi.lab.example/simple"
"""
CATALOG = build_catalog([("mirrors.toml", PACKAGED), ("user.toml", CORP)])
KNOWN = credentials(CATALOG, {"CORP_TOKEN": "s3cr/t", "LAB_TOKEN": "lab"})


def test_a_token_belongs_to_its_mirrors_origin_only() -> None:
    found = credential_for("https://pypi.corp.example:8443/packages/x.whl", KNOWN)
    assert found is not None and found.user == "ci-bot"
    assert found.header == "Basic " + base64.b64encode(b"ci-bot:s3cr/t").decode()
    for other in (
        "https://pypi.corp.example/packages/x.whl",  # another port
        "http://pypi.corp.example:8443/packages/x.whl",  # in clear
        "https://cdn.corp.example:8443/x.whl",  # another host
    ):
        assert credential_for(other, KNOWN) is None, other


def test_a_plain_http_mirror_never_gets_its_token() -> None:
    assert credential_for("http://pypi.lab.example/simple", KNOWN) is None


def test_embed_puts_the_token_into_its_mirrors_urls_only() -> None:
    argv = [
        "pip", "install", "six",
        "--index-url", "https://pypi.corp.example:8443/simple",
        "--extra-index-url=https://pypi.corp.example:8443/simple",
        "--extra-index-url", "https://other.example/simple",
        "--find-links", "https://me:mine@pypi.corp.example:8443/simple",
    ]  # fmt: skip
    assert embed(argv, KNOWN) == [
        "pip", "install", "six",
        "--index-url", "https://ci-bot:s3cr%2Ft@pypi.corp.example:8443/simple",
        "--extra-index-url=https://ci-bot:s3cr%2Ft@pypi.corp.example:8443/simple",
        "--extra-index-url", "https://other.example/simple",
        "--find-links", "https://me:mine@pypi.corp.example:8443/simple",  # the user's own
    ]  # fmt: skip
