"""The loopback index a resolve runs against (fetch/loopback.py), asked over real HTTP as
pip asks it, in front of farm mirrors serving as PyPI does (JSON + .metadata) and as TUNA does
(HTML, no .metadata), with and without Range support, and failing."""

from __future__ import annotations

import hashlib
import re
import time

import httpx
import pytest
from farm import Fault, MirrorSpec
from packaging.requirements import Requirement

from mirrorinstall.fetch.loopback import LoopbackIndex
from mirrorinstall.fetch.readahead import Ahead
from mirrorinstall.fetch.simplepage import parse_page, render_page
from mirrorinstall.fetch.store import Store

PIP_UA = "pip/26.3 (test)"


def _get(url: str) -> httpx.Response:
    return httpx.get(url, headers={"User-Agent": PIP_UA}, timeout=30)


def _metadata_of(farm, filename: str) -> bytes:
    return farm.content.resources[f"/pypi/packages/{filename}.metadata"].body


def _alpha(index: LoopbackIndex, mirror) -> list:
    page = _get(index.index(mirror.simple_url) + "alpha/")
    assert page.status_code == 200
    return parse_page(page.content, page.headers["content-type"], str(page.url))


@pytest.mark.parametrize("pages", ["json", "html"])
def test_pages_keep_what_the_installer_decides_by_and_metadata_is_served(
    make_farm, tmp_path, pages: str
) -> None:
    farm = make_farm(MirrorSpec("m", pages=pages))
    with LoopbackIndex(Store(tmp_path / "store")) as index:
        files = _alpha(index, farm["m"])
        wheel = next(f for f in files if f.filename == "alpha-1.1-py3-none-any.whl")
        assert wheel.sha256 == farm.content.facts["pypi_files"][wheel.filename]
        assert wheel.requires_python == ">=3.8" and wheel.metadata
        assert wheel.url.startswith(index.base + "/f/")
        assert index.original(wheel.url) == f"{farm['m'].url}/pypi/packages/{wheel.filename}"
        farm["m"].reset_log()
        meta = _get(wheel.url + ".metadata")
        assert meta.status_code == 200 and meta.content == _metadata_of(farm, wheel.filename)
    asked = [(r.path, r.range, r.user_agent) for r in farm["m"].requests]
    if pages == "json":  # the mirror's own .metadata file, nothing of the wheel
        assert asked == [(f"/pypi/packages/{wheel.filename}.metadata", None, PIP_UA)]
    else:  # ranges of the wheel, the installer's User-Agent passed on
        assert asked and all(p.endswith(".whl") and r for p, r, _ in asked), asked
        assert {ua for *_, ua in asked} == {PIP_UA}


def test_what_the_resolve_read_is_in_the_store_for_the_fetch(make_farm, tmp_path) -> None:
    farm = make_farm(MirrorSpec("m", pages="html"))
    store = Store(tmp_path / "store")
    with LoopbackIndex(store) as index:
        files = _alpha(index, farm["m"])
        small = next(f for f in files if f.filename == "alpha-1.1-py3-none-any.whl")
        assert _get(small.url + ".metadata").status_code == 200
        big_page = _get(index.index(farm["m"].simple_url) + "bigwheel/")
        (big,) = parse_page(big_page.content, "text/html", str(big_page.url))
        assert _get(big.url + ".metadata").status_code == 200
    # a wheel smaller than the tail read is stored whole, its hash checked
    assert store.has(small.sha256)
    body = store.path(small.sha256).read_bytes()
    assert hashlib.sha256(body).hexdigest() == small.sha256
    # a big one: its end is in the partial file's journal, where the fetch resumes
    size = len(farm.content.resources[f"/pypi/packages/{big.filename}"].body)
    done = store.journal(big.sha256, size)
    assert done and done[-1][1] == size and done[0][0] > 0

    # the next resolve answers from the store, asking the mirror nothing
    farm["m"].reset_log()
    with LoopbackIndex(store) as index:
        files = _alpha(index, farm["m"])
        again = next(f for f in files if f.filename == small.filename)
        assert _get(again.url + ".metadata").content == _metadata_of(farm, small.filename)
    assert not [r for r in farm["m"].requests if r.path.endswith(".whl")]


def test_a_mirror_without_ranges_sends_the_file_once_into_the_store(make_farm, tmp_path) -> None:
    farm = make_farm(MirrorSpec("m", pages="html", faults=[Fault("norange")]))
    store = Store(tmp_path / "store")
    with LoopbackIndex(store) as index:
        big_page = _get(index.index(farm["m"].simple_url) + "bigwheel/")
        (big,) = parse_page(big_page.content, "text/html", str(big_page.url))
        assert _get(big.url + ".metadata").content == _metadata_of(farm, big.filename)
    assert store.has(big.sha256)
    # one request, answered whole (the mirror ignored its Range): kept, never asked again
    wheel = [r for r in farm["m"].requests if r.path.endswith(".whl")]
    assert len(wheel) == 1 and wheel[0].status == 200


@pytest.mark.parametrize(
    ("fault", "status", "words"),
    [
        (Fault("forbidden403"), 403, "Forbidden"),
        (Fault("error500"), 500, ""),
        (Fault("refuse"), 502, "Connection refused"),
    ],
    ids=["403", "500", "refused"],
)
def test_a_failing_mirror_is_answered_as_the_installer_would_meet_it(
    make_farm, tmp_path, fault: Fault, status: int, words: str
) -> None:
    farm = make_farm(MirrorSpec("m", pages="html"))
    with LoopbackIndex(Store(tmp_path / "store"), timeout_s=3) as index:
        url = index.index(farm["m"].simple_url)
        farm["m"].set_faults(fault)
        r = _get(url + "alpha/")
        assert r.status_code == status and words in r.reason_phrase
        # the installer's words about it name the mirror, never the loopback address
        said = f"Could not fetch URL {url}alpha/: {r.status_code} error"
        back = index.unlooped(said)
        assert index.base not in back and f"{farm['m'].simple_url}/alpha/" in back


def test_a_lying_size_costs_nothing(make_farm, tmp_path) -> None:
    farm = make_farm(MirrorSpec("m", pages="html", faults=[Fault("huge-length", path="*.whl")]))
    with LoopbackIndex(Store(tmp_path / "store"), timeout_s=5) as index:
        page = _get(index.index(farm["m"].simple_url) + "six/")
        (six,) = parse_page(page.content, "text/html", str(page.url))
        r = _get(six.url + ".metadata")
        assert r.status_code == 502, r.status_code


def test_hostile_page_entries_are_rendered_inert() -> None:
    """A filename or requires-python carrying markup is escaped where it is written back."""
    files = parse_page(
        b'<a href="x-1.0.tar.gz#sha256=' + b"a" * 64 + b'" data-requires-python="&gt;=3&quot;'
        b'><script>">x</a><a href="../">../</a><a>no href</a>',
        "text/html",
        "https://mirror.example/simple/x/",
    )
    assert [f.filename for f in files] == ["x-1.0.tar.gz"]
    assert files[0].requires_python == '>=3"><script>'
    page = render_page("t", [("/f/0/x-1.0.tar.gz", files[0])])
    assert b"<script>" not in page and re.search(rb'data-requires-python="&gt;=3&quot;', page)
    assert parse_page(page, "text/html", "http://127.0.0.1/i/0/x/")[0].requires_python == (
        files[0].requires_python
    )


def _until(check, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def _asked(mirror, path: str) -> list:
    return [r for r in mirror.requests if r.path == path]


ALPHA_AHEAD = Ahead((Requirement("alpha"),), "3.11", "linux-64")


def test_pip_s_next_pages_and_metadata_are_read_before_it_asks(make_farm, tmp_path) -> None:
    """alpha requires beta and six, beta requires idna (tests/farm/content.py): once pip has
    asked for alpha's page, the rest of the tree is read without another question, as pip,
    and each page and metadata file is asked of the mirror once."""
    farm = make_farm(MirrorSpec("m", pages="html"))
    m = farm["m"]
    with LoopbackIndex(Store(tmp_path / "store"), ahead=ALPHA_AHEAD) as index:
        url = index.index(m.simple_url)
        assert _get(url + "alpha/").status_code == 200
        idna_page = "/pypi/simple/idna/"
        assert _until(lambda: _asked(m, idna_page)), [r.path for r in m.requests]
        beta_wheel = "/pypi/packages/beta-1.0-py3-none-any.whl"
        assert _until(lambda: _asked(m, beta_wheel))  # beta's metadata, from its tail
        assert {r.user_agent for r in m.requests} == {PIP_UA}
        before = len(_asked(m, beta_wheel))
        page = _get(url + "beta/")
        (beta,) = parse_page(page.content, "text/html", str(page.url))
        meta = _get(beta.url + ".metadata")
        assert meta.content == _metadata_of(farm, "beta-1.0-py3-none-any.whl")
        # both answered from what was read ahead
        assert len(_asked(m, "/pypi/simple/beta/")) == 1
        assert len(_asked(m, beta_wheel)) == before
    # six and idna were read too; nothing beyond the tree; no file fetched whole
    pages = sorted(r.path for r in m.requests if r.path.startswith("/pypi/simple/"))
    assert pages == [f"/pypi/simple/{p}/" for p in ("alpha", "beta", "idna", "six")]
    assert all(r.range for r in m.requests if r.path.endswith(".whl"))


def test_without_ahead_only_what_the_installer_asks_is_read(make_farm, tmp_path) -> None:
    farm = make_farm(MirrorSpec("m", pages="html"))
    with LoopbackIndex(Store(tmp_path / "store")) as index:
        assert _get(index.index(farm["m"].simple_url) + "alpha/").status_code == 200
        time.sleep(0.5)
    assert [r.path for r in farm["m"].requests] == ["/pypi/simple/alpha/"]


def test_a_failed_read_ahead_is_asked_again_when_pip_asks(make_farm, tmp_path) -> None:
    farm = make_farm(MirrorSpec("m", pages="html"))
    m = farm["m"]
    m.set_faults(Fault("error500", path="/pypi/simple/beta/"))
    with LoopbackIndex(Store(tmp_path / "store"), ahead=ALPHA_AHEAD) as index:
        url = index.index(m.simple_url)
        assert _get(url + "alpha/").status_code == 200
        assert _until(lambda: _asked(m, "/pypi/simple/beta/"))
        m.set_faults()
        assert _get(url + "beta/").status_code == 200  # not the guess's 500
    assert [r.status for r in _asked(m, "/pypi/simple/beta/")] == [500, 200]


def test_reading_ahead_stops_at_its_bound(make_farm, tmp_path, monkeypatch) -> None:
    """Pages read ahead wait in memory until pip asks: past readahead.MAX_ENTRIES file
    entries in all, no more are read (a hostile mirror's huge pages cost a bounded amount)."""
    from mirrorinstall.fetch import readahead

    monkeypatch.setattr(readahead, "MAX_ENTRIES", 1)
    farm = make_farm(MirrorSpec("m", pages="html"))
    m = farm["m"]
    beta_only = Ahead((Requirement("beta"),), "3.11", "linux-64")
    with LoopbackIndex(Store(tmp_path / "store"), ahead=beta_only) as index:
        assert _get(index.index(m.simple_url) + "six/").status_code == 200
        # beta's page (one file) is read ahead, then its metadata, which requires idna
        assert _until(lambda: _asked(m, "/pypi/packages/beta-1.0-py3-none-any.whl"))
        time.sleep(0.5)
    assert _asked(m, "/pypi/simple/beta/")
    assert not _asked(m, "/pypi/simple/idna/")  # the bound was reached: not read ahead
