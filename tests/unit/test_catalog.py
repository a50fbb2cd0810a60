"""The catalog parser and the packaged mirrors.toml (pure: text in, objects or errors out)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from mirrorinstall.core.catalog import build_catalog
from mirrorinstall.core.errors import CatalogError

ROOT = Path(__file__).resolve().parents[2]
PACKAGED = ROOT / "mirrors.toml"


@pytest.fixture(scope="module")
def packaged():
    return build_catalog([(str(PACKAGED), PACKAGED.read_text())])


# ------------------------------------------------------------------ the packaged catalog


def test_packaged_catalog_has_the_upstreams_and_15_plus_mirrors(packaged) -> None:
    assert len(packaged.mirrors) >= 15
    upstream_hosts = {
        urlsplit(u).hostname
        for m in packaged.mirrors
        if m.upstream
        for u in [
            *(c.url for c in m.conda.values()),
            m.channel_alias or "",
            m.pypi.simple if m.pypi else "",
            m.pytorch.base if m.pytorch else "",
        ]
        if u
    }
    assert {
        "repo.anaconda.com",
        "conda.anaconda.org",
        "prefix.dev",
        "pypi.org",
        "download.pytorch.org",
    } <= upstream_hosts
    expected = {
        "tuna",
        "bfsu",
        "ustc",
        "sjtu",
        "nju",
        "zju",
        "sustech",
        "pku",
        "aliyun",
        "tencent",
        "huawei",
        "douban",
        "netease",
    }
    assert expected <= {m.id for m in packaged.mirrors}


def test_every_fact_has_an_https_source(packaged) -> None:
    for m in packaged.mirrors:
        assert m.sources, f"{m.id} has no sources"
        for url in m.sources:
            assert url.startswith("https://"), (m.id, url)
        for table in (m.pypi, m.pytorch):
            if table is not None:
                assert table.source and table.source.startswith("https://"), m.id
        for url in [c.url for c in m.conda.values()] + [m.channel_alias or "https://x"]:
            assert url.startswith("https://"), (m.id, url)
    for facts in packaged.channels.values():
        assert facts.sources and all(s.startswith("https://") for s in facts.sources)


def test_caveats_are_kept(packaged) -> None:
    """USTC caches only conda-forge and bioconda; among mirrors nobody but SUSTech carries
    nvidia; the pytorch channel is frozen at 2.5; Aliyun's wheels need --find-links."""
    assert set(packaged.get("ustc").conda) == {"conda-forge", "bioconda"}
    nvidia = {m.id for m in packaged.mirrors if "nvidia" in m.conda and not m.upstream}
    assert nvidia == {"sustech"}
    assert packaged.channels["pytorch"].frozen_after == "2.5"
    assert packaged.get("aliyun").pytorch.layout == "find-links"
    assert packaged.get("nju").pytorch.layout == "index"
    assert (
        packaged.get("sjtu").pytorch.variant_url("cu121")
        == "https://mirror.sjtu.edu.cn/pytorch-wheels/cu121/torch_stable.html"
    )
    sjtu_cf = packaged.get("sjtu").conda["conda-forge"]
    assert sjtu_cf.carries_subdir("linux-64") and not sjtu_cf.carries_subdir("linux-aarch64")
    assert "msys2" not in packaged.get("tuna").conda or packaged.get("tuna").conda[
        "msys2"
    ].url.endswith("/pkgs/msys2")


def test_defaults_means_main_r_and_msys2_on_windows(packaged) -> None:
    assert packaged.expand_channel("defaults", windows=False) == ("main", "r")
    assert packaged.expand_channel("defaults", windows=True) == ("main", "r", "msys2")
    assert packaged.expand_channel("conda-forge", windows=True) == ("conda-forge",)


def test_channel_alias_carries_any_channel(packaged) -> None:
    org = packaged.get("anaconda-org")
    assert org.channel_url("some-lab") == "https://conda.anaconda.org/some-lab"
    assert packaged.get("tuna").channel_url("some-lab") is None
    assert packaged.get("tuna").channel_url("conda-forge").endswith("/anaconda/cloud/conda-forge")


# ------------------------------------------------------------------ validation

BASE = """
schema = 1
[mirror.m]
name = "M"
region = "CN"
sources = ["https://example.org/doc"]
[mirror.m.pypi]
simple = "https://m.example/simple"
"""


def error_of(*texts: str) -> CatalogError:
    layers = [(f"/etc/cat{i}.toml", t) for i, t in enumerate(texts)]
    with pytest.raises(CatalogError) as info:
        build_catalog(layers)
    return info.value


@pytest.mark.parametrize(
    ("text", "mirror", "key", "problem"),
    [
        pytest.param(
            "schema = 1\nmirrors = {}\n",
            None,
            "mirrors",
            "unknown top-level key",
            id="unknown-top-key",
        ),
        pytest.param(
            "[mirror.m]\nname='M'\n", None, "schema", "missing 'schema = 1'", id="no-schema"
        ),
        pytest.param("schema = 2\n", None, "schema", "schema 2 is not supported", id="schema-2"),
        pytest.param(
            BASE.replace("region", "regoin = 'CN'\nregion"),
            "m",
            "regoin",
            "unknown key",
            id="typo-key",
        ),
        pytest.param(
            BASE.replace('region = "CN"', "region = 5"),
            "m",
            "region",
            "must be a non-empty string",
            id="wrong-type",
        ),
        pytest.param(
            BASE.replace("https://m.example/simple", "ftp://m.example/simple"),
            "m",
            "pypi.simple",
            "is not an http(s) URL",
            id="not-http",
        ),
        pytest.param(
            BASE.replace("https://m.example", "http://m.example"),
            "m",
            "pypi.simple",
            "plain http:// is refused",
            id="http-refused",
        ),
        # issue 21: a line break in a URL reached pip.conf raw, planting an option on the
        # next line (install.trusted-host = evil.example)
        pytest.param(
            BASE.replace("/simple", "/simple\\ninstall.trusted-host = evil.example"),
            "m",
            "pypi.simple",
            "holds a character a URL cannot hold unencoded",
            id="line-break",
        ),
        pytest.param(
            BASE.replace("/simple", "/sim ple"),
            "m",
            "pypi.simple",
            "a control character, a line break, a space",
            id="space",
        ),
        pytest.param(
            BASE.replace("/simple", "/simple\\u0085x"),
            "m",
            "pypi.simple",
            "holds a character a URL cannot hold unencoded",
            id="next-line-c1",
        ),
        pytest.param(
            BASE.replace("https://m.example", "https://u:secret@m.example"),
            "m",
            "pypi.simple",
            "credentials must not be stored",
            id="credentials",
        ),
        pytest.param(
            BASE.replace("region", "token_env = 'not a name'\nregion"),
            "m",
            "token_env",
            "must name an environment variable",
            id="bad-token-env",
        ),
        pytest.param(
            BASE + "[mirror.m.conda]\nmain = {url='https://m.example/main', subdirs=['linux64']}\n",
            "m",
            "conda.main.subdirs",
            "unknown conda subdir",
            id="bad-subdir",
        ),
        pytest.param(
            BASE + "[mirror.m.pytorch]\nbase='https://m.example/whl'\nlayout='flat'\n",
            "m",
            "pytorch.layout",
            "must be one of index, find-links",
            id="bad-layout",
        ),
        pytest.param(
            BASE + "[mirror.m.pytorch]\nbase='https://m.example/whl'\n",
            "m",
            "pytorch.layout",
            "is required",
            id="missing-layout",
        ),
        pytest.param(
            BASE + "[mirror.m.conda]\nmain = {uri='https://m.example/main'}\n",
            "m",
            "conda.main.uri",
            "unknown key",
            id="channel-entry-typo",
        ),
        pytest.param(
            "schema = 1\n[mirror.New]\nname='x'\n", "New", None, "mirror ids are", id="bad-id"
        ),
        pytest.param(
            "schema = 1\n[mirror.m]\nname='M'\nregion='CN'\n",
            "m",
            None,
            "carries nothing",
            id="carries-nothing",
        ),
    ],
)
def test_invalid_catalogs_name_file_mirror_key_and_problem(text, mirror, key, problem) -> None:
    err = error_of(text)
    assert err.path == "/etc/cat0.toml" and err.mirror == mirror and err.key == key
    assert problem in err.problem
    line = str(err)
    assert "\n" not in line and line.startswith("/etc/cat0.toml")
    if mirror:
        assert f"mirror '{mirror}'" in line
    if key:
        assert f"key '{key}'" in line
    assert err.hint and err.exit_code == 78


def test_toml_syntax_error_gives_line_and_column() -> None:
    err = error_of(BASE + "oops = \n")
    assert "not valid TOML" in err.problem and "line" in err.problem


def test_http_is_allowed_on_loopback_or_when_insecure() -> None:
    loop = build_catalog([("a", BASE.replace("https://m.example", "http://127.0.0.1:8080"))])
    assert loop.get("m").pypi.simple.startswith("http://127.0.0.1")
    v6 = build_catalog([("a", BASE.replace("https://m.example", "http://[::1]:8080"))])
    assert v6.get("m").pypi
    insecure = build_catalog(
        [
            (
                "a",
                BASE.replace("https://m.example", "http://m.lan").replace(
                    "region", "insecure = true\nregion"
                ),
            )
        ]
    )
    assert insecure.get("m").insecure


# ------------------------------------------------------------------ user layers


def test_user_layer_overrides_adds_and_disables_by_id() -> None:
    base = BASE + "[mirror.m.conda]\nmain = 'https://m.example/main'\nr = 'https://m.example/r'\n"
    user = """
schema = 1
[mirror.m]
enabled = false
[mirror.m.conda]
main = "https://other.example/main"
r = false
[mirror.corp]
name = "Company proxy"
region = "internal"
token_env = "CORP_MIRROR_TOKEN"
[mirror.corp.pypi]
simple = "https://pypi.corp.example/simple"
"""
    cat = build_catalog([("base.toml", base), ("user.toml", user)])
    m = cat.get("m")
    assert not m.enabled and m.conda["main"].url == "https://other.example/main"
    assert "r" not in m.conda and m.pypi.simple == "https://m.example/simple"
    assert m.origins == ("base.toml", "user.toml")
    corp = cat.get("corp")
    assert corp.enabled and corp.token_env == "CORP_MIRROR_TOKEN" and corp.sources == ()
    assert [x.id for x in cat.enabled()] == ["corp"]


def test_user_error_names_the_user_file() -> None:
    user = "schema = 1\n[mirror.m.pypi]\nsimple = 'http://m.example/simple'\n"
    err = error_of(BASE, user)
    assert err.path == "/etc/cat1.toml" and err.key == "pypi.simple"
    new = error_of(BASE, "schema = 1\n[mirror.x.pypi]\nsimple = 'https://x.example/simple'\n")
    assert new.path == "/etc/cat1.toml" and new.mirror == "x" and new.key == "name"


def test_insecure_in_the_user_layer_allows_an_http_override() -> None:
    user = "schema = 1\n[mirror.m]\ninsecure = true\n[mirror.m.pypi]\nsimple = 'http://m.lan/s'\n"
    assert build_catalog([("b", BASE), ("u", user)]).get("m").pypi.simple == "http://m.lan/s"


# ------------------------------------------------------------------ hostile values (issue 11)

_MIRROR = (
    'schema = 1\n[mirror.x]\nname = "x"\nregion = "cn"\nhomepage = "https://x.org/"\n'
    'sources = ["https://x.org/help"]\n'
)


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        (
            _MIRROR + '[mirror.x.conda]\nmain = { url = "https://x.org/main", '
            'subdirs = [["linux-64"]] }\n',
            "conda.main.subdirs",
            "list of conda subdirs",
        ),
        (_MIRROR + '[mirror.x.pypi]\nsimple = "https://[::1/simple"\n', "pypi.simple", "URL"),
        (_MIRROR + '[mirror.x.pypi]\nsimple = "https://x.org:99999/s"\n', "pypi.simple", "URL"),
        ('schema = 1\n[channel.pytorch]\nfrozen_after = "not-a-version"\n', "frozen_after", "2.5"),
        (
            _MIRROR + 'token_env = "TOKEN\\n"\n[mirror.x.pypi]\nsimple = "https://x.org/s"\n',
            "token_env",
            "environment variable",
        ),
        ('schema = 1\n[mirror."x\\n"]\nname = "x"\n', None, "mirror ids"),
        ('schema = 1\n[channel."pytorch\\n"]\nnote = "x"\n', None, "channel"),
        ("schema = 1\na = " + "[" * 5000 + "]" * 5000 + "\n", None, "nested too deeply"),
        ("schema = 1\n" + "a" + ".a" * 300_000 + " = 1\n", None, "dotted parts"),
    ],
    ids=[
        "nested-subdirs",
        "open-ipv6-bracket",
        "port-out-of-range",
        "frozen-after",
        "token-env-newline",
        "id-newline",
        "channel-newline",
        "deep-nesting",
        "huge-dotted-key",
    ],
)
def test_hostile_catalog_values_are_errors_naming_file_and_key(text, key, problem) -> None:
    """Each crashed minstall with "internal error" (TypeError, ValueError, RecursionError),
    passed validation, or (the dotted key) ran out of memory after 23 s."""
    packaged_text = PACKAGED.read_text()
    with pytest.raises(CatalogError) as caught:
        build_catalog([(str(PACKAGED), packaged_text), ("user.toml", text)])
    message = str(caught.value)
    assert "user.toml" in message and problem in message, message
    if key:
        assert key in message, message


def test_a_rejected_catalog_url_never_echoes_its_password() -> None:
    text = _MIRROR + '[mirror.x.pypi]\nsimple = "ftp://alice:S3cretPW@x.org/simple"\n'
    with pytest.raises(CatalogError) as caught:
        build_catalog([(str(PACKAGED), PACKAGED.read_text()), ("user.toml", text)])
    assert "S3cretPW" not in str(caught.value) and "alice:****@x.org" in str(caught.value)
