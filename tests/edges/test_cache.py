"""The ranking cache on a real disk: fresh, stale, corrupt, and two processes writing at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mirrorinstall.core.cache import load_report, ranking_path, save_report
from mirrorinstall.core.errors import CacheError


def report(created: float, tag: str = "a", rows: int = 1) -> dict:
    return {
        "schema": 1,
        "created_at_s": created,
        "tag": tag,
        "results": [{"mirror": f"m{i}", "pad": "x" * 2000} for i in range(rows)],
    }


def test_fresh_then_stale(tmp_path: Path) -> None:
    path = ranking_path(tmp_path, "net1")
    save_report(path, report(1000.0))
    got, why = load_report(path, now_s=1000.0 + 60, ttl_s=3600)
    assert got["tag"] == "a" and why == "cached 1 min ago"
    got, why = load_report(path, now_s=1000.0 + 7 * 3600, ttl_s=6 * 3600)
    assert got is None and why == "cached ranking is 7.0 h old (TTL 6 h)"
    assert load_report(ranking_path(tmp_path, "other"), now_s=0, ttl_s=1)[0] is None


@pytest.mark.parametrize("content", ["", "{not json", '{"schema": 1}', "[]", "\x00\x01"])
def test_corrupt_file_is_ignored_and_replaced(tmp_path: Path, content: str) -> None:
    path = ranking_path(tmp_path, "net1")
    path.parent.mkdir(parents=True)
    path.write_text(content)
    got, why = load_report(path, now_s=time.time(), ttl_s=3600)
    assert got is None and "corrupt" in why
    save_report(path, report(time.time()))
    assert load_report(path, now_s=time.time(), ttl_s=3600)[0] is not None


def test_unwritable_cache_dir_is_a_cache_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(CacheError) as info:
        save_report(ranking_path(blocker, "net"), report(1.0))
    assert "cannot write the ranking cache" in info.value.message and info.value.exit_code == 73


def test_two_processes_writing_at_once_leave_one_whole_report(tmp_path: Path) -> None:
    """Two writers save big reports in a loop while this process reads: every read is a
    complete report from one writer, and no temporary file is left behind."""
    path = ranking_path(tmp_path, "net")
    writer = textwrap.dedent(f"""
        import sys, time
        from mirrorinstall.core.cache import save_report
        tag = sys.argv[1]
        for i in range(150):
            save_report(__import__("pathlib").Path({str(path)!r}),
                        {{"schema": 1, "created_at_s": time.time(), "tag": tag, "i": i,
                          "results": [{{"pad": tag * 4000}} for _ in range(40)]}})
    """)
    procs = [subprocess.Popen([sys.executable, "-c", writer, tag]) for tag in ("A", "B")]
    seen: set[str] = set()
    reads = 0
    while any(p.poll() is None for p in procs):
        if path.exists():
            data = json.loads(path.read_text())  # never a half-written file
            assert len(data["results"]) == 40 and data["results"][0]["pad"] == data["tag"] * 4000
            seen.add(data["tag"])
            reads += 1
    assert all(p.wait() == 0 for p in procs)
    final = json.loads(path.read_text())
    assert final["i"] == 149 and reads > 0
    assert [p.name for p in path.parent.iterdir()] == [path.name], "no temp files left"
    assert os.stat(path).st_size > 100_000


def test_odd_entries_in_the_partial_area_are_not_a_crash(tmp_path) -> None:
    """Issue 21: a dangling link or a folder among the partial downloads crashed `cache info`
    (exit 70); they are not counted, and `cache clean` still runs."""
    partial = tmp_path / "store" / "partial"
    partial.mkdir(parents=True)
    if hasattr(os, "symlink"):
        os.symlink(tmp_path / "gone", partial / "dangling.part")
    (partial / "folder.part").mkdir()
    (partial / "real.part").write_bytes(b"x" * 10)
    env = {**os.environ, "MINSTALL_CACHE_DIR": str(tmp_path)}
    script = str(Path(sys.executable).parent / "minstall")
    info = subprocess.run([script, "cache", "info", "--json"], env=env, capture_output=True)
    assert info.returncode == 0, info.stderr
    shown = json.loads(info.stdout)
    assert (shown["partial_files"], shown["partial_bytes"]) == (1, 10)
    clean = subprocess.run([script, "cache", "clean"], env=env, capture_output=True)
    assert clean.returncode == 0, clean.stderr


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_sources_that_never_end_are_refused_not_read(tmp_path) -> None:
    """Issue 21: `--catalog /dev/full` and a cached ranking linked to /dev/zero were read
    until memory ran out; each is refused as not a regular file, at once."""
    env = {**os.environ, "MINSTALL_CACHE_DIR": str(tmp_path), "MINSTALL_NETWORK_ID": "t"}
    script = str(Path(sys.executable).parent / "minstall")
    started = time.monotonic()
    bad = subprocess.run(
        [script, "--catalog", "/dev/full", "mirrors"], env=env, capture_output=True, text=True
    )
    assert bad.returncode != 0 and "not a regular file" in bad.stderr, bad.stderr
    (tmp_path / "rankings").mkdir()
    (tmp_path / "rankings" / "t.json").symlink_to("/dev/zero")
    report, why = load_report(tmp_path / "rankings" / "t.json", now_s=time.time(), ttl_s=60)
    assert report is None and "not a regular file" in why
    assert time.monotonic() - started < 30
