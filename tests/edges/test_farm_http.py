"""The mirror farm, seen by a real HTTP client (httpx): content, HTTP features, every fault."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from farm import FAULT_MODES, Fault, MirrorSpec
from farm.content import JSON_SIMPLE

REPODATA = "/conda/conda-forge/noarch/repodata.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def repodata_records(data: dict) -> dict[str, dict]:
    return {**data.get("packages", {}), **data.get("packages.conda", {})}


# ------------------------------------------------------------------ content


def test_real_conda_channel_is_served_unchanged(make_farm, tmp_path: Path) -> None:
    """conda's own test channel (../shared/data) is served as 'conda-format', byte for byte."""
    from conda_package_handling import api
    from farm.content import shared_dir

    m = make_farm(MirrorSpec("m"))["m"]
    real = shared_dir() / "data" / "conda_format_repo"
    r = httpx.get(m.channel_url("conda-format") + "/linux-64/repodata.json")
    assert r.status_code == 200
    assert r.content == (real / "linux-64" / "repodata.json").read_bytes()
    for key, fn in (
        ("packages.conda", "zlib-1.2.11-h7b6447c_3.conda"),
        ("packages", "zlib-1.2.11-h7b6447c_3.tar.bz2"),
    ):
        record = r.json()[key][fn]
        pkg = httpx.get(m.channel_url("conda-format") + f"/linux-64/{fn}").content
        assert sha256(pkg) == record["sha256"] and len(pkg) == record["size"]
        (tmp_path / fn).write_bytes(pkg)
        # conda-package-handling 2.6 cannot stream this old .conda's pkg part ("seeking
        # backwards"), so of the .conda only the info part is unpacked.
        api.extract(
            str(tmp_path / fn),
            dest_dir=str(tmp_path / fn) + ".d",
            components="info" if fn.endswith(".conda") else None,
        )
        assert json.loads((tmp_path / f"{fn}.d/info/index.json").read_text())["name"] == "zlib"


def test_built_channels_are_real_indexed_channels(make_farm, content, tmp_path: Path) -> None:
    """Every package listed in every built channel's repodata downloads with its hash, and
    the .zst copy holds the same index."""
    from backports import zstd

    m = make_farm(MirrorSpec("m"))["m"]
    with httpx.Client(base_url=m.url) as client:
        for channel in ("conda-forge", "pytorch", "bioconda", "nvidia", "r", "msys2"):
            subdirs = {p.split("/")[3] for p in content.parts[f"conda:{channel}"]}
            assert "noarch" in subdirs
            for subdir in subdirs:
                base = f"/conda/{channel}/{subdir}"
                index = client.get(f"{base}/repodata.json").json()
                assert index["info"]["subdir"] == subdir
                zst = client.get(f"{base}/repodata.json.zst")
                assert json.loads(zstd.decompress(zst.content)) == index
                for fn, rec in repodata_records(index).items():
                    body = client.get(f"{base}/{fn}").content
                    assert sha256(body) == rec["sha256"], fn
    noarch = httpx.get(m.url + REPODATA).json()
    pkga = repodata_records(noarch)["pkga-1.0-0.conda"]
    assert pkga["depends"] == ["pkgb >=1.0", "pkgc"] and pkga["noarch"] == "generic"
    assert {"linux-64", "win-64", "osx-arm64"} <= {
        p.split("/")[3] for p in content.parts["conda:conda-forge"]
    }


def test_pypi_index_speaks_pep503_html_and_pep691_json(make_farm) -> None:
    m = make_farm(MirrorSpec("m"))["m"]
    page = httpx.get(m.simple_url + "/alpha/", headers={"Accept": "text/html"})
    assert page.headers["content-type"] == "text/html"
    assert 'data-core-metadata="sha256=' in page.text and "#sha256=" in page.text
    js = httpx.get(
        m.simple_url + "/alpha/",
        headers={
            "Accept": f"{JSON_SIMPLE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
        },
    )
    assert js.headers["content-type"] == JSON_SIMPLE
    data = js.json()
    assert data["name"] == "alpha" and data["versions"] == ["1.0", "1.1"]
    for f in data["files"]:
        wheel = httpx.get(str(js.url.join(f["url"])))
        assert sha256(wheel.content) == f["hashes"]["sha256"]
        meta = httpx.get(str(js.url.join(f["url"])) + ".metadata")
        assert sha256(meta.content) == f["core-metadata"]["sha256"]
        assert b"Requires-Dist: beta>=1.0" in meta.content
    root = httpx.get(m.simple_url + "/", headers={"Accept": JSON_SIMPLE}).json()
    assert {"alpha", "six", "idna", "typing-extensions"} <= {p["name"] for p in root["projects"]}


def test_pytorch_trees_in_both_layouts(make_farm, content) -> None:
    m = make_farm(MirrorSpec("m"))["m"]
    tag = content.facts["torch_local_tag"]
    wheel = f"torch-2.5.1+cu121-{tag}.whl"
    index = httpx.get(m.url + "/whl/cu121/torch/")
    assert f'href="../{wheel}#sha256=' in index.text
    flat = httpx.get(m.url + "/pytorch-wheels/cu121/")
    assert wheel.replace("+", "&#43;") in flat.text and "torch/" not in flat.text
    stable = httpx.get(m.url + "/whl/torch_stable.html")
    assert f"cu118/torch-2.4.1%2Bcu118-{tag}.whl" in stable.text
    for path in (f"/whl/cu121/{wheel}", f"/pytorch-wheels/cu121/{wheel}"):
        body = httpx.get(m.url + path.replace("+", "%2B")).content
        assert sha256(body) == content.facts["torch_files"][wheel]


def test_a_mirror_can_carry_only_some_things(make_farm) -> None:
    m = make_farm(MirrorSpec("partial", conda=["conda-forge"], pypi=False, pytorch=None))["partial"]
    assert httpx.get(m.url + REPODATA).status_code == 200
    assert httpx.get(m.channel_url("pytorch") + "/noarch/repodata.json").status_code == 404
    assert httpx.get(m.simple_url + "/").status_code == 404
    assert httpx.get(m.url + "/whl/cu121/torch/").status_code == 404
    assert "[mirror.partial.pypi]" not in make_farm(MirrorSpec("x", pypi=False)).catalog_toml()


# ------------------------------------------------------------------ HTTP features


def test_keepalive_head_ranges_and_validators(make_farm) -> None:
    m = make_farm(MirrorSpec("m"))["m"]
    url = m.url + "/pypi/packages/bigwheel-1.0-py3-none-any.whl"
    with httpx.Client() as client:
        full = client.get(url)
        head = client.head(url)
        part = client.get(url, headers={"Range": "bytes=100-199"})
        tail = client.get(url, headers={"Range": "bytes=-10"})
        beyond = client.get(url, headers={"Range": f"bytes={len(full.content)}-"})
        etag = client.get(url, headers={"If-None-Match": full.headers["etag"]})
        since = client.get(url, headers={"If-Modified-Since": full.headers["last-modified"]})
    assert m.connections_opened == 1, "keep-alive: every request on one connection"
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(full.content) > 4_000_000
    assert part.status_code == 206 and part.content == full.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(full.content)}"
    assert tail.status_code == 206 and tail.content == full.content[-10:]
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(full.content)}"
    assert etag.status_code == 304 and since.status_code == 304
    assert [r.status for r in m.requests] == [200, 200, 206, 206, 416, 304, 304]


def test_latency_is_added_to_every_request(make_farm) -> None:
    m = make_farm(MirrorSpec("m", latency_s=0.25))["m"]
    with httpx.Client() as client:
        for _ in range(2):
            t0 = time.monotonic()
            client.get(m.simple_url + "/six/")
            assert time.monotonic() - t0 >= 0.25


def test_bandwidth_caps_per_connection_and_shared(make_farm) -> None:
    farm = make_farm(
        MirrorSpec("per", bandwidth_bps=1_000_000),
        MirrorSpec("shared", shared_bandwidth_bps=1_000_000),
    )
    url = "/pypi/packages/bigwheel-1.0-py3-none-any.whl"
    t0 = time.monotonic()
    r = httpx.get(farm["per"].url + url, headers={"Range": "bytes=0-499999"})
    assert len(r.content) == 500_000 and time.monotonic() - t0 >= 0.45

    # two connections at once share 1 MB/s: 2 x 250 kB takes about 0.5 s in all
    def fetch() -> None:
        httpx.get(farm["shared"].url + url, headers={"Range": "bytes=0-249999"})

    t0 = time.monotonic()
    threads = [threading.Thread(target=fetch) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - t0 >= 0.45
    assert farm["shared"].bytes_sent() == 500_000


# ------------------------------------------------------------------ faults


def test_refuse_is_a_closed_port_and_can_be_lifted(make_farm) -> None:
    m = make_farm(MirrorSpec("m", faults=[Fault("refuse")]))["m"]
    port = m.port
    with pytest.raises(httpx.ConnectError):
        httpx.get(m.simple_url + "/")
    m.clear_faults()
    assert m.port == port and httpx.get(m.simple_url + "/").status_code == 200


def test_hang_accepts_and_never_answers(make_farm) -> None:
    m = make_farm(MirrorSpec("m", faults=[Fault("hang")]))["m"]
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(m.url + REPODATA, timeout=httpx.Timeout(5, read=0.5))
    assert [r.fault for r in m.requests] == ["hang"]


def test_html200_serves_a_portal_page_where_json_was_asked(make_farm) -> None:
    m = make_farm(MirrorSpec("m", faults=[Fault("html200", path="/conda/*")]))["m"]
    r = httpx.get(m.url + REPODATA)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "Sign in" in r.text
    with pytest.raises(json.JSONDecodeError):
        r.json()
    assert httpx.get(m.simple_url + "/six/").text.count("six-1.16.0") >= 1  # other paths fine


def test_forbidden403_for_all_or_for_some_user_agents(make_farm) -> None:
    farm = make_farm(
        MirrorSpec("all", faults=[Fault("forbidden403")]),
        MirrorSpec("ua", faults=[Fault("forbidden403", user_agent=r"^pip/")]),
    )
    r = httpx.get(farm["all"].simple_url + "/alpha/")
    assert r.status_code == 403 and "web application firewall" in r.text
    url = farm["ua"].simple_url + "/alpha/"
    assert httpx.get(url, headers={"User-Agent": "pip/26.3 {}"}).status_code == 403
    assert httpx.get(url, headers={"User-Agent": "minstall/0.1.0"}).status_code == 200


def test_out_of_sync_index_lists_a_file_that_404s(make_farm) -> None:
    m = make_farm(MirrorSpec("m", faults=[Fault("out-of-sync", path="*/pkga-1.0-0.conda")]))["m"]
    index = httpx.get(m.url + REPODATA).json()
    assert "pkga-1.0-0.conda" in index["packages.conda"]
    assert httpx.get(m.url + "/conda/conda-forge/noarch/pkga-1.0-0.conda").status_code == 404
    assert httpx.get(m.url + "/conda/conda-forge/noarch/pkgb-1.0-0.conda").status_code == 200


def test_stale_index_misses_the_newest_version_and_is_older(make_farm) -> None:
    farm = make_farm(MirrorSpec("fresh"), MirrorSpec("stale", faults=[Fault("stale")]))
    fresh = httpx.get(farm["fresh"].url + REPODATA)
    stale = httpx.get(farm["stale"].url + REPODATA)
    versions = {
        r["version"] for r in repodata_records(stale.json()).values() if r["name"] == "pkgb"
    }
    assert versions == {"1.0"}
    assert "pkgb-1.1-0.conda" in fresh.json()["packages.conda"]
    from email.utils import parsedate_to_datetime

    lag = (
        parsedate_to_datetime(fresh.headers["last-modified"])
        - parsedate_to_datetime(stale.headers["last-modified"])
    ).total_seconds()
    assert lag >= 2 * 86_400
    page = httpx.get(farm["stale"].simple_url + "/alpha/", headers={"Accept": JSON_SIMPLE})
    assert page.json()["versions"] == ["1.0"]


def test_corrupt_bytes_differ_from_the_advertised_hash(make_farm) -> None:
    m = make_farm(MirrorSpec("m", faults=[Fault("corrupt")]))["m"]
    record = httpx.get(m.url + REPODATA).json()["packages.conda"]["pkga-1.0-0.conda"]
    body = httpx.get(m.url + "/conda/conda-forge/noarch/pkga-1.0-0.conda").content
    assert len(body) == record["size"] and sha256(body) != record["sha256"]


def test_corrupt_throughout_damages_every_range_served(make_farm) -> None:
    farm = make_farm(MirrorSpec("good"), MirrorSpec("bad", faults=[Fault("corrupt-throughout")]))
    path = "/pypi/packages/bigwheel-1.0-py3-none-any.whl"
    for first, last in ((0, 65535), (1 << 20, (2 << 20) - 1)):
        headers = {"Range": f"bytes={first}-{last}"}
        good = httpx.get(farm["good"].url + path, headers=headers)
        bad = httpx.get(farm["bad"].url + path, headers=headers)
        assert bad.status_code == good.status_code == 206
        assert len(bad.content) == len(good.content) == last - first + 1
        assert bad.content != good.content  # each range has its own damage


def test_truncate_closes_mid_body(make_farm) -> None:
    m = make_farm(MirrorSpec("m", faults=[Fault("truncate", path="*.whl")]))["m"]
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(m.url + "/pypi/packages/bigwheel-1.0-py3-none-any.whl")
    assert 0 < m.requests[-1].bytes_sent < 4 * 1024 * 1024


def test_redirect_sends_the_client_to_another_host(make_farm) -> None:
    farm = make_farm(MirrorSpec("upstream", upstream=True), MirrorSpec("m"))
    farm["m"].set_faults(Fault("redirect", target=farm["upstream"].url))
    r = httpx.get(farm["m"].url + REPODATA, follow_redirects=True)
    assert r.history[0].status_code == 302
    assert r.url.port == farm["upstream"].port and r.json()["info"]["subdir"] == "noarch"
    assert [q.path for q in farm["upstream"].requests] == [REPODATA]


def test_stall_answers_then_goes_silent(make_farm) -> None:
    m = make_farm(
        MirrorSpec("m", faults=[Fault("stall", path="*.whl", delay_s=0.3, after_bytes=4096)])
    )["m"]
    got = bytearray()
    t0 = time.monotonic()
    with (
        httpx.Client(timeout=httpx.Timeout(5, read=0.8)) as client,
        pytest.raises(httpx.ReadTimeout),
        client.stream("GET", m.url + "/pypi/packages/bigwheel-1.0-py3-none-any.whl") as r,
    ):
        assert r.status_code == 200 and time.monotonic() - t0 >= 0.3  # slow start
        for chunk in r.iter_bytes():
            got += chunk
    assert len(got) == 4096


def test_error500(make_farm) -> None:
    m = make_farm(MirrorSpec("m", faults=[Fault("error500", path="/pypi/*")]))["m"]
    assert httpx.get(m.simple_url + "/six/").status_code == 500


def test_cross_origin_links_point_the_pages_files_at_another_host(make_farm) -> None:
    farm = make_farm(MirrorSpec("m"), MirrorSpec("cdn"))
    farm["m"].set_faults(Fault("cross-origin-links", path="/pypi/simple/*", target=farm["cdn"].url))
    page = httpx.get(farm["m"].simple_url + "/six/").text
    json_page = httpx.get(
        farm["m"].simple_url + "/six/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    ).json()
    assert f"{farm['cdn'].url}/pypi/packages/six-" in page and "../../packages/" not in page
    assert all(f["url"].startswith(farm["cdn"].url) for f in json_page["files"])
    assert httpx.get(json_page["files"][0]["url"]).status_code == 200  # the other host has it


def test_future_date_says_every_answer_was_modified_in_2099(make_farm) -> None:
    m = make_farm(MirrorSpec("m", faults=[Fault("future-date")]))["m"]
    assert httpx.get(m.simple_url + "/six/").headers["Last-Modified"].endswith("2099 00:00:00 GMT")


def test_gzip_encodes_only_for_clients_that_offer_it(make_farm) -> None:
    m = make_farm(MirrorSpec("m", faults=[Fault("gzip")]))["m"]
    plain = httpx.get(m.simple_url + "/six/", headers={"Accept-Encoding": "identity"})
    zipped = httpx.get(m.simple_url + "/six/", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.text == plain.text


def test_gzip_bomb_is_small_on_the_wire_and_huge_decoded(make_farm) -> None:
    import zlib

    m = make_farm(MirrorSpec("m", faults=[Fault("gzip-bomb", path="/pypi/simple/*")]))["m"]
    with httpx.stream("GET", m.simple_url + "/six/") as r:
        raw = b"".join(r.iter_raw())
    assert r.headers["Content-Encoding"] == "gzip" and len(raw) < 1024 * 1024
    assert len(zlib.decompressobj(31).decompress(raw, 10 * 1024 * 1024)) == 10 * 1024 * 1024


def test_huge_length_declares_50_gb_and_keeps_sending(make_farm) -> None:
    m = make_farm(MirrorSpec("m", faults=[Fault("huge-length", path="/pypi/simple/*")]))["m"]
    with httpx.stream("GET", m.simple_url + "/six/") as r:
        assert int(r.headers["Content-Length"]) == 50 * 10**9
        got = 0
        for chunk in r.iter_raw():
            got += len(chunk)
            if got > 3 * 1024 * 1024:
                break
    assert got > 3 * 1024 * 1024


def test_auth_required_answers_401_without_the_right_credential(make_farm) -> None:
    m = make_farm(MirrorSpec("m", faults=[Fault("auth-required", auth="Basic eDp5")]))["m"]
    assert httpx.get(m.simple_url + "/six/").status_code == 401
    assert httpx.get(m.simple_url + "/six/", auth=("x", "y")).status_code == 200


def test_norange_ignores_range_and_says_so(make_farm) -> None:
    farm = make_farm(MirrorSpec("m", faults=[Fault("norange")]))
    url = farm["m"].url + "/pypi/packages/bigwheel-1.0-py3-none-any.whl"
    r = httpx.get(url, headers={"Range": "bytes=0-99"})
    assert r.status_code == 200 and len(r.content) > 100
    assert r.headers["Accept-Ranges"] == "none" and "Content-Range" not in r.headers


def test_drip_keeps_a_read_timeout_from_firing_and_sends_almost_nothing(make_farm) -> None:
    farm = make_farm(MirrorSpec("m", faults=[Fault("drip", path="*.whl", delay_s=0.1)]))
    got = b""
    started = time.monotonic()
    # a read timeout of 0.5 s never fires: a byte comes every 0.1 s
    url = farm["m"].url + "/pypi/packages/bigwheel-1.0-py3-none-any.whl"
    with httpx.stream("GET", url, timeout=0.5) as r:
        assert r.status_code == 200
        for block in r.iter_bytes():
            got += block
            if time.monotonic() - started > 1.5:
                break
    assert 3 <= len(got) <= 30, len(got)


def test_every_fault_mode_has_a_test_here() -> None:
    """A new fault mode must come with its httpx test in this file."""
    source = Path(__file__).read_text()
    for mode in FAULT_MODES:
        assert f'Fault("{mode}"' in source, mode


# ------------------------------------------------------------------ lifecycle


def test_binds_only_loopback_and_stops_by_itself(make_farm) -> None:
    farm = make_farm(MirrorSpec("m"), max_lifetime_s=0.5)
    server = farm["m"].server._server
    assert server.server_address[0] == "127.0.0.1"
    port = farm["m"].port
    time.sleep(1.0)
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_close_releases_hanging_connections(make_farm) -> None:
    farm = make_farm(MirrorSpec("m", faults=[Fault("hang", hold_s=60)]))
    errors: list[BaseException] = []

    def client() -> None:
        try:
            httpx.get(farm["m"].url + "/", timeout=30)
        except httpx.HTTPError as exc:
            errors.append(exc)

    t = threading.Thread(target=client)
    t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    farm.close()
    t.join(10)
    assert not t.is_alive() and time.monotonic() - t0 < 5
    assert errors and isinstance(errors[0], httpx.RemoteProtocolError)
