"""Reading what mirrors answer: repodata, simple pages, wheel listings (pure)."""

from __future__ import annotations

import json

from mirrorinstall.bench.pages import (
    JSON_SIMPLE,
    Invalid,
    check_repodata,
    check_repodata_head,
    check_simple_page,
    check_wheel_listing,
    parse_http_date,
)

PORTAL = (
    b"<!DOCTYPE html><html><head><title>Wi-Fi login</title></head><body>"
    b'<a href="/portal-login?continue=1">Sign in</a></body></html>'
)
REPODATA = {
    "info": {"subdir": "noarch"},
    "packages": {
        "a-1.0-0.tar.bz2": {
            "name": "a",
            "version": "1.0",
            "size": 500,
            "sha256": "aa",
            "timestamp": 1_700_000_000_000,
        }
    },
    "packages.conda": {
        "b-2.0-0.conda": {
            "name": "b",
            "version": "2.0",
            "size": 9000,
            "sha256": "bb",
            "timestamp": 1_700_000_500_000,
        }
    },
}


def test_repodata_head_accepts_json_and_names_what_else_was_served() -> None:
    assert check_repodata_head(b'{"info": {"subdir"', "application/json") is None
    assert check_repodata_head(b'{\n  "packages": {', "") is None
    bad = check_repodata_head(PORTAL, "text/html")
    assert bad == Invalid('served an HTML page ("Wi-Fi login") where repodata.json was expected')
    assert "where repodata.json" in check_repodata_head(b'{"error": 1}', "application/json").reason


def test_whole_repodata_gives_newest_time_biggest_and_smallest_hashed_file() -> None:
    facts = check_repodata(
        json.dumps(REPODATA).encode(),
        "application/json",
        "https://m.example/conda-forge/noarch/repodata.json",
    )
    assert facts.newest_time_s == 1_700_000_500
    assert facts.artifact.url == "https://m.example/conda-forge/noarch/b-2.0-0.conda"
    assert facts.smallest.sha256 == "aa"
    assert isinstance(check_repodata(b"[1, 2]", "application/json", "https://x/"), Invalid)


def test_pep691_page() -> None:
    page = {
        "meta": {"api-version": "1.1"},
        "name": "pip",
        "files": [
            {
                "filename": "pip-24.0-py3-none-any.whl",
                "url": "../../packages/pip-24.0-py3-none-any.whl",
                "hashes": {"sha256": "11"},
                "size": 100,
                "upload-time": "2024-02-03T00:00:00Z",
            },
            {
                "filename": "pip-25.0.tar.gz",
                "url": "https://files.example/pip-25.0.tar.gz",
                "hashes": {"sha256": "22"},
                "size": 300,
                "upload-time": "2025-01-01T00:00:00Z",
            },
            {
                "filename": "pip-25.0-py3-none-any.whl",
                "url": "../../packages/pip-25.0-py3-none-any.whl",
                "hashes": {"sha256": "33"},
                "size": 200,
                "upload-time": "2025-01-01T00:00:00Z",
            },
        ],
    }
    facts = check_simple_page(
        json.dumps(page).encode(), JSON_SIMPLE, "https://m.example/simple/pip/", "pip"
    )
    assert facts.newest == "25.0"
    assert facts.artifact.url == "https://files.example/pip-25.0.tar.gz"
    assert facts.smallest.url == "https://m.example/packages/pip-24.0-py3-none-any.whl"
    assert facts.newest_time_s == parse_http_date("Wed, 01 Jan 2025 00:00:00 GMT")


def test_pep503_page_and_portal_page() -> None:
    html = (
        b'<html><body><a href="../../packages/pip-24.0-py3-none-any.whl#sha256=ab">x</a>'
        b'<a href="../../packages/pip-25.1-py3-none-any.whl#sha256=cd">y</a></body></html>'
    )
    facts = check_simple_page(html, "text/html", "https://m.example/simple/pip/", "pip")
    assert facts.newest == "25.1" and facts.smallest.sha256 in ("ab", "cd")
    bad = check_simple_page(PORTAL, "text/html; charset=utf-8", "https://m/simple/pip/", "pip")
    assert isinstance(bad, Invalid) and "no links to pip files" in bad.reason
    other = check_simple_page(html, "text/html", "https://m/simple/pipx/", "pipx")
    assert isinstance(other, Invalid), "files of another project do not count"


def test_flat_torch_listing_with_escaped_plus_ignores_torchvision() -> None:
    listing = (
        b'<html><body><pre><a href="../">../</a>\n'
        b'<a href="torch-2.4.1&#43;cu121-cp311-cp311-linux_x86_64.whl">t</a>\n'
        b'<a href="torch-2.5.1&#43;cu121-cp311-cp311-win_amd64.whl">t</a>\n'
        b'<a href="torchvision-0.99.0&#43;cu121-cp311-cp311-win_amd64.whl">v</a>\n'
        b"</pre></body></html>"
    )
    facts = check_wheel_listing(listing, "text/html", "https://m.example/pytorch-wheels/cu121/")
    assert facts.newest == "2.5.1+cu121"
    assert facts.artifact.url.endswith(
        "/pytorch-wheels/cu121/torch-2.5.1+cu121-cp311-cp311-win_amd64.whl"
    )
    assert facts.smallest is None, "a listing without hashes cannot be checked"


def test_http_dates() -> None:
    assert parse_http_date("Thu, 01 Jan 1970 00:01:40 GMT") == 100
    assert parse_http_date("yesterday") is None and parse_http_date(None) is None


def test_wheel_fits_python_and_platform() -> None:
    from mirrorinstall.bench.pages import listed_wheels, wheel_fits

    linux = "torch-2.5.1+cu121-cp311-cp311-linux_x86_64.whl"
    assert wheel_fits(linux, "3.11", "linux-64")
    assert not wheel_fits(linux, "3.12", "linux-64") and not wheel_fits(linux, "3.11", "win-64")
    assert wheel_fits("torch-2.5.1-cp312-none-macosx_11_0_arm64.whl", "3.12", "osx-arm64")
    assert wheel_fits("torch-2.8.0+cu128-cp311-cp311-manylinux_2_28_x86_64.whl", "3.11", "linux-64")
    assert wheel_fits("six-1.16.0-py2.py3-none-any.whl", "3.10", "win-64")
    flat = b'<a href="torch-2.5.1&#43;cpu-cp311-cp311-win_amd64.whl">x</a><a href="../">..</a>'
    assert listed_wheels(flat, "text/html") == ["torch-2.5.1+cpu-cp311-cp311-win_amd64.whl"]


def test_every_index_option_form_is_routed_and_nothing_else() -> None:
    from mirrorinstall.fetch.offline import with_indexes

    seen: list[tuple[str, bool]] = []

    def route(url: str, links: bool) -> str:
        seen.append((url, links))
        return f"L:{url}" if links else f"I:{url}"

    args = [
        "torch",
        "-i",
        "a",
        "--index-url=b",
        "--extra-index-url",
        "c",
        "-fd",
        "--find-links",
        "e",
        "-r",
        "req.txt",
        "--index-strategy",
        "x",
    ]
    assert with_indexes(args, route) == [
        "torch",
        "-i",
        "I:a",
        "--index-url=I:b",
        "--extra-index-url",
        "I:c",
        "-fL:d",
        "--find-links",
        "L:e",
        "-r",
        "req.txt",
        "--index-strategy",
        "x",
    ]
    assert seen == [("a", False), ("b", False), ("c", False), ("d", True), ("e", True)]


def test_simple_pages_json_and_html_read_alike() -> None:
    """The same files from PEP 691 JSON and PEP 503 HTML (the spec's own examples' fields):
    hashes, requires-python, yanked with its reason, metadata with its hash."""
    from mirrorinstall.fetch.simplepage import parse_page

    sha, meta = "a" * 64, "b" * 64
    doc = (
        '{"meta": {"api-version": "1.1"}, "name": "x", "files": ['
        f'{{"filename": "x-1.0-py3-none-any.whl", "url": "../../p/x-1.0-py3-none-any.whl", '
        f'"hashes": {{"sha256": "{sha}"}}, "requires-python": ">=3.9", '
        f'"yanked": "broken", "core-metadata": {{"sha256": "{meta}"}}}},'
        '{"filename": "x-0.9.tar.gz", "url": "https://files.example/x-0.9.tar.gz", '
        '"hashes": {}, "yanked": false, "core-metadata": false}]}'
    ).encode()
    html = (
        f'<a href="../../p/x-1.0-py3-none-any.whl#sha256={sha}" data-requires-python="&gt;=3.9"'
        f' data-yanked="broken" data-core-metadata="sha256={meta}">x</a>'
        '<a href="https://files.example/x-0.9.tar.gz">x</a>'
    ).encode()
    base = "https://m.example/simple/x/"
    from_json = parse_page(doc, "application/vnd.pypi.simple.v1+json", base)
    from_html = parse_page(html, "text/html", base)
    assert from_json == from_html
    first, second = from_json
    assert first.url == "https://m.example/p/x-1.0-py3-none-any.whl" and first.sha256 == sha
    assert (first.requires_python, first.yanked, first.metadata) == (
        ">=3.9",
        "broken",
        f"sha256={meta}",
    )
    assert (second.sha256, second.yanked, second.metadata) == (None, None, None)


def test_a_link_no_url_parser_reads_is_skipped_not_a_crash() -> None:
    """Issue 21: a mirror page listing `http://[::1:bad` made urljoin raise (exit 70)."""
    from mirrorinstall.fetch.simplepage import parse_page

    html = b'<a href="http://[::1:bad/x-1.0.tar.gz">x</a><a href="y-1.0.tar.gz">y</a>'
    assert [f.filename for f in parse_page(html, "text/html", "https://m/simple/x/")] == [
        "y-1.0.tar.gz"
    ]
    doc = b'{"files": [{"filename": "x", "url": "http://[::1:bad/x"}]}'
    assert parse_page(doc, "application/vnd.pypi.simple.v1+json", "https://m/s/x/") == []
