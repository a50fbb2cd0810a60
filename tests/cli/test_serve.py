"""`minstall serve` with the real nginx in front of a throttled farm (issue 22): many pip, uv
and conda clients at once, each file across the slow link once; PEP 691 JSON and HTML kept
apart; ranges; a client joining a file still filling; the best mirror dying mid-run.

nginx is Debian's nginx-light (.ci/run installs it); no stand-in. The cache runs on Linux only
(nginx's Windows build is a beta without Unix sockets): under the Windows simulation the
refusal is what is tested."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import winsim
from farm import Fault, MirrorSpec
from realconda import make_home

from .test_cli import farm_env, minstall, started

WINDOWS_SIM = winsim.ENV_VAR in os.environ
NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
)
has_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (.ci/run installs it)")
needs_nginx = pytest.mark.skipif(
    NGINX is None or WINDOWS_SIM,
    reason="nginx is not installed (.ci/run installs it), or the Windows simulation (no cache "
    "runs there)",
)
FILE_SUFFIXES = (".whl", ".metadata", ".conda", ".tar.bz2")
PIP_JSON = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)  # pip 24's Accept header


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cache:
    def __init__(self, farm, env: dict[str, str], url: str, proc: subprocess.Popen) -> None:
        self.farm, self.env, self.url, self.proc = farm, env, url, proc

    def file_bytes(self) -> dict[str, int]:
        """Body bytes the farm sent for each file, over every mirror and request."""
        out: dict[str, int] = {}
        for m in self.farm:
            for r in m.requests:
                if r.method == "GET" and r.path.endswith(FILE_SUFFIXES):
                    out[r.path] = out.get(r.path, 0) + r.bytes_sent
        return out

    def size(self, path: str) -> int:
        return len(self.farm.content.resources[path].body)


@pytest.fixture
def cache(make_farm, tmp_path: Path) -> Iterator[Cache]:
    farm = make_farm(
        MirrorSpec("best", latency_s=0.005, bandwidth_bps=2e6),
        MirrorSpec("next", latency_s=0.03, bandwidth_bps=2e6),
    )
    env = farm_env(farm, tmp_path)
    assert minstall("bench", env=env).returncode == 0
    port = _free_port()
    proc = started(
        ["serve", "--listen", f"127.0.0.1:{port}", "--cache-dir", str(tmp_path / "cache")], env
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"minstall serve ended: {proc.communicate()}")
        try:
            if httpx.get(url + "/minstall-serve", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    for m in farm:
        m.reset_log()
    yield Cache(farm, env, url, proc)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err  # Ctrl-C stops nginx and minstall, as it says


def _pip(cache: Cache, target: Path, index: str | None = None) -> subprocess.Popen:
    """pip installing alpha from the cache (or from ``index``, a mirror's URL)."""
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "pip", "install", "--no-cache-dir"),
            *("--disable-pip-version-check", "--target", str(target)),
            *("--index-url", (index or cache.url) + "/pypi/simple", "alpha"),
        ],
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_FIND_LINKS": ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _uv(cache: Cache, target: Path, tmp_path: Path) -> subprocess.Popen:
    uv = Path(sys.executable).with_name("uv")
    return subprocess.Popen(
        [
            *(str(uv), "pip", "install", "--no-cache", "--target", str(target)),
            *("--python", sys.executable, "--index-url", cache.url + "/pypi/simple", "alpha"),
        ],
        env={**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv-cache"), "UV_NO_CONFIG": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _installed(target: Path) -> set[str]:
    return {p.name for p in target.glob("*.dist-info")}


@needs_nginx
def test_twenty_clients_at_once_get_every_file_across_the_link_once(
    cache: Cache, conda_python, tmp_path: Path
) -> None:
    """12 pip, 5 uv and 3 real conda clients install the same set through the cache at once:
    every file's bytes leave the farm once, and each client installs exactly what a direct
    install from the best mirror installs (alpha needs beta, which needs idna and six)."""
    direct = _pip(cache, tmp_path / "direct", index=cache.farm["best"].url)
    assert direct.wait(timeout=300) == 0
    home = make_home(conda_python, tmp_path / "conda-direct", cache.farm["best"].url, ())
    made = home.run("create", "-y", "-p", str(tmp_path / "env-direct"), "pkga", "-c", "conda-forge")
    assert made.returncode == 0, made.stdout + made.stderr
    want_pip = _installed(tmp_path / "direct")
    want_conda = home.installed(tmp_path / "env-direct")
    assert {n.split("-")[0] for n in want_pip} == {"alpha", "beta", "idna", "six"}
    for m in cache.farm:
        m.reset_log()
    clients = []
    for i in range(12):
        clients.append(("pip", tmp_path / f"pip{i}", _pip(cache, tmp_path / f"pip{i}")))
    for i in range(5):
        target = tmp_path / f"uv{i}"
        clients.append(("uv", target, _uv(cache, target, tmp_path / f"uvh{i}")))
    for i in range(3):
        home = make_home(conda_python, tmp_path / f"conda{i}", cache.url, ("conda-forge",))
        prefix = tmp_path / f"env{i}"
        proc = subprocess.Popen(
            [str(home.exe), "create", "-y", "-p", str(prefix), "pkga", "-c", "conda-forge"],
            env=home.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        clients.append(("conda", prefix, proc))
    for tool, where, proc in clients:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, (tool, out[-3000:])
        if tool == "conda":
            got = {p.name.removesuffix(".json") for p in (where / "conda-meta").glob("*.json")}
            assert got == want_conda, (tool, got)
        else:
            assert _installed(where) == want_pip, (tool, _installed(where))
    sent = cache.file_bytes()
    assert any(p.endswith(".conda") or p.endswith(".tar.bz2") for p in sent), sorted(sent)
    assert any(p.endswith(".whl") for p in sent) and any(p.endswith(".metadata") for p in sent)
    twice = {p: (b, cache.size(p)) for p, b in sent.items() if b != cache.size(p)}
    assert not twice, twice


@needs_nginx
def test_json_and_html_pages_are_kept_apart_and_ranges_get_206(cache: Cache) -> None:
    page = cache.url + "/pypi/simple/six/"
    for _ in range(2):
        json_page = httpx.get(page, headers={"Accept": PIP_JSON})
        html_page = httpx.get(page, headers={"Accept": "text/html"})
        assert json_page.headers["content-type"].startswith("application/vnd.pypi.simple.v1+json")
        assert json_page.json()["name"] == "six"
        assert html_page.headers["content-type"].startswith("text/html")
        assert html_page.text.lstrip().startswith("<!DOCTYPE html>")
    assert json_page.headers["x-cache"] == "HIT" and html_page.headers["x-cache"] == "HIT"
    pages = [r.path for m in cache.farm for r in m.requests if r.path == "/pypi/simple/six/"]
    assert len(pages) == 2  # one JSON, one HTML, then both from the cache
    wheel = "/pypi/packages/six-1.16.0-py2.py3-none-any.whl"
    body = cache.farm.content.resources[wheel].body
    for _ in range(2):  # cold, then cached
        part = httpx.get(cache.url + wheel, headers={"Range": "bytes=100-1099"})
        assert part.status_code == 206 and part.content == body[100:1100]
        assert part.headers["content-range"] == f"bytes 100-1099/{len(body)}"


@needs_nginx
def test_a_client_joining_a_file_still_filling_gets_its_bytes_from_the_cache(cache: Cache) -> None:
    """A 4 MiB wheel at 0.5 MB/s: the second client arrives while the first is still filling
    it, gets its first bytes before the first client is done (no lock timeout sending it
    upstream), and the farm sends the file once."""
    import threading

    path = next(p for p in cache.farm.content.resources if "/bigwheel-" in p and p.endswith(".whl"))
    want = hashlib.sha256(cache.farm.content.resources[path].body).hexdigest()
    done: dict[str, float] = {}
    digests: dict[str, str] = {}

    def get(name: str) -> None:
        h = hashlib.sha256()
        with httpx.stream("GET", cache.url + path, timeout=60) as r:
            for chunk in r.iter_bytes():
                if name not in done:
                    done[name + "-first"] = time.monotonic()
                    done[name] = 0.0
                h.update(chunk)
        done[name] = time.monotonic()
        digests[name] = h.hexdigest()

    for m in cache.farm:  # 8 s for the file: longer than the 5 s cache lock nginx defaults to
        m.set_speed(bandwidth_bps=5e5)
    first = threading.Thread(target=get, args=("a",))
    first.start()
    time.sleep(0.8)
    get("b")
    first.join(60)
    assert digests == {"a": want, "b": want}
    assert done["b-first"] < done["a"], done
    assert cache.file_bytes()[path] == cache.size(path)


@needs_nginx
def test_the_best_mirror_dying_mid_run_hands_over_to_the_next(cache: Cache, tmp_path) -> None:
    proc = _pip(cache, tmp_path / "t")
    deadline = time.monotonic() + 60
    while not any(r.path.endswith(FILE_SUFFIXES) for r in cache.farm["best"].requests):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    # mid-run, pip has its first files: the port closes, and the connections nginx keeps
    # open to it answer 500 from now on
    cache.farm["best"].set_faults(Fault("refuse"), Fault("error500"))
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-3000:]
    assert {n.split("-")[0] for n in _installed(tmp_path / "t")} == {"alpha", "beta", "idna", "six"}
    assert any(r.path.endswith(".whl") for r in cache.farm["next"].requests)


@has_nginx
def test_print_and_write_give_a_configuration_nginx_accepts(make_farm, tmp_path: Path) -> None:
    farm = make_farm(MirrorSpec("a"))
    env = farm_env(farm, tmp_path)
    printed = minstall("serve", "--print", env=env)
    assert printed.returncode == 0, printed.stderr
    assert "proxy_cache_lock on;" in printed.stdout
    where = tmp_path / "srv"
    written = minstall("serve", "--write", str(where), "--url", "http://lab:8790", env=env)
    assert written.returncode == 0, written.stderr
    assert (where / "nginx.conf").read_text() and "ExecStart=" in written.stderr
    assert '[mirror.fleet-cache.pypi]\nsimple = "http://lab:8790/pypi/simple"' in written.stdout


def test_no_nginx_is_a_clear_error_with_the_install_command(make_farm, tmp_path: Path) -> None:
    farm = make_farm(MirrorSpec("a"))
    env = farm_env(farm, tmp_path, MINSTALL_NGINX=str(tmp_path / "no-nginx"))
    proc = minstall("serve", "--write", str(tmp_path / "srv"), env=env)
    assert proc.returncode == 127, proc.stderr  # as for a missing conda, or a shell's
    assert "is not a program" in proc.stderr
    assert "apt install nginx-light" in proc.stderr  # this machine is Debian
    assert not (tmp_path / "srv").exists()


def test_on_windows_serve_says_where_to_run_the_cache(make_farm, tmp_path: Path) -> None:
    """nginx's Windows build is a beta without Unix sockets: `serve` refuses with the reason
    and where to run it instead (Windows clients use a cache like any mirror)."""
    if not WINDOWS_SIM:
        pytest.skip("the Windows branch: run under MINSTALL_TEST_WINDOWS_SIM=1")
    farm = make_farm(MirrorSpec("a"))
    env = farm_env(farm, tmp_path, MINSTALL_NGINX=sys.executable)  # any program: not run
    proc = minstall("serve", "--listen", f"127.0.0.1:{_free_port()}", env=env)
    assert proc.returncode == 64, proc.stderr
    assert "does not run nginx on Windows" in proc.stderr and "WSL" in proc.stderr


@needs_nginx
def test_warm_pulls_an_install_through_the_cache_once_and_clients_then_hit(
    cache: Cache, tmp_path: Path
) -> None:
    proc = minstall("warm", "--cache", cache.url, "alpha", env=cache.env)
    assert proc.returncode == 0, proc.stderr
    assert "minstall warm: 4 files" in proc.stderr
    warmed = cache.file_bytes()
    assert {p.rsplit("/", 1)[-1].split("-")[0] for p in warmed if p.endswith(".whl")} == {
        "alpha",
        "beta",
        "idna",
        "six",
    }
    for m in cache.farm:
        m.reset_log()
    client = _pip(cache, tmp_path / "t")
    out, _ = client.communicate(timeout=300)
    assert client.returncode == 0, out[-3000:]
    assert cache.file_bytes() == {}  # every file from the cache: nothing crossed the link


@needs_nginx
def test_a_client_falls_back_to_the_public_mirrors_when_the_cache_is_down(
    cache: Cache, tmp_path: Path
) -> None:
    """A client whose catalog holds the cache's entry (as 'minstall serve' prints it) ranks it
    with the rest; when the cache goes down, its install goes to the next mirror and says so."""
    from .test_install_cli import pip_target

    entry = httpx.get(cache.url + "/minstall-serve/catalog.toml").text
    catalog = tmp_path / "client.toml"
    farm_catalog = Path(cache.env["MINSTALL_CATALOG"]).read_text()
    catalog.write_text(farm_catalog + "\n" + entry.replace("schema = 1\n", "", 1))
    python, pip_env = pip_target(tmp_path)
    env = {
        **cache.env,
        **pip_env,
        "MINSTALL_CATALOG": str(catalog),
        "MINSTALL_CACHE_DIR": str(tmp_path / "client-cache"),
    }
    assert minstall("bench", env=env).returncode == 0  # fills the cache with the probes' files
    bench = minstall("bench", "--refresh", "--json", env=env)  # a LAN cache, warm: first
    first = {r["kind"]: r["mirror"] for r in json.loads(bench.stdout)["results"] if r["rank"] == 1}
    assert first["pypi"] == "fleet-cache", first
    cache.proc.send_signal(signal.SIGINT)  # the cache host goes down
    cache.proc.communicate(timeout=30)
    proc = minstall("pip", "--python", python, "install", "six", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "attempt 1/3: pypi: mirror fleet-cache" in proc.stderr, proc.stderr
    assert "attempt 2/3: pypi: mirror best" in proc.stderr, proc.stderr
    cache.proc = subprocess.Popen(["true"])  # the fixture's Ctrl-C has nothing left to stop


@needs_nginx
def test_a_second_serve_on_the_same_cache_is_refused(cache: Cache, tmp_path: Path) -> None:
    """Two nginx on one cache folder would trim it from two cache managers and overwrite one
    pid file; the second `minstall serve` says which process holds the cache."""
    again = minstall(
        "serve", "--listen", f"127.0.0.1:{_free_port()}", "--cache-dir", str(tmp_path / "cache"),
        env=cache.env,
    )  # fmt: skip
    assert again.returncode == 64, again.stderr
    assert "another nginx (pid " in again.stderr and "another --cache-dir" in again.stderr
    assert httpx.get(cache.url + "/minstall-serve").status_code == 200  # the first one runs on
