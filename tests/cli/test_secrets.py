"""Secrets (issue 11): a mirror's token reaches only that mirror's origin, and no password
or token appears in what minstall prints. Real farm mirrors on 127.0.0.1 log every request's
Authorization header."""

from __future__ import annotations

import base64
from pathlib import Path

from farm import Fault, MirrorSpec

from .test_cli import farm_env as env_for
from .test_cli import minstall, pip_target

CANARY = "canary-token-7f3a9"


def test_a_token_goes_only_to_its_own_mirror_not_to_hosts_its_pages_link(
    make_farm, tmp_path: Path
) -> None:
    """a's index pages link their files on b (as a CDN would); before, b got
    ``Authorization: Bearer <a's token>`` on every file the bench fetched from it."""
    farm = make_farm(MirrorSpec("a"), MirrorSpec("b"))
    farm["a"].set_faults(Fault("cross-origin-links", path="/pypi/simple/*", target=farm["b"].url))
    catalog = farm.write_catalog(tmp_path / "farm.toml", token_env={"a": "A_TOKEN"})
    env = {
        "MINSTALL_CATALOG": str(catalog),
        "MINSTALL_CACHE_DIR": str(tmp_path / "cache"),
        "MINSTALL_NETWORK_ID": "test",
        "A_TOKEN": CANARY,
    }
    proc = minstall("bench", "--kind", "pypi", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    to_a = [r for r in farm["a"].requests if r.authorization]
    basic = "Basic " + base64.b64encode(f"__token__:{CANARY}".encode()).decode()
    assert to_a and all(r.authorization == basic for r in to_a)
    files_on_b = [r for r in farm["b"].requests if "/pypi/packages/" in r.path]
    assert files_on_b, "the bench fetched none of a's files from b: the test shows nothing"
    assert not [r for r in farm["b"].requests if r.authorization], "a's token reached b"
    assert CANARY not in proc.stdout + proc.stderr


def test_passwords_in_index_urls_are_masked_in_the_plan_and_json(make_farm, tmp_path) -> None:
    """pip prints ``alice:****``; minstall printed the password in its plan line and in
    ``--json``'s argv."""
    farm = make_farm(MirrorSpec("a"))
    env = env_for(farm, tmp_path)
    url = "http://alice:S3cretPW@127.0.0.1:9/simple"
    for args in (
        ("rewrite", "--", "pip", "install", "six", "--extra-index-url", url),
        ("rewrite", "--json", "--", "pip", "install", "six", "--extra-index-url", url),
        ("pip", "install", "--dry-run", "six", "--extra-index-url", url),
        ("--debug", "rewrite", "--", "conda", "install", "-c", "https://[::1", "zlib", url),
    ):
        proc = minstall(*args, env=env)
        assert "S3cretPW" not in proc.stdout + proc.stderr, args
        if args[0] == "rewrite" and "conda" not in args:
            assert "alice:****@127.0.0.1:9" in proc.stdout, args


def test_a_servers_escape_sequences_never_reach_the_terminal(make_farm, tmp_path) -> None:
    """A 403 page whose <title> clears the screen and retitles the window: its title used to
    be printed raw in the bench's reason."""
    farm = make_farm(MirrorSpec("a"), MirrorSpec("evil"))
    page = b"<html><head><title>\x1b]0;pwned\x07\x1b[2J\x1b[31mBlocked</title></head></html>"
    farm["evil"].set_faults(Fault("forbidden403", page=page))
    env = env_for(farm, tmp_path)
    proc = minstall("bench", "--kind", "pypi", env=env)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    assert "Blocked" in out and "\x1b" not in out and "\x07" not in out


def test_a_canary_token_and_password_never_appear_in_output_or_the_cache(
    make_farm, tmp_path: Path
) -> None:
    """The token through ``token_env``, the password on the command line, in PIP_INDEX_URL
    and in a requirements file; bench, rewrite, --json, a dry-run install, and --debug on a
    failing command. Left out on purpose: the rewritten copy of the requirements file, which
    must hold the password because pip reads it there (README, Security)."""
    farm = make_farm(MirrorSpec("a"), MirrorSpec("b"))
    catalog = farm.write_catalog(tmp_path / "farm.toml", token_env={"a": "A_TOKEN"})
    password = "pw-canary-4417"
    env = {
        "MINSTALL_CATALOG": str(catalog),
        "MINSTALL_CACHE_DIR": str(tmp_path / "cache"),
        "MINSTALL_NETWORK_ID": "test",
        "A_TOKEN": CANARY,
        "PIP_INDEX_URL": f"http://bob:{password}@127.0.0.1:9/simple",
    }
    req = tmp_path / "req.txt"
    req.write_text(
        "--index-url https://pypi.org/simple\n"  # replaced by a mirror: a copy is written
        f"--extra-index-url http://carol:{password}@127.0.0.1:9/simple\nsix\n"
    )
    url = f"http://alice:{password}@127.0.0.1:9/simple"
    runs = [
        ("bench", "--json"),
        ("rewrite", "--", "pip", "install", "-r", str(req), "--extra-index-url", url),
        ("rewrite", "--json", "--", "pip", "install", "-r", str(req), "--index-url", url),
        ("pip", "install", "--dry-run", "-r", str(req), "--extra-index-url", url),
        ("--debug", "rewrite", "--", "pip", "install", "torch>=", "--index-url", url),
    ]
    for args in runs:
        proc = minstall(*args, env=env)
        out = proc.stdout + proc.stderr
        assert CANARY not in out and password not in out, (args, out[-2000:])
    cache = tmp_path / "cache"
    for path in cache.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert CANARY.encode() not in data and password.encode() not in data, path
    assert not [r for r in farm["b"].requests if r.authorization]


def _private_farm(make_farm, tmp_path: Path):
    """``private`` answers 401 without its token (as Basic, user __token__); ``public`` is a
    second mirror that must never see that token. A venv to install into."""
    farm = make_farm(MirrorSpec("private"), MirrorSpec("public", latency_s=0.3))
    want = "Basic " + base64.b64encode(f"__token__:{CANARY}".encode()).decode()
    farm["private"].set_faults(Fault("auth-required", auth=want))
    python, pip_env = pip_target(tmp_path)
    env = env_for(farm, tmp_path, **pip_env, PRIVATE_TOKEN=CANARY)
    env["MINSTALL_CATALOG"] = str(
        farm.write_catalog(tmp_path / "farm.toml", token_env={"private": "PRIVATE_TOKEN"})
    )
    return farm, env, python, want


def test_a_mirrors_token_reaches_pip_and_the_fetcher_and_nobody_else(make_farm, tmp_path) -> None:
    """Before: only the bench had the token; pip got 401, asked "User for host:" on a closed
    stdin and minstall exited 2 without falling back."""
    farm, env, python, want = _private_farm(make_farm, tmp_path)
    for opts in ((), ("--no-fetch",)):
        proc = minstall(
            "pip",
            "--mirror",
            "private",
            *opts,
            "--python",
            python,
            "install",
            "--force-reinstall",
            "six",
            env=env,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "Successfully installed six" in proc.stdout
        assert CANARY not in proc.stdout + proc.stderr
    fetched = minstall(
        "fetch", "--mirror", "private", "--dest", str(tmp_path / "dest"), "--", "pip", "install",
        "six", env=env,
    )  # fmt: skip
    assert fetched.returncode == 0, fetched.stderr[-3000:]
    assert [p.name for p in (tmp_path / "dest").iterdir()] == ["six-1.16.0-py2.py3-none-any.whl"]
    uv = ("uv", "--mirror", "private", "pip", "install", "--python", python, "--reinstall", "six")
    proc = minstall(*uv, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert CANARY not in proc.stdout + proc.stderr
    files = [
        r for r in farm["private"].requests if r.path.endswith(".whl") and r.status in (200, 206)
    ]
    assert files and all(r.authorization == want for r in files)
    assert not [r for r in farm["public"].requests if r.authorization]


def test_pip_sends_the_token_to_its_mirror_not_to_the_host_its_pages_link(
    make_farm, tmp_path
) -> None:
    """The private mirror's pages link their files on the public one (as a CDN would): pip
    fetches them there without the token, which only the private origin gets."""
    farm, env, python, want = _private_farm(make_farm, tmp_path)
    farm["private"].set_faults(  # one fault per request: this one, not auth-required
        Fault("cross-origin-links", path="/pypi/simple/*", target=farm["public"].url)
    )
    proc = minstall(
        "pip", "--mirror", "private", "--no-fetch", "--python", python, "install", "six", env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert any(r.path.endswith(".whl") for r in farm["public"].requests)
    assert not [r for r in farm["public"].requests if r.authorization]
    pages = [r for r in farm["private"].requests if r.user_agent.startswith("pip/")]
    assert pages and {r.authorization for r in pages} == {want}


def test_a_password_in_a_requirements_file_never_lands_in_minstalls_copy(
    make_farm, tmp_path
) -> None:
    """The copy minstall writes of a requirements file (its official index replaced by a
    mirror) held the file's password; now it holds ``${MINSTALL_SECRET_1}`` and pip gets the
    value in its environment, so the private index still authenticates."""
    farm = make_farm(MirrorSpec("public"), MirrorSpec("private", latency_s=0.3))
    password = "file-pw-8832"
    want = "Basic " + base64.b64encode(f"carol:{password}".encode()).decode()
    farm["private"].set_faults(Fault("auth-required", auth=want))
    python, pip_env = pip_target(tmp_path)
    env = env_for(farm, tmp_path, **pip_env)
    private = farm["private"].simple_url.replace("://", f"://carol:{password}@")
    req = tmp_path / "req.txt"
    req.write_text(f"--index-url https://pypi.org/simple\n--extra-index-url {private}\nsix\n")
    for opts in (("--no-fetch",), ()):
        proc = minstall("pip", *opts, "--python", python, "install", "--force-reinstall",
                        "-r", str(req), env=env)  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert password not in proc.stdout + proc.stderr
    uv = ("uv", "pip", "install", "--python", python, "--reinstall", "-r", str(req))
    proc = minstall(*uv, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert password not in proc.stdout + proc.stderr
    copies = list((tmp_path / "cache" / "rewritten").iterdir())
    assert copies and all(password not in c.read_text() for c in copies)
    assert "${MINSTALL_SECRET_1}" in copies[0].read_text()
    assert any(r.authorization == want for r in farm["private"].requests)
    assert not [r for r in farm["public"].requests if r.authorization]
