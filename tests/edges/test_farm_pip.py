"""Each farm fault, seen by a real pip process, fails the way real mirrors make pip fail.

pip runs hermetic (``PIP_CONFIG_FILE=/dev/null``, no ``PIP_FIND_LINKS``, no cache) into a
fresh venv each time. The expected lines are the key lines of the real transcripts in
``../shared/recorded/pip`` (pip 26.3 against a faulty local mirror); pip's ``--log`` file
is where pip names why it skipped a page, as the recordings' README explains.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from farm import Fault, MirrorSpec

QUICK = ("--timeout", "2", "--retries", "0")
NOT_FOUND = "Could not find a version that satisfies the requirement alpha (from versions: none)"


def test_install_ok_from_the_farm(make_farm, run_pip) -> None:
    """As recorded in install-ok: alpha and its dependencies, real wheels among them."""
    m = make_farm(MirrorSpec("m"))["m"]
    r = run_pip("-i", m.simple_url, "alpha")
    assert r.returncode == 0, r.output
    assert "Successfully installed alpha-1.1 beta-1.0 idna-3.7 six-1.16.0" in r.stdout
    assert any(q.path.endswith(".whl.metadata") for q in m.requests), "PEP 658 metadata used"


def test_refuse(make_farm, run_pip) -> None:
    m = make_farm(MirrorSpec("m", faults=[Fault("refuse")]))["m"]
    r = run_pip("-i", m.simple_url, *QUICK, "alpha")
    assert r.returncode == 1
    assert NOT_FOUND in r.stderr
    assert re.search(
        rf"Could not fetch URL {re.escape(m.simple_url)}/alpha/: connection error: "
        r".*Connection refused.* - skipping",
        r.log,
    )


def test_hang_is_a_read_timeout(make_farm, run_pip) -> None:
    m = make_farm(MirrorSpec("m", faults=[Fault("hang", hold_s=20)]))["m"]
    r = run_pip("-i", m.simple_url, *QUICK, "alpha")
    assert r.returncode == 1 and NOT_FOUND in r.stderr
    assert (
        f"Could not fetch URL {m.simple_url}/alpha/: 127.0.0.1 didn't respond within 2.0 "
        "seconds - skipping" in r.log
    )


def test_html200_portal_page(make_farm, run_pip) -> None:
    m = make_farm(MirrorSpec("m", faults=[Fault("html200", path="/pypi/*")]))["m"]
    r = run_pip("-i", m.simple_url, *QUICK, "alpha")
    assert r.returncode == 1 and NOT_FOUND in r.stderr
    assert f"Skipping link: not a file: {m.url}/portal-login?continue=1" in r.log


def test_forbidden403_waf_page(make_farm, run_pip) -> None:
    m = make_farm(MirrorSpec("m", faults=[Fault("forbidden403", user_agent=r"^pip/")]))["m"]
    r = run_pip("-i", m.simple_url, *QUICK, "alpha")
    assert r.returncode == 1 and NOT_FOUND in r.stderr
    assert (
        f"Could not fetch URL {m.simple_url}/alpha/: 403 Client Error: Forbidden for url: "
        f"{m.simple_url}/alpha/ - skipping"
    ) in r.log


def test_out_of_sync_wheel_404(make_farm, run_pip) -> None:
    m = make_farm(MirrorSpec("m", faults=[Fault("out-of-sync", path="*/alpha-1.1-*.whl")]))["m"]
    r = run_pip("-i", m.simple_url, *QUICK, "alpha")
    assert r.returncode == 1
    assert (
        f"ERROR: HTTP error 404 while getting {m.url}/pypi/packages/alpha-1.1-py3-none-any.whl"
        in r.stderr
    )


def test_stale_index_lacks_the_newest_release(make_farm, run_pip) -> None:
    m = make_farm(MirrorSpec("m", faults=[Fault("stale")]))["m"]
    r = run_pip("-i", m.simple_url, *QUICK, "alpha==1.1")
    assert r.returncode == 1
    assert (
        "Could not find a version that satisfies the requirement alpha==1.1 "
        "(from versions: 1.0)" in r.stderr
    )


def test_corrupt_wheel_hash_mismatch(make_farm, run_pip) -> None:
    m = make_farm(MirrorSpec("m", faults=[Fault("corrupt", path="*/alpha-*.whl")]))["m"]
    r = run_pip("-i", m.simple_url, *QUICK, "alpha")
    assert r.returncode == 1
    assert "THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE" in r.stderr


def test_truncate(make_farm, run_pip) -> None:
    m = make_farm(MirrorSpec("m", faults=[Fault("truncate", path="/pypi/simple/*")]))["m"]
    r = run_pip("-i", m.simple_url, *QUICK, "alpha")
    assert r.returncode == 1
    assert re.search(
        r"Connection broken: IncompleteRead\(\d+ bytes read, \d+ more expected\)", r.stderr
    )


def test_redirect_back_to_upstream(make_farm, run_pip) -> None:
    farm = make_farm(MirrorSpec("upstream", upstream=True), MirrorSpec("m"))
    farm["m"].set_faults(Fault("redirect", target=farm["upstream"].url))
    r = run_pip("-i", farm["m"].simple_url, *QUICK, "alpha")
    assert r.returncode == 0, r.output
    assert {q.status for q in farm["m"].requests} == {302}
    assert any(q.path.endswith("alpha-1.1-py3-none-any.whl") for q in farm["upstream"].requests)


def test_stall_mid_download(make_farm, run_pip) -> None:
    m = make_farm(MirrorSpec("m", faults=[Fault("stall", path="*/bigwheel-*.whl", hold_s=20)]))["m"]
    r = run_pip("-i", m.simple_url, *QUICK, "--resume-retries", "0", "bigwheel")
    assert r.returncode == 1
    assert "WARNING: Connection interrupted while downloading." in r.stderr
    assert "Download failed because not enough bytes were received" in r.stderr
    stalled = [q for q in m.requests if q.fault == "stall"]
    assert stalled and stalled[0].status == 200 and stalled[0].bytes_sent == 1024


def test_error500(make_farm, run_pip) -> None:
    m = make_farm(MirrorSpec("m", faults=[Fault("error500", path="/pypi/simple/*")]))["m"]
    r = run_pip("-i", m.simple_url, *QUICK, "alpha")
    assert r.returncode == 1 and NOT_FOUND in r.stderr
    assert f"Could not fetch URL {m.simple_url}/alpha/" in r.log
    assert "too many 500 error responses" in r.log


@pytest.mark.parametrize("layout", ["index", "find-links"])
def test_pytorch_wheels_install_from_both_layouts(make_farm, run_pip, layout) -> None:
    """torch+cu121 and torchvision (which pins torch) from the download.pytorch.org layout
    (--index-url) and from Aliyun's flat listing (--find-links), PyPI mirror for the rest."""
    m = make_farm(MirrorSpec("m"))["m"]
    where = (
        ["--index-url", f"{m.url}/whl/cu121"]
        if layout == "index"
        else ["-i", m.simple_url, "-f", f"{m.url}/pytorch-wheels/cu121/"]
    )
    r = run_pip(*where, *QUICK, "torch==2.5.1+cu121", "torchvision")
    assert r.returncode == 0, r.output
    assert "Successfully installed torch-2.5.1+cu121 torchvision-0.20.1+cu121" in r.stdout


def test_the_resolver_pip_floor_is_where_dry_run_stops_downloading_wheels(
    make_farm, tmp_path
) -> None:
    """Why minstall declares pip >= RESOLVER_PIP (issue 20): it resolves with ``pip install
    --dry-run --report``. The pip a fresh venv bundles (ensurepip: 23.2.1 with Python 3.11, what
    the README's install command starts from) downloads every wheel doing that, PEP 658
    metadata or not; the pip the declared floor brings reads the metadata alone."""
    import os
    import subprocess
    import sys
    import venv

    from packaging.version import Version

    from mirrorinstall.run.fetching import RESOLVER_PIP

    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert f'"pip>={RESOLVER_PIP}"' in pyproject  # the floor is declared, not just checked
    m = make_farm(MirrorSpec("m", conda=()))["m"]
    bundled = tmp_path / "bundled"
    venv.EnvBuilder(with_pip=True).create(bundled)  # ensurepip: offline, the bundled pip
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    wheels = {}
    for name, python in (("bundled", str(bundled / "bin" / "python")), ("ours", sys.executable)):
        version = subprocess.run(
            [python, "-m", "pip", "--version"], capture_output=True, text=True, env=env
        ).stdout.split()[1]
        m.reset_log()
        proc = subprocess.run(
            [
                python,
                "-m",
                "pip",
                "install",
                "--dry-run",
                "--report",
                str(tmp_path / "r.json"),
                "--no-cache-dir",
                "--disable-pip-version-check",
                "-i",
                m.simple_url,
                "alpha",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        wheels[name] = (Version(version), [q.path for q in m.requests if q.path.endswith(".whl")])
    if wheels["bundled"][0] < Version(RESOLVER_PIP):
        assert wheels["bundled"][1], "an old pip's dry run downloads the wheels"
    assert wheels["ours"][0] >= Version(RESOLVER_PIP) and wheels["ours"][1] == []
