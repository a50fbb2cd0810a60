"""The parallel, ranged, verified, resumable downloader against the farm (real HTTP on
127.0.0.1): bytes from several mirrors, a mirror without Range, one that dies mid-file, one
that serves a corrupt copy, resume from a journal, and the store reused."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import httpx
import pytest
from farm import Fault, MirrorSpec

from mirrorinstall.fetch.spans import missing, split
from mirrorinstall.fetch.store import Store
from mirrorinstall.fetch.transfer import Fetcher, Job, Source

WHEEL = "/pypi/packages/bigwheel-1.0-py3-none-any.whl"
CHUNK = 256 * 1024


def _truth(farm) -> tuple[bytes, str]:
    """The file's bytes and sha256, read once from a healthy mirror."""
    body = httpx.get(farm["a"].url + WHEEL).content
    return body, hashlib.sha256(body).hexdigest()


def _job(farm, sha: str, *mirrors: str, size: int | None = None) -> Job:
    return Job(
        "bigwheel-1.0-py3-none-any.whl",
        sha,
        size,
        [Source(m, farm[m].url + WHEEL) for m in mirrors],
    )


@pytest.fixture
def farm(make_farm):
    return make_farm(
        MirrorSpec("a", bandwidth_bps=8e6),
        MirrorSpec("b", bandwidth_bps=8e6),
        MirrorSpec("c", bandwidth_bps=8e6),
    )


def test_spans() -> None:
    assert split(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert missing(10, [(0, 4), (8, 10)], 4) == [(4, 8)]
    assert missing(10, [], 4) == split(10, 4)


def test_one_file_comes_from_every_mirror_in_ranges(farm, tmp_path: Path) -> None:
    body, sha = _truth(farm)
    for m in farm:
        m.reset_log()
    store = Store(tmp_path / "store")
    [out] = Fetcher(store, connections=2, chunk=CHUNK).run([_job(farm, sha, "a", "b", "c")])
    assert out.error is None and out.path is not None
    assert out.path.read_bytes() == body and out.path == store.path(sha)
    assert set(out.by_mirror) == {"a", "b", "c"}  # all three served part of it
    assert sum(out.by_mirror.values()) == len(body)
    ranged = [r for m in farm for r in m.requests if r.method == "GET"]
    assert all(r.status == 206 and r.range for r in ranged)
    assert not list((tmp_path / "store" / "partial").glob("*"))  # nothing half-written left


def test_a_mirror_without_range_support_and_one_dying_mid_file(farm, tmp_path: Path) -> None:
    body, sha = _truth(farm)
    farm["b"].set_faults(Fault("norange"))
    farm["c"].set_faults(Fault("truncate"))
    [out] = Fetcher(Store(tmp_path), connections=2, chunk=CHUNK).run(
        [_job(farm, sha, "a", "b", "c")]
    )
    assert out.error is None and out.path.read_bytes() == body
    assert "closed the connection mid-file" in out.dropped["c"]
    assert "b" not in out.by_mirror  # a range-less mirror serves only files that fit one span


def test_only_range_less_mirrors_still_give_the_whole_file(farm, tmp_path: Path) -> None:
    body, sha = _truth(farm)
    farm["a"].set_faults(Fault("norange"))
    [out] = Fetcher(Store(tmp_path), chunk=CHUNK).run([_job(farm, sha, "a")])
    assert out.error is None and out.path.read_bytes() == body


def test_a_corrupt_copy_is_found_dropped_and_replaced(farm, tmp_path: Path) -> None:
    body, sha = _truth(farm)
    farm["b"].set_faults(Fault("corrupt"))  # 64 flipped bytes in the middle of the file
    farm["a"].set_speed(bandwidth_bps=150e3)  # slow: b, fast, takes the middle spans

    def then_fast(progress) -> None:
        if progress.done > len(body) * 3 // 4:
            farm["a"].set_speed(bandwidth_bps=8e6)

    for m in farm:
        m.reset_log()
    fetcher = Fetcher(Store(tmp_path), connections=2, chunk=CHUNK, on_progress=then_fast)
    [out] = fetcher.run([_job(farm, sha, "a", "b")])
    assert out.error is None and out.path.read_bytes() == body
    assert "corrupt copy" in out.dropped["b"]
    # the hash is tested as soon as a block of b's differs: b's spans after the damage are
    # never fetched again, so a sent less than the whole file (its share and b's up to the
    # damage); fetching all of b's share again would make it the whole file
    assert farm["a"].bytes_sent() < len(body)
    only = Fetcher(Store(tmp_path / "other"), chunk=CHUNK).run([_job(farm, sha, "b")])[0]
    assert only.path is None and "does not match the sha256" in only.error
    assert not list((tmp_path / "other" / "sha256").glob("*/*"))


def test_every_mirror_failing_is_an_error_with_each_reason(farm, tmp_path: Path) -> None:
    _, sha = _truth(farm)
    farm["a"].set_faults(Fault("error500"))
    farm["b"].set_faults(Fault("forbidden403"))
    [out] = Fetcher(Store(tmp_path), chunk=CHUNK).run([_job(farm, sha, "a", "b", size=1 << 20)])
    assert out.path is None
    assert "a: HTTP 500" in out.error and "b: HTTP 403" in out.error


def test_an_interrupted_download_resumes_from_its_journal(farm, tmp_path: Path) -> None:
    body, sha = _truth(farm)
    store = Store(tmp_path)
    stop = threading.Event()

    def halfway(progress) -> None:
        if progress.done >= len(body) // 2:
            stop.set()
            farm["a"].set_faults(Fault("refuse"))  # the network goes away mid-transfer

    farm["a"].reset_log()
    first = Fetcher(store, connections=1, chunk=CHUNK, timeout_s=2, on_progress=halfway)
    [out] = first.run([_job(farm, sha, "a")])
    assert out.path is None and stop.is_set()
    part, journal = store.partial(sha)
    assert part.exists() and journal.exists() and not store.has(sha)
    on_disk = sum(end - start for start, end in store.journal(sha, len(body)))
    assert len(body) // 2 <= on_disk < len(body)
    farm["a"].clear_faults()
    farm["a"].reset_log()
    [again] = Fetcher(store, connections=1, chunk=CHUNK).run([_job(farm, sha, "a")])
    assert again.error is None and again.path.read_bytes() == body
    fetched = sum(r.bytes_sent for r in farm["a"].requests if r.method == "GET")
    assert fetched == len(body) - on_disk  # only what was missing
    assert not part.exists() and not journal.exists()


def test_a_second_fetch_of_the_same_file_downloads_nothing(farm, tmp_path: Path) -> None:
    body, sha = _truth(farm)
    store = Store(tmp_path)
    Fetcher(store, chunk=CHUNK).run([_job(farm, sha, "a", "b")])
    for m in farm:
        m.reset_log()
    [out] = Fetcher(store, chunk=CHUNK).run([_job(farm, sha, "a", "b")])
    assert out.reused and out.path.read_bytes() == body
    assert all(m.requests == [] for m in farm)
    assert store.info().files == 1 and store.info().bytes == len(body)
    assert store.clean() == len(body) and store.info().files == 0


def test_a_store_that_cannot_be_written_fails_the_file_with_that_reason(farm, tmp_path) -> None:
    _, sha = _truth(farm)
    blocked = tmp_path / "store"
    blocked.write_text("a file where the store's directory should be")
    [out] = Fetcher(Store(blocked), chunk=CHUNK).run([_job(farm, sha, "a", "b")])
    assert out.path is None and out.error.startswith("cannot write to the store")


def test_a_report_that_is_not_json_is_a_clear_error() -> None:
    import subprocess
    import sys

    from mirrorinstall.core.errors import UsageError
    from mirrorinstall.fetch.resolve import pip_report

    # a stand-in "pip" (this Python) that prints an HTML page where the report belongs
    fake = [sys.executable, "-c", "import sys; print('<html>proxy login</html>')", "--"]
    assert subprocess.run(fake, capture_output=True).returncode == 0
    with pytest.raises(UsageError, match="report could not be read"):
        pip_report(fake, ["six"], {})


def test_a_copy_damaged_throughout_is_outvoted_and_its_ranges_replaced(farm, tmp_path) -> None:
    """c flips bytes in every range it serves; b and a agree: c is dropped as corrupt (a third
    mirror settles each disagreement) and its ranges come again from the others."""
    body, sha = _truth(farm)
    farm["c"].set_faults(Fault("corrupt-throughout"))
    [out] = Fetcher(Store(tmp_path), connections=2, chunk=CHUNK).run(
        [_job(farm, sha, "a", "b", "c")]
    )
    assert out.error is None and out.path.read_bytes() == body
    assert "corrupt copy" in out.dropped.get("c", ""), out.dropped
    assert "a" not in out.dropped and "b" not in out.dropped


def test_a_fetch_killed_mid_range_resumes_where_the_range_had_got(farm, tmp_path) -> None:
    """kill -9 in the middle of a range: the journal has recorded how far the range had got
    (its bytes are on disk at their offsets), so the rerun fetches only the rest."""
    import os
    import signal
    import subprocess
    import sys
    import time

    body, sha = _truth(farm)
    store = Store(tmp_path)
    farm["a"].set_speed(bandwidth_bps=400e3)
    # one connection, one range for the whole file: only the checkpoints can save its bytes
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mirrorinstall.fetch.store import Store\n"
        "from mirrorinstall.fetch.transfer import Fetcher, Job, Source\n"
        "job = Job('w.whl', sys.argv[2], int(sys.argv[3]), [Source('a', sys.argv[4])])\n"
        "Fetcher(Store(Path(sys.argv[1])), connections=1, chunk=int(sys.argv[3])).run([job])\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path), sha, str(len(body)), farm["a"].url + WHEEL]
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        if sum(e - s for s, e in store.journal(sha, len(body))) >= len(body) // 4:
            break
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    on_disk = sum(end - start for start, end in store.journal(sha, len(body)))
    assert len(body) // 4 <= on_disk < len(body), on_disk
    farm["a"].set_speed(bandwidth_bps=8e6)
    farm["a"].reset_log()
    [again] = Fetcher(store, connections=1, chunk=len(body)).run([_job(farm, sha, "a")])
    assert again.path.read_bytes() == body
    assert sum(r.bytes_sent for r in farm["a"].requests if r.method == "GET") == len(body) - on_disk


@pytest.mark.parametrize("order", [("a", "b"), ("b", "a")], ids=["bad-last", "bad-first"])
def test_with_two_mirrors_the_one_whose_bytes_never_match_is_the_one_dropped(
    farm, tmp_path, order
) -> None:
    """Two copies that disagree and no third to ask: the writer's ranges are replaced by the
    other's; if the hash still fails, the other was the bad one, and the file starts over
    without it, whichever was ranked first."""
    body, sha = _truth(farm)
    farm["b"].set_faults(Fault("corrupt-throughout"))
    [out] = Fetcher(Store(tmp_path), connections=2, chunk=CHUNK).run([_job(farm, sha, *order)])
    assert out.error is None and out.path.read_bytes() == body, out.dropped
    assert "corrupt copy" in out.dropped.get("b", "") and "a" not in out.dropped


def test_the_store_is_trimmed_least_recently_used_first_never_this_runs_files(tmp_path) -> None:
    import os

    store = Store(tmp_path)
    for k, name in enumerate(("aa" * 32, "bb" * 32, "cc" * 32)):
        path = store.path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 1000)
        os.utime(path, (1000 + k, 1000 + k))  # aa oldest, cc newest
    store.touch("aa" * 32)  # used again just now: now the newest
    part, _ = store.partial("dd" * 32)
    part.parent.mkdir(parents=True)
    part.write_bytes(b"y" * 5000)  # another run's download in progress
    assert store.trim(2000, keep={"bb" * 32}) == 1000  # bb is this run's: cc, the oldest, goes
    assert store.has("aa" * 32) and store.has("bb" * 32) and not store.has("cc" * 32)
    assert part.exists()
    assert store.trim(0, keep={"aa" * 32, "bb" * 32}) == 0


@pytest.mark.parametrize("whole", [True, False])
def test_a_run_killed_while_hashing_a_finished_file_is_repaired_next_time(
    farm, tmp_path, whole
) -> None:
    """Issue 20: every span on disk and journalled, the process killed before the hash check
    stored it. The next run used to find nothing left to fetch and fail (exit 69 until `cache
    clean`); now the hash decides: the file is stored, or (damaged) fetched again."""
    body, sha = _truth(farm)
    store = Store(tmp_path / "store")
    part_file = store.open_part(sha, len(body))
    damaged = body if whole else body[:100] + bytes([body[100] ^ 0xFF]) + body[101:]
    part_file.write_at(damaged, 0)
    part_file.close()
    store.record(sha, len(body), [(0, len(body))])
    for m in farm:
        m.reset_log()
    [out] = Fetcher(store, chunk=CHUNK).run([_job(farm, sha, "a", "b", size=len(body))])
    assert out.error is None and out.path is not None and out.path.read_bytes() == body
    fetched = sum(len(m.requests) for m in farm)
    assert (fetched == 0) if whole else (fetched > 0)


def test_a_symlink_in_the_partial_area_is_never_followed(farm, tmp_path) -> None:
    """Issue 20: a link planted where a partial download goes (to a file of the user's) is
    removed, not written through."""
    body, sha = _truth(farm)
    store = Store(tmp_path / "store")
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    part, _ = store.partial(sha)
    part.parent.mkdir(parents=True)
    part.symlink_to(victim)
    [out] = Fetcher(store, chunk=CHUNK).run([_job(farm, sha, "a", "b")])
    assert out.error is None and out.path.read_bytes() == body
    assert victim.read_text() == "keep me"


def test_a_mirror_lying_about_the_size_is_left_out_and_costs_no_disk(make_farm, tmp_path) -> None:
    """Issue 20: the best-ranked mirror's HEAD declares 50 GB (the farm's huge-length fault).
    The size most mirrors agree on is taken, the liar dropped and named, and no 50 GB partial
    file is made."""
    farm = make_farm(
        MirrorSpec("a", faults=[Fault("huge-length")]),
        MirrorSpec("b", bandwidth_bps=8e6),
        MirrorSpec("c", bandwidth_bps=8e6),
    )
    body, sha = _truth({"a": farm["b"]})
    store = Store(tmp_path / "store")
    [out] = Fetcher(store, chunk=CHUNK).run([_job(farm, sha, "a", "b", "c")])
    assert out.error is None and out.path.read_bytes() == body
    assert "said the file is" in out.dropped.get("a", "") and set(out.by_mirror) <= {"b", "c"}
    usage = sum(p.stat().st_blocks * 512 for p in (tmp_path / "store").rglob("*") if p.is_file())
    assert usage < 10 * len(body)


def test_progress_counts_the_bytes_of_spans_still_on_the_wire(make_farm, tmp_path) -> None:
    """Issue 20: one slow connection fetching one big span: the progress rises while the span
    arrives (it sat at 0% until the span's end, and CI printed 0% after 10 s)."""
    farm = make_farm(MirrorSpec("a", bandwidth_bps=2e6))
    body, sha = _truth(farm)
    seen: list[int] = []
    fetcher = Fetcher(
        Store(tmp_path / "store"),
        connections=1,
        chunk=len(body),  # one span: nothing finishes before the end
        on_progress=lambda p: seen.append(p.done),
    )
    [out] = fetcher.run([_job(farm, sha, "a")])
    assert out.error is None
    during = [d for d in seen if 0 < d < len(body)]
    assert len(during) >= 5 and during == sorted(during), seen


def test_mirrors_that_all_drip_end_the_fetch_with_the_reason(make_farm, tmp_path) -> None:
    """Issue 20: every mirror sends the file a byte at a time: no read timeout ever fires, and
    the fetch used to go on for ever; the overall progress deadline ends it, naming why."""
    drip = Fault("drip", path="*.whl", delay_s=0.2, hold_s=30)
    farm = make_farm(MirrorSpec("a", faults=[drip]), MirrorSpec("b", faults=[drip]))
    sha = farm.content.facts["pypi_files"]["bigwheel-1.0-py3-none-any.whl"]
    size = len(farm.content.resources[WHEEL].body)
    fetcher = Fetcher(Store(tmp_path / "store"), connections=2, progress_window_s=3)
    started = time.monotonic()
    [out] = fetcher.run([_job(farm, sha, "a", "b", size=size)])
    assert out.path is None and "dripping or stalled" in (out.error or ""), out
    assert time.monotonic() - started < 15


def test_a_dripping_page_is_given_up_with_the_reason(make_farm, tmp_path, monkeypatch) -> None:
    """The loopback index's page read: a page arriving a byte at a time is abandoned as a read
    timeout (the installer then falls back), within the pace rule's time, not never."""
    from mirrorinstall.fetch import paced
    from mirrorinstall.fetch.loopback import LoopbackIndex

    monkeypatch.setattr(paced, "SLOW_AFTER_S", 1.0)
    farm = make_farm(MirrorSpec("a", faults=[Fault("drip", path="*/simple/six/", hold_s=30)]))
    with LoopbackIndex(Store(tmp_path / "store")) as index:
        started = time.monotonic()
        r = httpx.get(index.index(farm["a"].simple_url) + "six/", timeout=30)
    assert r.status_code == 504 and "Read timed out" in r.reason_phrase
    assert time.monotonic() - started < 10


def test_a_slow_but_flowing_span_is_not_taken_for_a_stall(make_farm, tmp_path) -> None:
    """Bytes are noticed as they arrive, not in 64 KiB blocks: at 20 KB/s a block took over
    the 2 s stall limit, so every span on a slow link was fetched again from another mirror
    (1.7x the bytes at 150 KB/s per mirror)."""
    farm = make_farm(MirrorSpec("a", bandwidth_bps=20e3), MirrorSpec("b", bandwidth_bps=20e3))
    name = "idna-3.7-py3-none-any.whl"
    path = f"/pypi/packages/{name}"
    sha = farm.content.facts["pypi_files"][name]
    size = len(farm.content.resources[path].body)
    job = Job(name, sha, size, [Source(m, farm[m].url + path) for m in ("a", "b")])
    [out] = Fetcher(Store(tmp_path / "store"), connections=1).run([job])
    assert out.error is None
    sent = sum(r.bytes_sent for m in farm for r in m.requests if r.path == path)
    assert sent <= size * 1.05, (sent, size)


def test_a_slower_mirrors_span_is_split_for_an_idle_faster_connection(make_farm, tmp_path) -> None:
    """Three mirrors at 1.0, 0.75 and 0.5 MB/s, one connection each, a span each: when the
    fast ones are done, the slow one's span still arriving is cut and its back part taken
    by them, so all end together and every byte still crosses once (the slow mirror kept
    its whole third: the transfer took its time, 1.5x the others')."""
    farm = make_farm(
        MirrorSpec("a", bandwidth_bps=1.0e6),
        MirrorSpec("b", bandwidth_bps=0.75e6),
        MirrorSpec("c", bandwidth_bps=0.5e6),
    )
    body, sha = _truth(farm)
    for m in farm:
        m.reset_log()
    [out] = Fetcher(Store(tmp_path / "store"), connections=1).run([_job(farm, sha, "a", "b", "c")])
    assert out.error is None and out.path is not None and out.path.read_bytes() == body
    # split where both parts end together: c keeps about 2/9 of the file, not its third
    assert out.by_mirror["c"] < 0.28 * len(body), out.by_mirror
    assert out.by_mirror["a"] > 0.38 * len(body), out.by_mirror
    sent = sum(r.bytes_sent for m in farm for r in m.requests if r.path == WHEEL)
    assert sent <= len(body) * 1.03, (sent, len(body))
