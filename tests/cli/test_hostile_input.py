"""Input that crashed minstall with "internal error" (exit 70) or reached places it must not
(issue 11): realistic requirement forms under --cuda auto, malformed CUDA overrides, a URL
no parser reads, a file name too long, a network id that is a path, broken cache files. Each
runs the console script against a farm mirror (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from farm import Fault, MirrorSpec

from .test_cli import farm_env as env_for
from .test_cli import minstall, pip_target

INTERNAL = 70
TORCH_AUTO = ("rewrite", "--cuda", "auto", "--", "pip", "install", "torch")


@pytest.fixture
def env(make_farm, tmp_path: Path) -> dict[str, str]:
    farm = make_farm(MirrorSpec("a"))
    return env_for(farm, tmp_path, MINSTALL_CUDA_DRIVER="535.104.05")


def test_torch_with_extras_keeps_them_and_gets_a_cuda_build(env) -> None:
    proc = minstall(
        "rewrite", "--cuda", "auto", "--", "pip", "install", "torch[opt-einsum]", env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert "torch[opt-einsum]==" in proc.stdout and "+cu12" in proc.stdout


def test_torch_by_url_keeps_its_build_and_goes_to_the_same_file_on_a_mirror(env) -> None:
    """--cuda auto does not choose for a file named by URL (the user's exact choice); the file
    itself comes from a mirror that serves the same path (issue 19)."""
    name = "torch-2.5.1%2Bcu121-cp311-cp311-linux_x86_64.whl"
    url = f"https://download.pytorch.org/whl/cu121/{name}"
    proc = minstall("rewrite", "--cuda", "auto", "--", "pip", "install", f"torch @ {url}", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "leaves it as written" in proc.stderr and "download.pytorch.org" not in proc.stdout
    assert re.search(rf"torch @ http://127\.0\.0\.1:\d+/whl/cu121/{re.escape(name)}", proc.stdout)


def test_an_unreadable_requirement_is_a_usage_error(env) -> None:
    proc = minstall("rewrite", "--cuda", "auto", "--", "pip", "install", "torch>=", env=env)
    assert proc.returncode == 64, proc.stderr
    assert "'torch>='" in proc.stderr and "PEP 508" in proc.stderr


@pytest.mark.parametrize("value", ["abc", "12.1abc", "-1", "nan", "12."])
def test_a_malformed_conda_override_cuda_is_named_not_a_crash(env, value) -> None:
    env = {k: v for k, v in env.items() if k != "MINSTALL_CUDA_DRIVER"}
    proc = minstall(*TORCH_AUTO, env={**env, "CONDA_OVERRIDE_CUDA": value})
    assert proc.returncode != INTERNAL, proc.stderr
    assert f"CONDA_OVERRIDE_CUDA={value!r} is not a CUDA version" in proc.stdout + proc.stderr


def test_cuda_settings_in_other_scripts_digits_are_refused_not_a_crash(env) -> None:
    arabic_indic = "\u0665\u0663\u0665.\u0661\u0660\u0664.\u0660\u0665"  # 535.104.05
    proc = minstall(*TORCH_AUTO, env={**env, "MINSTALL_CUDA_DRIVER": arabic_indic})
    # a setting that is no driver version is exit 78, not a plan for no driver (issue 19)
    assert proc.returncode == 78 and "is not a driver version" in proc.stderr, proc.stderr
    proc = minstall(*TORCH_AUTO, env={**env, "MINSTALL_CUDA_ARCH": "\u0668.\u0666"})
    assert proc.returncode == 78 and "MINSTALL_CUDA_ARCH" in proc.stderr, proc.stderr


def test_a_channel_url_no_parser_reads_is_a_usage_error(env) -> None:
    proc = minstall("rewrite", "--", "conda", "install", "-c", "https://[::1", "zlib", env=env)
    assert proc.returncode == 64 and "https://[::1" in proc.stderr, proc.stderr


def test_a_requirements_file_name_too_long_is_a_usage_error(env) -> None:
    proc = minstall("rewrite", "--", "pip", "install", "-r", "x" * 5000, env=env)
    assert proc.returncode == 64 and "cannot read" in proc.stderr, proc.stderr
    assert len(proc.stderr) < 1000  # the name is shortened, not printed 5,000 times


def test_a_network_id_that_is_a_path_stays_inside_the_cache_dir(env, tmp_path: Path) -> None:
    cache = tmp_path / "deep" / "cache"
    proc = minstall(
        "bench",
        "--kind",
        "pypi",
        env={**env, "MINSTALL_CACHE_DIR": str(cache), "MINSTALL_NETWORK_ID": "../../escaped"},
    )
    assert proc.returncode == 0, proc.stderr
    assert not list(tmp_path.rglob("escaped*"))
    assert len(list((cache / "rankings").glob("*.json"))) == 1


@pytest.mark.parametrize(
    "broken",
    [
        b"\xff\xfe not utf-8",
        b'{"schema": 1, "created_at_s": 1e300, "results": 5}',
        json.dumps({"results": [{"mirror": "a"}]}).encode(),
        b"[" * 100_000 + b"]" * 100_000,
        b'{"created_at_s": NaN}',
    ],
    ids=["not-utf8", "results-5", "row-without-kind", "deep-nesting", "nan"],
)
def test_a_broken_cache_file_is_measured_again_not_fatal(env, tmp_path: Path, broken) -> None:
    assert minstall("bench", "--kind", "pypi", env=env).returncode == 0
    [cached] = (tmp_path / "cache" / "rankings").glob("*.json")
    report = json.loads(cached.read_text())
    # a fresh, well-formed report with one thing wrong
    if broken.startswith(b'{"schema"'):
        broken = json.dumps({**report, "results": 5}).encode()
    elif broken.startswith(b'{"results"'):
        rows = [{k: v for k, v in r.items() if k != "kind"} for r in report["results"]]
        broken = json.dumps({**report, "results": rows}).encode()
    cached.write_bytes(broken)
    proc = minstall("rewrite", "--", "pip", "install", "six", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "measuring again" in proc.stderr, proc.stderr


def test_a_mirror_whose_clock_says_2099_neither_ranks_first_nor_makes_others_stale(
    make_farm, tmp_path: Path
) -> None:
    """Before: the liar's Last-Modified made every healthy mirror "stale by 26,329 days"."""
    farm = make_farm(MirrorSpec("a"), MirrorSpec("b"), MirrorSpec("liar"))
    farm["liar"].set_faults(Fault("future-date"))
    proc = minstall("bench", "--json", env=env_for(farm, tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "Infinity" not in proc.stdout and "NaN" not in proc.stdout
    rows = json.loads(proc.stdout)["results"]
    assert rows and not [r for r in rows if r["fresh"] is False], [
        (r["mirror"], r["kind"], r["stale_reason"]) for r in rows if r["fresh"] is False
    ]
    assert all(r["last_modified_s"] is None for r in rows if r["mirror"] == "liar")
    assert any(
        "not a plausible date" in w for r in rows if r["mirror"] == "liar" for w in r["warnings"]
    )


@pytest.mark.parametrize(("word", "meant"), [("doctr", "doctor"), ("benhc", "bench")])
def test_a_mistyped_command_is_an_error_not_an_install(make_farm, tmp_path, word, meant) -> None:
    """``minstall doctr`` installed the OCR package doctr; ``minstall benhc`` whatever was
    published as benhc. Nothing may reach an index."""
    farm = make_farm(MirrorSpec("a"))
    proc = minstall(word, env=env_for(farm, tmp_path))
    assert proc.returncode == 64, proc.stderr
    assert f"did you mean '{meant}'" in proc.stderr and f"minstall install {word}" in proc.stderr
    assert not farm["a"].requests


def test_a_gzipping_mirror_is_read_a_bomb_and_an_endless_page_are_excluded(
    make_farm, tmp_path: Path
) -> None:
    """Before: the gzipping mirror was rejected ("HTML page with no links": the probe offered
    gzip and read the raw bytes); the bomb and the 50 GB page were accepted unchecked and
    ranked first, and pip then died reading them."""
    farm = make_farm(MirrorSpec("zipped"), MirrorSpec("bomb"), MirrorSpec("endless"))
    farm["zipped"].set_faults(Fault("gzip"))
    farm["bomb"].set_faults(Fault("gzip-bomb", path="/pypi/simple/*"))
    farm["endless"].set_faults(Fault("huge-length", path="/pypi/simple/*"))
    proc = minstall("bench", "--kind", "pypi", "--json", env=env_for(farm, tmp_path))
    assert proc.returncode == 0, proc.stderr
    rows = {r["mirror"]: r for r in json.loads(proc.stdout)["results"]}
    assert rows["zipped"]["ok"] and rows["zipped"]["rank"] == 1, rows["zipped"]["error"]
    for bad in ("bomb", "endless"):
        assert not rows[bad]["ok"] and "bigger than" in rows[bad]["error"], rows[bad]


@pytest.mark.parametrize(
    "fault",
    [
        Fault("gzip-bomb", path="/pypi/simple/*"),
        Fault("huge-length", path="/pypi/simple/*"),
        Fault("future-date"),
    ],
    ids=["gzip-bomb", "huge-length", "future-date"],
)
def test_an_install_goes_around_a_hostile_mirror(make_farm, tmp_path: Path, fault) -> None:
    """The hostile mirror is the fastest; before, the bomb and the endless page ranked first
    and pip died reading them (MemoryError at 3 GB, exit 2, no fallback)."""
    farm = make_farm(MirrorSpec("hostile"), MirrorSpec("good", latency_s=0.05))
    farm["hostile"].set_faults(fault)
    python, pip_env = pip_target(tmp_path)
    env = env_for(farm, tmp_path, **pip_env)
    proc = minstall("pip", "--python", python, "install", "six", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Successfully installed six" in proc.stdout
    if fault.mode != "future-date":  # a wrong clock is no reason to avoid a mirror
        assert "through good" in proc.stderr, proc.stderr[-2000:]


def test_an_nvidia_smi_printing_without_end_is_stopped_and_named(env, tmp_path: Path) -> None:
    """Issue 21: a child's output was held whole (nvidia-smi for its 10 s deadline, conda's
    dry run for 15 minutes): gigabytes. Now at most a bounded amount, and the reason shown."""
    import os
    import sys

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text(f"#!{sys.executable}\nimport sys\nwhile True: sys.stdout.write('x' * 65536)\n")
    smi.chmod(0o755)
    env = {k: v for k, v in env.items() if k != "MINSTALL_CUDA_DRIVER"}
    env["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    proc = minstall(*TORCH_AUTO, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "nvidia-smi printed more than 32 MiB and was stopped" in proc.stdout + proc.stderr
    assert "+cpu" in proc.stdout  # no driver known: the CPU build, with that reason
