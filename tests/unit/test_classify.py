"""Failure classification over the real transcripts in ../shared/recorded (pure).

Each expected decision is the one ../shared/recorded/README.md gives for that case
("retry other mirror", "fail now", "ambiguous: use --log/-vv"), with one change of ours:
conda's PackagesNotFoundInChannelsError is MISSING, "not in this mirror's copy": another
mirror of the channel is tried before it is called the request's fault (issue 8; a lagging
copy lacks the newest packages).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from farm.content import shared_dir

from mirrorinstall.run.classify import DECLINED, MIRROR, MISSING, OK, UNKNOWN, USER, classify

R = shared_dir() / "recorded"

CASES = [
    # client dir, case, tool, expected kind, log file (pip --log) or None
    ("conda", "create-ok", "conda", OK, None),
    ("conda", "conn-refused", "conda", MIRROR, None),
    ("conda", "conn-refused-json", "conda", MIRROR, None),
    ("conda", "channel-404", "conda", MIRROR, None),
    ("conda", "channel-404-json", "conda", MIRROR, None),
    ("conda", "repodata-html-200", "conda", MIRROR, None),
    ("conda", "repodata-html-200-json", "conda", MIRROR, None),
    ("conda", "portal-html-200", "conda", MIRROR, None),
    ("conda", "portal-html-200-json", "conda", MIRROR, None),
    ("conda", "pkg-not-found", "conda", MISSING, None),
    ("conda", "pkg-not-found-json", "conda", MISSING, None),
    ("conda", "pkg-file-404", "conda", MIRROR, None),
    ("conda", "pkg-file-404-json", "conda", MIRROR, None),
    ("conda", "pkg-hash-mismatch", "conda", MIRROR, None),
    ("conda", "pkg-hash-mismatch-json", "conda", MIRROR, None),
    ("conda", "read-timeout", "conda", MIRROR, None),
    ("conda", "read-timeout-json", "conda", MIRROR, None),
    ("conda", "unsatisfiable-pkgb9", "conda", MISSING, None),
    ("conda", "unsatisfiable-pkgb9-json", "conda", MISSING, None),
    ("conda", "unsatisfiable-conflict", "conda", USER, None),
    ("conda", "unsatisfiable-conflict-json", "conda", USER, None),
    ("conda", "unsatisfiable-missing-dep", "conda", MISSING, None),
    ("conda", "unsatisfiable-missing-dep-json", "conda", MISSING, None),
    ("pip", "install-ok", "pip", OK, None),
    ("pip", "conn-refused", "pip", MIRROR, None),
    ("pip", "conn-refused-vv", "pip", MIRROR, "stdout"),
    ("pip", "not-found", "pip", UNKNOWN, None),  # console alone is ambiguous
    ("pip", "not-found-vv", "pip", USER, "stdout"),
    ("pip", "forbidden-403", "pip", UNKNOWN, None),  # ambiguous without the log
    ("pip", "forbidden-403-vv", "pip", MIRROR, "stdout"),
    ("pip", "forbidden-403-logfile", "pip", MIRROR, "log"),
    ("pip", "portal-html-200", "pip", UNKNOWN, None),
    ("pip", "portal-html-200-vv", "pip", MIRROR, "stdout"),
    ("pip", "wheel-404", "pip", MIRROR, None),
    ("pip", "hash-mismatch", "pip", MIRROR, None),
    ("pip", "read-timeout", "pip", UNKNOWN, None),
    ("pip", "read-timeout-vv", "pip", MIRROR, "stdout"),
    ("pip", "read-timeout-logfile", "pip", MIRROR, "log"),
    ("pip", "read-timeout-retries1", "pip", MIRROR, None),
    ("pip23", "conn-refused", "pip", MIRROR, None),
    ("uv", "install-ok", "uv", OK, None),
    ("uv", "not-found", "uv", USER, None),
    ("uv", "conn-refused", "uv", MIRROR, None),
    ("uv", "forbidden-403", "uv", MIRROR, None),
    ("uv", "wheel-404", "uv", MIRROR, None),
    ("uv", "hash-mismatch", "uv", MIRROR, None),
    ("uv", "portal-html-200", "uv", MIRROR, None),
    ("uv", "read-timeout", "uv", MIRROR, None),
]


def _exit_code(meta: Path) -> int:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    return tomllib.loads(meta.read_text())["exit_code"]


@pytest.mark.parametrize(
    ("client", "case", "tool", "expected", "log"), CASES, ids=[f"{c[0]}/{c[1]}" for c in CASES]
)
def test_recorded_failures(client, case, tool, expected, log) -> None:
    base = R / client / case
    out = base.with_suffix(".stdout").read_text() + base.with_suffix(".stderr").read_text()
    log_text = ""
    if log == "stdout":
        log_text = base.with_suffix(".stdout").read_text()
    elif log == "log":
        log_text = base.with_suffix(".log").read_text()
    verdict = classify(tool, _exit_code(base.with_suffix(".meta.toml")), out, log_text)
    assert verdict.kind == expected, verdict


def test_every_recorded_failure_case_is_covered() -> None:
    covered = {(c[0], c[1]) for c in CASES}
    for meta in R.glob("*/*.meta.toml"):
        client, case = meta.parent.name, meta.name.removesuffix(".meta.toml")
        if _exit_code(meta) != 0:
            assert (client, case) in covered, f"{client}/{case} has no expected verdict here"


@pytest.mark.parametrize(
    ("client", "case", "named"),
    [
        ("conda", "pkg-file-404", "{MIRROR}/missingpkg/noarch/pkga-1.0-0.conda"),
        ("conda", "channel-404", "{MIRROR}/nochan"),
        ("conda", "conn-refused", "{MIRROR}/chan/linux-64/current_repodata.json"),
    ],
)
def test_a_mirror_fault_keeps_the_line_that_names_the_url(client, case, named) -> None:
    base = R / client / case
    out = base.with_suffix(".stdout").read_text() + base.with_suffix(".stderr").read_text()
    verdict = classify("conda", 1, out)
    assert verdict.retry and named in (verdict.evidence or ""), verdict


def test_no_at_condas_prompt_is_declined_not_done() -> None:
    """conda 26.7.1 answers 'n' with this text and exit status 0 (../shared/tools/conda)."""
    out = "Proceed ([y]/n)? n\n\n\nCondaSystemExit: Exiting.\n\n"
    verdict = classify("conda", 0, out)
    assert verdict.kind == DECLINED and not verdict.retry
    assert classify("conda", 0, "Executing transaction: done\n").kind == OK


def test_a_missing_virtual_package_is_the_machines_not_a_mirrors() -> None:
    """conda 26.7.1 (classic solver) asked for a CUDA build with CONDA_OVERRIDE_CUDA=11.8 says
    this (seen in tests/cli/test_gpu_real.py): no mirror can carry __cuda."""
    out = (
        "PackagesNotFoundInChannelsError: The following packages are not available from "
        "current channels:\n\n  - __cuda[version='>=12']\n\nCurrent channels:\n\n"
        "  - http://127.0.0.1:34617/conda/conda-forge/linux-64\n"
    )
    verdict = classify("conda", 1, out)
    assert verdict.kind == "user" and not verdict.retry
    assert "this machine lacks __cuda[version='>=12']" in verdict.reason


def test_a_cuda_build_needed_by_a_dependency_names_cuda_too() -> None:
    """conda 26.7.1 (classic solver), ``jax jaxlib=*=cuda*`` under CONDA_OVERRIDE_CUDA=11.8
    (seen in tests/cli/test_gpu_real.py): the final message names no package; only its
    progress lines name __cuda among the conflicting ones."""
    out = (
        "Found conflicts! Looking for incompatible packages.\n"
        "Examining conflict for jax __cuda jaxlib:  12%|#         | 1/8 [00:00<00:00]\r"
        "Examining conflict for jaxlib jax:  25%|##        | 2/8 [00:00<00:00]\n"
        "UnsatisfiableError: Conda could not find a compatible set of packages to satisfy "
        "the requested specifications.\n"
    )
    verdict = classify("conda", 1, out)
    assert verdict.kind == "user" and not verdict.retry
    assert "__cuda" in verdict.reason
    plain = classify("conda", 1, out.replace(" __cuda", ""))
    assert plain.kind == "user" and "__cuda" not in plain.reason


def test_an_sdist_only_project_under_only_binary_is_the_users_error() -> None:
    """Issue 20: pip's own words (pip/_internal/index/package_finder.py, LinkEvaluator:
    "No sources permitted for {project}", logged as "Skipping link: {reason}: {link}"); was
    read as a captive portal and retried on every mirror."""
    out = (
        "ERROR: Could not find a version that satisfies the requirement demo "
        "(from versions: none)\nERROR: No matching distribution found for demo\n"
    )
    log = (
        "Fetched page https://mirror.example/simple/demo/ as text/html\n"
        "Skipping link: No sources permitted for demo: "
        "https://mirror.example/packages/demo-1.0.tar.gz\n"
    )
    verdict = classify("pip", 1, out, log)
    assert verdict.kind == USER and "only source distributions" in verdict.reason


def test_a_hash_mismatch_on_a_verified_file_is_the_requirements_hash() -> None:
    from mirrorinstall.run.classify import wrong_hash_given

    good, wrong = "8" * 64, "0" * 64
    out = (
        "ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE. If you have "
        "updated the package versions, please update the hashes. Otherwise, examine the "
        "package contents carefully; someone may have tampered with them.\n"
        f"    six==1.16.0 from http://m/six-1.16.0-py2.py3-none-any.whl:\n"
        f"        Expected sha256 {wrong}\n             Got        {good}\n"
    )
    assert classify("pip", 1, out, "").kind == MIRROR  # alone, it reads as a corrupt copy
    verdict = wrong_hash_given(out, {good})
    assert verdict is not None and verdict.kind == USER
    assert wrong_hash_given(out, {"1" * 64}) is None  # a file not verified: the mirror's
