"""Installs that minstall downloads for: real pip resolves on the farm (its report), minstall
fetches every file in ranges across the mirrors into the store, and real pip and uv install
from those files with no index. Faults of a mirror's files leave that mirror out, not the
install; `--no-fetch` and MINSTALL_FETCH=0 give the installer its own downloads back."""

from __future__ import annotations

import json
import os
import re
import venv
from pathlib import Path

import pytest
from farm import Fault

from .test_cli import minstall
from .test_install_cli import farm_env, pip_install  # noqa: F401  (farm_env: a fixture)


def _wheel_gets(farm, agent: str = "") -> list:
    return [
        r
        for m in farm
        for r in m.requests
        if r.method == "GET" and r.path.endswith(".whl") and r.user_agent.startswith(agent)
    ]


def _installed(python: str) -> set[str]:
    site = next(Path(python).parent.parent.glob("lib/python*/site-packages"))
    return {p.name.split("-")[0] for p in site.glob("*.dist-info")}


def test_pip_installs_the_files_minstall_fetched_and_a_second_venv_downloads_nothing(
    farm_env,  # noqa: F811
    tmp_path: Path,
) -> None:
    farm, env, python = farm_env
    proc = pip_install(env, python, "alpha", "bigwheel")
    assert proc.returncode == 0, proc.stderr
    assert "Successfully installed alpha-1.1 beta-1.0 bigwheel-1.0 idna-3.7 six-1.16.0" in (
        proc.stdout
    )
    assert "minstall: fetched 5 files (0 already in the store)" in proc.stderr
    assert "install --no-index --find-links" not in proc.stderr  # the plan shows the typed one
    assert not _wheel_gets(farm, "pip/"), "pip downloaded a wheel itself"
    big = [r for r in _wheel_gets(farm, "minstall") if "bigwheel" in r.path]
    assert all(r.range for r in big) and len({r.connection for r in big}) > 1
    assert {"alpha", "beta", "bigwheel", "idna", "six"} <= _installed(python)

    other = tmp_path / "other"
    venv.EnvBuilder(with_pip=False).create(other)
    for m in farm:
        m.reset_log()
    again = pip_install(env, str(other / "bin" / "python"), "alpha", "bigwheel")
    assert again.returncode == 0, again.stderr
    assert "fetched 5 files (5 already in the store); fetched 0.0 MiB" in again.stderr
    assert not _wheel_gets(farm), "a file in the store was downloaded again"

    for m in farm:
        m.reset_log()
    nothing = pip_install(env, str(other / "bin" / "python"), "alpha")
    assert nothing.returncode == 0, nothing.stderr
    assert "Requirement already satisfied: alpha" in nothing.stdout
    assert "fetched" not in nothing.stderr and not _wheel_gets(farm)


def test_uv_installs_the_files_minstall_fetched(farm_env) -> None:  # noqa: F811
    farm, env, python = farm_env
    proc = minstall("uv", "--json", "pip", "install", "--python", python, "alpha", env=env)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    fetch = next(e for e in events if e["event"] == "fetch")
    assert fetch["fetched"] and len(fetch["files"]) == 4, fetch
    assert sum(1 for e in events if e["event"] == "fetch-progress") >= 1
    assert events[-1]["event"] == "result" and events[-1]["exit_code"] == 0
    assert not _wheel_gets(farm, "uv/"), "uv downloaded a wheel itself"
    assert {"alpha", "beta", "idna", "six"} <= _installed(python)


def test_no_fetch_and_the_setting_leave_the_downloads_to_the_installer(
    farm_env,  # noqa: F811
) -> None:
    farm, env, python = farm_env
    proc = pip_install(env, python, "six", opts=("--no-fetch",))
    assert proc.returncode == 0, proc.stderr
    assert "fetched" not in proc.stderr and _wheel_gets(farm, "pip/")
    for m in farm:
        m.reset_log()
    off = pip_install({**env, "MINSTALL_FETCH": "0"}, python, "idna")
    assert off.returncode == 0, off.stderr
    assert "fetched" not in off.stderr and _wheel_gets(farm, "pip/")
    bad = pip_install({**env, "MINSTALL_FETCH": "sometimes"}, python, "beta")
    assert bad.returncode == 78 and "MINSTALL_FETCH='sometimes' is not a yes or a no" in (
        bad.stderr
    )


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        # the page lies: pip's resolve fails there, and the next mirror resolves
        (Fault("html200", path="/pypi/simple/*"), "mirror first (pypi) failed: "),
        # a file is corrupt: whichever mirror's copy arrives first, the installed one is
        # right (tests/edges/test_fetch.py makes first the writer and sees it dropped)
        (Fault("corrupt", path="*/alpha-*.whl"), "fetched 4 files"),
        # a file stalls: another mirror's copy of the same span wins
        (Fault("stall", path="*/alpha-*.whl", hold_s=30), "fetched 4 files"),
    ],
    ids=["portal", "corrupt", "stall"],
)
def test_a_mirror_fault_is_worked_around_while_fetching(
    farm_env,  # noqa: F811
    fault: Fault,
    said: str,
) -> None:
    farm, env, python = farm_env
    assert minstall("bench", env=env).returncode == 0  # ranked before the fault
    farm["first"].set_faults(fault)
    proc = pip_install(env, python, "alpha")
    assert proc.returncode == 0, proc.stderr
    assert said in proc.stderr
    assert "Successfully installed alpha-1.1" in proc.stdout
    assert not _wheel_gets(farm, "pip/")


def test_a_direct_reference_is_left_to_pip_with_the_reason(farm_env) -> None:  # noqa: F811
    import httpx

    farm, env, python = farm_env
    page = httpx.get(
        farm["first"].simple_url + "/six/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    wheel = httpx.URL(str(page.url)).join(page.json()["files"][-1]["url"])
    proc = pip_install(env, python, f"six @ {wheel}")
    assert proc.returncode == 0, proc.stderr
    # pip takes the URL as typed: nothing of it goes through minstall's fetch
    assert "fetched" not in proc.stderr
    assert [r.path for r in _wheel_gets(farm, "pip/")] == [
        f"/pypi/packages/{wheel.path.rsplit('/', 1)[-1]}"
    ]


def test_pip_report_items_are_sorted_into_fetchable_direct_and_unfetchable() -> None:
    """pip 26.3's real report (../shared/recorded/pip/dry-run-report-file.json), with one
    item turned into a source distribution, one into a direct URL and one hash removed."""
    from farm.content import shared_dir

    from mirrorinstall.fetch.resolve import parse_report

    text = (shared_dir() / "recorded/pip/dry-run-report-file.json").read_text()
    report = json.loads(text.replace("{MIRROR}", "https://mirror.example"))
    assert [i["metadata"]["name"] for i in report["install"]] == ["alpha", "beta", "idna", "six"]
    clean = parse_report(json.dumps(report))
    assert [f.filename for f in clean.files] == [
        "alpha-1.0-py3-none-any.whl",
        "beta-1.0-py3-none-any.whl",
        "idna-3.20-py3-none-any.whl",
        "six-1.17.0-py2.py3-none-any.whl",
    ]
    assert not (clean.direct or clean.unfetchable or clean.sdists)
    alpha, beta, idna, _six = report["install"]
    alpha["download_info"]["url"] = "https://mirror.example/py/packages/alpha-1.0.tar.gz"
    beta["is_direct"] = True
    del idna["download_info"]["archive_info"]["hashes"]
    mixed = parse_report(json.dumps(report))
    assert mixed.sdists == ["alpha-1.0.tar.gz"] and mixed.direct == ["beta"]
    assert mixed.unfetchable == ["idna: the index gives no sha256 for idna-3.20-py3-none-any.whl"]


def test_uv_arguments_in_pips_words() -> None:
    from mirrorinstall.fetch.offline import uv_as_pip

    uv = uv_as_pip(
        [
            "--python",
            "/v/bin/python",
            "--default-index=https://m/simple",
            "--index",
            "https://x/simple",
            "--system",
            "--link-mode",
            "copy",
            "--reinstall",
            "torch",
        ]
    )
    assert uv.python == "/v/bin/python" and uv.system
    assert uv.pip_args == [
        "--index-url=https://m/simple",
        "--extra-index-url",
        "https://x/simple",
        "--force-reinstall",
        "torch",
    ]


def _on_a_terminal(argv: list[str], env: dict[str, str], timeout_s: float = 120) -> tuple[int, str]:
    """Run ``argv`` with a pseudo-terminal as its stdin, stdout and stderr, as a person runs
    it; return its exit code and everything it drew on the screen."""
    import fcntl
    import pty
    import select
    import struct
    import subprocess
    import termios
    import time

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env={**os.environ, **env}, close_fds=True
    )
    os.close(slave)
    screen = b""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            screen += data
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=30), screen.decode("utf-8", "replace")


def test_on_a_terminal_pips_own_bar_draws_the_transfer_as_it_arrives(farm_env) -> None:  # noqa: F811
    """The pty path end to end: pip downloads from the loopback index while minstall's
    multi-mirror fetch fills the file, so pip's own bar is redrawn as the bytes arrive; then
    minstall's summary. pip's lines name the mirror, never the loopback address."""
    from .test_cli import SCRIPT

    farm, env, python = farm_env
    assert minstall("bench", env=env).returncode == 0
    for m in farm:
        m.set_speed(bandwidth_bps=1e6, shared_bandwidth_bps=0.25e6)  # ~6 s in all
    env = {k: v for k, v in env.items() if k != "CI"}
    code, screen = _on_a_terminal(
        [str(SCRIPT), "pip", "--python", python, "install", "bigwheel"], env
    )
    assert code == 0, screen
    if os.environ.get("MINSTALL_TEST_WINDOWS_SIM"):
        # Windows gives the installer pipes, not a terminal: pip draws its bar once, at the
        # end, so minstall's own line says the progress, every 2 s
        before = screen.split("Successfully installed")[0]
        assert re.search(r"minstall: fetched [0-9.]+ of 4\.0 MiB", before), screen
    else:
        # pip's bar ("0.3/4.2 MB"), redrawn while the bytes flowed, not only once at the end
        shown = [float(v) for v in re.findall(r"(\d+\.\d)/4\.2 MB", screen)]
        assert shown and shown[-1] == 4.2 and any(0 < v < 4.2 for v in shown), screen
    assert f"Looking in indexes: {farm['first'].simple_url}" in screen, screen
    assert "127.0.0.1:" not in screen.replace(farm["first"].url, ""), screen
    assert "minstall: fetched 1 files (0 already in the store)" in screen
    assert "Successfully installed bigwheel-1.0" in screen


def test_a_file_name_from_a_server_that_is_not_a_plain_name_is_never_written() -> None:
    """An index or a conda plan naming a file `../../x` (or with a slash, a NUL, a leading
    dot) is refused before anything is written under the store, --dest or conda's cache."""
    import pytest as _pytest
    from farm.content import shared_dir

    from mirrorinstall.fetch.conda import parse_dry_run
    from mirrorinstall.fetch.jobs import plain_name
    from mirrorinstall.fetch.resolve import parse_report

    assert plain_name("torch-2.5.1-cp311-cp311-linux_x86_64.whl")
    for bad in ("..", "../x.whl", "a/b.whl", "a\\b.whl", ".hidden.whl", "x\x00.whl", ""):
        assert not plain_name(bad), bad
    # Windows' rules (Microsoft, "Naming Files, Paths, and Namespaces"): an NTFS stream, a
    # device, a trailing dot, a reserved character, a name too long for one path component
    for bad in ("x.whl:evil", "NUL.whl", "com1.tar.bz2", "LPT².conda", "x.whl.", 'a"b.whl',
                "a?.whl", "x" * 252 + ".whl"):  # fmt: skip
        assert not plain_name(bad), bad
    assert plain_name("numpy-2.1.0-cp311-cp311-win_amd64.whl") and plain_name("console-1.0.conda")
    report = json.loads(
        (shared_dir() / "recorded/pip/dry-run-report-file.json")
        .read_text()
        .replace("{MIRROR}", "https://mirror.example")
    )
    report["install"][0]["download_info"]["url"] = "https://mirror.example/..%2F..%2Fevil.whl"
    parsed = parse_report(json.dumps(report))
    assert [f.project for f in parsed.files] == ["beta", "idna", "six"]
    assert parsed.unfetchable == ["alpha: its file name is not a plain name ('../../evil.whl')"]
    plan = {
        "actions": {
            "FETCH": [
                {
                    "fn": "../evil.conda",
                    "url": "https://m/c/noarch/x.conda",
                    "sha256": "a" * 64,
                    "size": 1,
                }
            ]
        }
    }
    with _pytest.raises(ValueError, match="not a plain name"):
        parse_dry_run(json.dumps(plan))


def test_the_installers_own_dry_run_downloads_nothing(farm_env, tmp_path: Path) -> None:  # noqa: F811
    """Issue 20: `minstall pip install --dry-run ...` filled the store first; pip's own dry run
    reads metadata only, and so does the run through minstall (no wheel fetched by anyone)."""
    farm, env, python = farm_env
    for m in farm:
        m.reset_log()
    proc = pip_install(env, python, "--dry-run", "alpha", "bigwheel")
    assert proc.returncode == 0, proc.stderr
    assert "Would install" in proc.stdout
    fetched = [r.path for r in _wheel_gets(farm) if "+bench" not in r.user_agent]
    assert not fetched, "a wheel was downloaded for a dry run"  # the bench's probes aside
    store = Path(env["MINSTALL_CACHE_DIR"]) / "store" / "sha256"
    assert not list(store.glob("*/*"))


def test_a_private_index_is_never_asked_about_on_public_mirrors(make_farm, tmp_path) -> None:
    """Issue 20: a file pip resolved on an index the catalog does not know (a company's) is
    fetched from there alone; its project names were looked up on every public mirror."""
    import re

    from farm import MirrorSpec

    from .test_cli import farm_env as env_for
    from .test_cli import pip_target

    farm = make_farm(MirrorSpec("first"), MirrorSpec("second"), MirrorSpec("private", conda=()))
    blocks = re.split(r"(?m)^(?=\[mirror\.)", farm.catalog_toml())
    catalog = tmp_path / "public.toml"
    catalog.write_text("".join(b for b in blocks if not b.startswith("[mirror.private")))
    python, pip_env = pip_target(tmp_path)
    env = {**env_for(farm, tmp_path, **pip_env), "MINSTALL_CATALOG": str(catalog)}
    proc = minstall(
        "pip",
        "--python",
        python,
        "install",
        "--index-url",
        farm["private"].simple_url,
        "alpha",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Successfully installed alpha-1.1" in proc.stdout
    for public in ("first", "second"):
        asked = [q.path for q in farm[public].requests if re.search(r"/(alpha|beta)[/-]", q.path)]
        assert asked == [], f"{public} was asked about the private index's projects: {asked}"
    assert any(q.path.endswith("alpha-1.1-py3-none-any.whl") for q in farm["private"].requests)


def test_alternates_are_found_on_html_pages_too(make_farm) -> None:
    """Issue 20: most mirrors (TUNA) serve PEP 503 HTML only, with #sha256= fragments; the
    files a page lists are read from it as from a PEP 691 JSON page."""
    import httpx
    from farm import MirrorSpec

    from mirrorinstall.fetch.resolve import page_copies

    html_only = make_farm(MirrorSpec("h", conda=(), pages="html"))["h"]
    both = make_farm(MirrorSpec("j", conda=()))["j"]
    with httpx.Client(headers={"Accept": "application/vnd.pypi.simple.v1+json"}) as client:
        from_html = page_copies(client, html_only.simple_url, "alpha")
        from_json = page_copies(client, both.simple_url, "alpha")
    assert from_html and {(f.filename, f.sha256) for f in from_html} == {
        (f.filename, f.sha256) for f in from_json
    }
    assert all(f.url.startswith(html_only.url) for f in from_html)


def test_a_wrong_hash_in_the_requirements_is_the_users_error_said_once(
    farm_env,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Issue 20: the file the loopback index hands over matched the index's sha256, so pip's
    hash mismatch is the requirement's hash: no "corrupt copy", no retry on every mirror."""
    _farm, env, python = farm_env
    req = tmp_path / "req.txt"
    req.write_text("six==1.16.0 --hash=sha256:" + "0" * 64 + "\n")
    proc = pip_install(env, python, "-r", str(req))
    assert proc.returncode != 0
    assert "not the --hash given for it" in proc.stderr, proc.stderr
    assert "fallback" not in proc.stderr and "attempt 2/" not in proc.stderr, proc.stderr
    assert "corrupt" not in proc.stderr
