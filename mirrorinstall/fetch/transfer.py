"""Download files in byte ranges over several connections and every mirror that has them,
verify each against its sha256, resume from what is on disk.  [edge: network, disk]

Every mirror gets ``connections`` worker threads, each with its own HTTP connection; a worker
takes the next missing span of any file its mirror has, so a fast mirror simply does more of
the work. Small files are one span. A span's bytes are written at their offset in the partial
file and the journal records it; a file is moved into the store only once its sha256 matches.
The partial file is closed before it is moved or removed (Windows refuses both on an open
file) and opened again if it needs repair.

A worker that fails with an error no fault above explains (a bug) stops the whole transfer:
every file is finished with that error and :meth:`Fetcher.run` raises it, so no other worker
waits forever for a span the dead one held.

Faults, each dropped with its reason for that file (the span goes back to the queue):
an HTTP error, a connection error or timeout, a body cut short; a mirror that ignores Range
serves only files that fit in one span. When the finished file's hash does not match, the
spans of each mirror that contributed are fetched again from another mirror and compared: a
mirror whose bytes differ is dropped as serving a corrupt copy, and its spans are replaced.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from filelock import FileLock, Timeout

from mirrorinstall.core import fileops
from mirrorinstall.core.credentials import Credential, Origin, credential_for
from mirrorinstall.fetch.jobs import Job, Source
from mirrorinstall.fetch.spans import DEFAULT_CHUNK, Span, covered, missing, split_span
from mirrorinstall.fetch.store import PartFile, Store

STALL_S = 2.0  # a span with no bytes for this long is fetched again from another mirror
SPLIT_AFTER_S = 1.0  # a span with more left than this at its pace is split for an idle one
CHECKPOINT_S = 0.25  # how often the journal records the spans in flight
MIN_SPAN = 1024 * 1024
TAIL_SPAN = 128 * 1024
MAX_RETRIES = 200  # per file
MAX_REPAIRS = 3  # rounds of finding a corrupt copy, per file
LOCK_WAIT_S = 1800.0  # longest wait for another minstall process fetching the same file
SIZE_QUORUM = 3  # mirrors asked a file's size when no index gave it
PROGRESS_WINDOW_S = 60.0  # files left and less than MIN_PROGRESS in this long: the fetch ends
MIN_PROGRESS = 64 * 1024
MAX_FILE_BYTES = 64 * 1024**3  # no wheel or conda package is near this; a bigger claim is a lie
CORRUPT = "served a corrupt copy (its bytes differ from another mirror's; sha256 mismatch)"


@dataclass
class Outcome:
    job: Job
    path: Path | None
    error: str | None = None
    reused: bool = False
    by_mirror: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, str] = field(default_factory=dict)


@dataclass
class Progress:
    total: int
    done: int
    by_mirror: dict[str, int]
    in_flight: tuple[str, ...]
    elapsed_s: float


@dataclass
class _Flight:
    """A span on the wire: who fetches it (two mirrors at most, in the endgame), how far."""

    mirrors: set[str]
    started: float
    got: int = 0  # bytes from the span's start on disk, whichever copy wrote them
    extents: list[list] = field(default_factory=list)  # [mirror, start, end]: who wrote what
    last: float = 0.0
    over: bool = False  # a copy finished it: the other stops
    end: int = 0  # where the span ends now: a split hands the rest to a faster connection


@dataclass
class _File:
    job: Job
    size: int
    done: list[Span]
    pending: list[Span]
    in_flight: int = 0
    writer: dict[Span, str] = field(default_factory=dict)  # span -> mirror that wrote it
    flying: dict[Span, _Flight] = field(default_factory=dict)
    dropped: dict[str, str] = field(default_factory=dict)
    by_mirror: dict[str, int] = field(default_factory=dict)
    part: PartFile | None = None
    retries: int = 0
    checkpoint: float = 0.0
    repairs: int = 0
    finished: bool = False
    outcome: Outcome | None = None
    checking: bool = False  # every byte is in: its hash is being checked (no bytes flow)


class _Cancelled(Exception):
    """Another mirror's copy of the span finished first."""


class _Retry(Exception):
    """The span goes back to the queue; ``drop`` says why its mirror is dropped for the file."""

    def __init__(self, drop: str | None = None, rangeless: bool = False) -> None:
        super().__init__(drop or "retry")
        self.drop = drop
        self.rangeless = rangeless


class Fetcher:
    def __init__(
        self,
        store: Store,
        *,
        connections: int = 6,
        chunk: int = DEFAULT_CHUNK,
        timeout_s: float = 20.0,
        user_agent: str = "minstall",
        on_progress: Callable[[Progress], None] | None = None,
        credentials: Mapping[Origin, Credential] | None = None,
        on_done: Callable[[Outcome], None] | None = None,
        progress_window_s: float = PROGRESS_WINDOW_S,
    ) -> None:
        self.store = store
        self.progress_window_s = progress_window_s
        self.on_done = on_done  # told each file's outcome as soon as it has one (quick)
        self.auth = OriginAuth(credentials or {})
        self.connections = max(1, connections)
        self.chunk = chunk
        self.timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0))
        self.headers = {"User-Agent": user_agent, "Accept-Encoding": "identity"}
        self.on_progress = on_progress
        self._lock = threading.Condition()
        self._files: list[_File] = []
        self._held: dict[str, FileLock] = {}  # sha256 -> its store lock, held while fetching
        self._index: dict[int, int] = {}  # job number -> its _File
        self._same: dict[int, int] = {}  # job number -> the earlier job of the same file
        self._checked: set[str] = set()  # stored files verified in this run
        self._liars: dict[str, dict[str, str]] = {}  # sha256 -> mirror -> the size it claimed
        self._rangeless: set[str] = set()
        self._bytes: dict[str, int] = {}
        self._active: dict[str, int] = {}
        self._spent: dict[str, tuple[float, int]] = {}  # mirror -> (seconds, bytes) of spans
        self._speed: dict[str, float] = {}  # mirror -> bytes/s of one connection
        self._caught: set[str] = set()  # mirrors that served a corrupt copy of some file
        self._started = 0.0
        self._last_report = 0.0
        self._workers = 1
        self._mirrors: list[str] = []
        self._tls: ssl.SSLContext | None = None
        self._crash: BaseException | None = None
        self._stop: str | None = None  # cancel()'s reason
        self._open = False  # open(): workers wait for files added later
        self._threads: list[threading.Thread] = []

    def _client(self) -> httpx.Client:
        """A client of its own for a worker (one connection per worker, no pool to share),
        all with one TLS context: making one costs ~30 ms of CPU, and a worker per mirror
        and connection each making its own held the first bytes back by half a second."""
        with self._lock:
            if self._tls is None:
                # the system's trust store, as minstall bench uses
                self._tls = ssl.create_default_context()
        return httpx.Client(
            headers=self.headers, timeout=self.timeout, verify=self._tls, auth=self.auth
        )

    # ------------------------------------------------------------------ public

    def run(self, jobs: list[Job]) -> list[Outcome]:
        """Fetch every job; one outcome each, in order."""
        self._started = time.monotonic()
        outcomes: dict[int, Outcome] = {}
        try:
            return self._run(jobs, outcomes)
        finally:
            for lock in self._held.values():
                lock.release()
            self._held.clear()

    def _run(self, jobs: list[Job], outcomes: dict[int, Outcome]) -> list[Outcome]:
        # each file's lock, taken in sha256 order (two runs wanting overlapping files never
        # wait on each other in a cycle); a file another run is downloading is waited for,
        # then found in the store
        order = sorted(range(len(jobs)), key=lambda k: jobs[k].sha256)
        with self._client() as probe:
            first: dict[str, int] = {}
            for k in order:
                job = jobs[k]
                if job.sha256 in first:  # the same file twice: one download, one outcome
                    self._same[k] = first[job.sha256]
                    continue
                first[job.sha256] = k
                got = self._prepare(probe, job)
                if isinstance(got, Outcome):
                    outcomes[k] = got
                else:
                    self._index[k] = got
        if self._files:
            threads = self._spawn()
            with self._lock:
                # timed waits: a Ctrl-C still reaches this thread within 0.2 s; a worker stuck
                # on a silent connection (its span won by another mirror) is not waited for
                while not all(f.finished for f in self._files) and any(
                    t.is_alive() for t in threads
                ):
                    self._lock.wait(0.2)
            for f in self._files:  # nothing left that any mirror could serve
                self._finish(f, None, "every mirror failed: " + _reasons(f.dropped))
            self._report(force=True)
            if self._crash is not None:
                raise self._crash
        for k, n in self._index.items():
            outcomes[k] = self._files[n].outcome  # type: ignore[assignment]
        for k, same in self._same.items():
            outcomes[k] = outcomes[same]
        if self.on_done is not None:  # those that never reached a worker (stored, no size)
            for k in set(outcomes) - set(self._index):
                self.on_done(outcomes[k])
        return [outcomes[k] for k in range(len(jobs))]

    def _prepare(self, probe: httpx.Client, job: Job) -> Outcome | int:
        """One job set up: its outcome at once (stored already, or it cannot be fetched), or
        its number among the files the workers fetch (its store lock held)."""
        if self._stop is not None:
            return Outcome(job, None, self._stop)
        if self._stored(job):
            return Outcome(job, self.store.path(job.sha256), reused=True)
        try:
            lock = self.store.lock(job.sha256)
            lock.acquire(timeout=LOCK_WAIT_S)
        except Timeout:
            return Outcome(job, None, f"another minstall process held it for {LOCK_WAIT_S:.0f} s")
        except OSError as exc:  # the store's disk
            return Outcome(job, None, f"cannot write to the store: {fileops.why(exc)}")
        if self._stored(job):  # the run that held the lock stored it meanwhile
            lock.release()
            return Outcome(job, self.store.path(job.sha256), reused=True)
        self._held[job.sha256] = lock
        size = job.size if job.size is not None else self._size(probe, job)
        if size is None:
            self._held.pop(job.sha256).release()
            return Outcome(job, None, "no mirror told its size (HEAD failed)")
        done = self.store.journal(job.sha256, size)
        chunk = self._chunk(size, max(1, len(job.sources)))
        if done and not missing(size, done, chunk):
            # every span on disk but never stored: a run killed while hashing it. The
            # hash decides: stored now, or the partial file starts over
            path = self.store.adopt(job.sha256)
            if path is not None:
                self._held.pop(job.sha256).release()
                self._checked.add(job.sha256)
                return Outcome(job, path, reused=True)
            self.store.discard(job.sha256)
            done = []
        with self._lock:
            self._files.append(_File(job, size, done, missing(size, done, chunk)))
            self._files[-1].dropped.update(self._liars.get(job.sha256, {}))
            if self._stop is not None:  # cancelled while this one was being set up
                self._finish(self._files[-1], None, self._stop)
            self._lock.notify_all()
            return len(self._files) - 1

    def _spawn(self) -> list[threading.Thread]:
        """Workers for every mirror of the files not yet served by any (``connections``
        each); all the workers."""
        with self._lock:
            mirrors = sorted({s.mirror for f in self._files for s in f.job.sources})
            new = [m for m in mirrors if m not in self._mirrors]
            self._mirrors = sorted({*self._mirrors, *new})
            threads = [
                threading.Thread(target=self._worker, args=(m,), daemon=True)
                for m in new
                for _ in range(self.connections)
            ]
            watch = not self._threads and bool(threads)
            self._threads += threads
            self._workers = len(self._threads)
        for t in threads:
            t.start()
        if watch:
            threading.Thread(target=self._watch, daemon=True, name="minstall-watch").start()
        return list(self._threads)

    def _watch(self) -> None:
        """The overall progress deadline: a read timeout never fires on mirrors that each
        send a byte now and then, and the spans' own stall check needs another mirror to go
        to. When the files still wanted gained less than MIN_PROGRESS bytes over the last
        ``progress_window_s``, they end with that reason (the installer then falls back)."""
        samples: list[tuple[float, int]] = []
        while True:
            time.sleep(min(1.0, self.progress_window_s / 10))
            with self._lock:
                left = [f for f in self._files if not f.finished]
                if not left or any(f.checking for f in left):
                    if not left and not self._open:
                        return
                    samples.clear()
                    continue
                now, total = time.monotonic(), sum(self._bytes.values())
                samples.append((now, total))
                samples = [(t, n) for t, n in samples if now - t <= self.progress_window_s]
                first_t, first_n = samples[0]
                if now - first_t >= 0.9 * self.progress_window_s and total - first_n < MIN_PROGRESS:
                    for f in left:
                        self._finish(
                            f,
                            None,
                            f"the mirrors sent {total - first_n} bytes in "
                            f"{now - first_t:.0f} s (dripping or stalled)"
                            + (f": {_reasons(f.dropped)}" if f.dropped else ""),
                        )
                    samples.clear()
                    self._lock.notify_all()

    # ------------------------------------------------------------------ open transfers

    def open(self) -> None:
        """Keep the workers for files added later with :meth:`add` (an installer asking for
        them one by one) until :meth:`close`."""
        with self._lock:
            self._open = True
            self._started = self._started or time.monotonic()

    def add(self, job: Job) -> None:
        """Fetch ``job`` too (an open transfer); its outcome goes to ``on_done``."""
        with self._client() as probe:
            got = self._prepare(probe, job)
        if isinstance(got, Outcome):
            if self.on_done is not None:
                self.on_done(got)
            return
        self._spawn()

    def drop(self, sha256: str, why: str) -> None:
        """Stop fetching one file (what arrived stays in its partial file)."""
        with self._lock:
            for f in self._files:
                if f.job.sha256 == sha256:
                    self._finish(f, None, why)
            self._lock.notify_all()

    def close(self) -> None:
        """End an open transfer: files not finished end as cancelled (their bytes stay in
        their partial files), workers stop, every store lock is released."""
        self.cancel("the installer did not ask for it")
        with self._lock:
            self._open = False
            self._lock.notify_all()
        # the workers end within one wait (0.2 s) on their own: nothing waits for them
        for lock in list(self._held.values()):
            lock.release()
        self._held.clear()

    def ready(self, sha256: str) -> tuple[int, int] | None:
        """How many bytes from its start a file in this transfer has on disk (in its partial
        file), and its size; None while it is not set up here (or not part of it). The loopback
        index streams that much to the installer while the rest arrives."""
        with self._lock:
            for f in reversed(self._files):  # the latest try of a file dropped and wanted again
                if f.job.sha256 != sha256:
                    continue
                end = 0
                for start, stop in sorted(f.done):
                    if start > end:
                        break
                    end = max(end, stop)
                for (start, _stop), flight in f.flying.items():
                    if start == end and not flight.over:
                        end = start + flight.got
                return end, f.size
        return None

    def cancel(self, why: str = "no longer wanted") -> None:
        """Stop: every file not finished ends with ``why``; what arrived stays in its partial
        file and journal, where a later run resumes."""
        with self._lock:
            self._stop = why
            for f in self._files:
                self._finish(f, None, why)
            self._lock.notify_all()

    def _stored(self, job: Job) -> bool:
        """The file is in the store, whole and what its name says (checked once per run)."""
        if job.sha256 in self._checked:
            return True
        if not self.store.has(job.sha256) or not self.store.verified(job.sha256, job.size):
            return False
        self.store.touch(job.sha256)
        self._checked.add(job.sha256)
        return True

    def _chunk(self, size: int, mirrors: int) -> int:
        """Span size for one file: enough spans to keep every connection of its mirrors busy,
        none smaller than MIN_SPAN (a small file is one request), none bigger than the chunk."""
        if size <= MIN_SPAN:
            return max(size, 1)
        wanted = size // max(1, mirrors * self.connections)
        return max(MIN_SPAN, min(self.chunk, wanted))

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self._files)

    @property
    def bytes_by_mirror(self) -> dict[str, int]:
        return dict(self._bytes)

    # ------------------------------------------------------------------ planning

    def _size(self, client: httpx.Client, job: Job) -> int | None:
        """The file's size, as the mirrors say it (HEAD): the size most of the first few agree
        on (a tie: the smaller; nothing above MAX_FILE_BYTES). A mirror that said another size
        is dropped for this file and named, so one liar (a page declaring 50 GB) costs no disk
        and blames nobody else."""

        def length(source: Source) -> int | None:
            try:
                response = client.head(source.url, follow_redirects=True)
            except httpx.HTTPError:
                return None
            text = response.headers.get("Content-Length", "")
            return int(text) if response.status_code == 200 and text.isdigit() else None

        asked = job.sources[:SIZE_QUORUM]
        # asked at once: one after another, three far mirrors held the first byte back
        with ThreadPoolExecutor(len(asked) or 1, thread_name_prefix="minstall-size") as pool:
            answers = list(pool.map(length, asked))
        said: dict[int, list[str]] = {}
        for source, n in zip(asked, answers, strict=True):
            if n is not None:
                said.setdefault(n, []).append(source.mirror)
        sane = {n: ms for n, ms in said.items() if n <= MAX_FILE_BYTES}
        if not sane:
            return None
        size = max(sane, key=lambda n: (len(sane[n]), -n))
        for n, mirrors in said.items():
            if n != size:
                for mirror in mirrors:
                    self._liars.setdefault(job.sha256, {})[mirror] = (
                        f"said the file is {n} bytes; {len(sane[size])} other(s) said {size}"
                    )
        job.sources = [s for s in job.sources if s.mirror not in self._liars.get(job.sha256, {})]
        return size

    # ------------------------------------------------------------------ workers

    def _take(self, mirror: str) -> tuple[_File, Span, Source, _Flight] | None:
        """The next span this mirror can serve; at the end of the transfer, a span another
        mirror is slow to deliver (the endgame: whichever copy ends first wins); waits while
        a span in flight elsewhere may still come back to the queue; None when there is
        nothing left for it."""
        with self._lock:
            while True:
                for f in self._files:
                    source = None if f.finished else self._source(f, mirror)
                    if source is None or not f.pending:
                        continue
                    whole = f.pending[0] == (0, f.size)
                    if mirror in self._rangeless and not whole:
                        continue
                    span = f.pending.pop(0)
                    start, end = span
                    if (
                        not whole
                        and end - start >= 2 * TAIL_SPAN
                        and self._pending() < self._idle()
                    ):
                        # the end of the transfer: a piece this connection can fetch in the
                        # time the whole remainder takes at everyone's pace, so every
                        # connection ends together (half the span before speeds are known)
                        piece = self._tail_piece(mirror, end - start)
                        if piece < end - start:
                            span = (start, start + piece)
                            f.pending.insert(0, (start + piece, end))
                    flight = _Flight({mirror}, time.monotonic(), end=span[1])
                    f.flying[span] = flight
                    return self._board(f, span, source, flight)
                late = self._late(mirror)
                if late is not None:
                    return late
                busy = any(f.in_flight for f in self._files if not f.finished)
                if not busy and not self._open:
                    return None
                self._lock.wait(0.2)

    def _tail_piece(self, mirror: str, size: int) -> int:
        mine = self._speed.get(mirror)
        rates = [self._speed.get(m) for m in self._mirrors]
        if not mine or not all(rates):
            return size // 2
        left = sum(e - s for f in self._files if not f.finished for s, e in f.pending)
        left += sum(
            (e - s) - fl.got for f in self._files for (s, e), fl in f.flying.items() if not fl.over
        )
        everyone = sum(rates) * self.connections  # bytes/s of all the connections together
        piece = int(mine * left / everyone)
        return max(TAIL_SPAN, min(size - TAIL_SPAN, piece)) if piece < size else size

    def _board(
        self, f: _File, span: Span, source: Source, flight: _Flight
    ) -> tuple[_File, Span, Source, _Flight]:
        f.in_flight += 1
        self._active[f.job.name] = self._active.get(f.job.name, 0) + 1
        return f, span, source, flight

    def _late(self, mirror: str) -> tuple[_File, Span, Source, _Flight] | None:
        """Work for an idle connection from a span in flight on another mirror: the back
        part of one still arriving that would take longer than SPLIT_AFTER_S at its pace
        (cut so both parts end together: each byte is still fetched once), or, when its
        mirror has gone quiet for STALL_S, the span's missing bytes as a second copy
        (whichever copy ends first wins)."""
        now = time.monotonic()
        for f in self._files:
            source = None if f.finished else self._source(f, mirror)
            if source is None:
                continue
            for span, flight in list(f.flying.items()):
                if flight.over or mirror in flight.mirrors or len(flight.mirrors) > 1:
                    continue
                if mirror in self._rangeless and span != (0, f.size):
                    continue
                quiet = now - (flight.last or flight.started)
                if quiet >= STALL_S:
                    flight.mirrors.add(mirror)
                    return self._board(f, span, source, flight)
                piece = None if mirror in self._rangeless else self._split(f, span, mirror, now)
                if piece is not None:
                    return self._board(f, piece, source, f.flying[piece])
        return None

    def _split(self, f: _File, span: Span, mirror: str, now: float) -> Span | None:
        """The back part of ``span`` (in flight; the lock is held) for a connection of
        ``mirror``, in flight from now; the span keeps the front and ends at the cut. None
        when it is not worth a request."""
        flight, mine = f.flying[span], self._speed.get(mirror)
        start = span[0]
        remaining = flight.end - (start + flight.got)
        elapsed = now - flight.started
        if not mine or not flight.got or elapsed < 0.5 or remaining < 2 * TAIL_SPAN:
            return None
        pace = flight.got / elapsed
        if remaining / pace < SPLIT_AFTER_S:
            return None
        piece = int(remaining * mine / (mine + pace))
        if piece < TAIL_SPAN:
            return None
        cut = flight.end - piece
        back = (cut, flight.end)
        f.flying[(start, cut)] = f.flying.pop(span)
        flight.end = cut
        f.flying[back] = _Flight({mirror}, now, end=back[1])
        return back

    def _idle(self) -> int:
        """Connections with no span in flight (this one among them): when fewer spans are
        left than that, the rest is split so they all end together. Counted against all the
        connections, a file split into one span each was cut up at its very start."""
        return self._workers - sum(f.in_flight for f in self._files if not f.finished)

    def _pending(self) -> int:
        return sum(len(f.pending) for f in self._files if not f.finished)

    def _source(self, f: _File, mirror: str) -> Source | None:
        if mirror in f.dropped:
            return None
        return next((s for s in f.job.sources if s.mirror == mirror), None)

    def _worker(self, mirror: str) -> None:
        try:
            self._work(mirror)
        except BaseException as exc:  # a bug: stop everyone, and let run() raise it
            with self._lock:
                if self._crash is None:
                    self._crash = exc
                for f in self._files:
                    self._finish(f, None, f"internal error: {type(exc).__name__}: {exc}")
                self._lock.notify_all()

    def _work(self, mirror: str) -> None:
        with self._client() as client:
            while (task := self._take(mirror)) is not None:
                f, span, source, flight = task
                started = time.monotonic()
                try:
                    got = self._fetch_span(client, f, span, source, flight)
                except _Cancelled:
                    self._land(f, mirror, flight)
                    continue
                except _Retry as retry:
                    self._give_back(f, span, mirror, retry, flight)
                    continue
                except OSError as exc:  # the store's disk, not a mirror: no other mirror helps
                    with self._lock:
                        self._land(f, mirror, flight)
                        self._finish(f, None, f"cannot write to the store: {fileops.why(exc)}")
                    continue
                with self._lock:
                    seconds, total = self._spent.get(mirror, (0.0, 0))
                    seconds, total = seconds + time.monotonic() - started, total + got
                    self._spent[mirror] = (seconds, total)
                    self._speed[mirror] = total / seconds if seconds > 0 else 0.0
                self._span_done(f, span, mirror, flight)
        with self._lock:
            self._lock.notify_all()

    def _fetch_span(
        self,
        client: httpx.Client,
        f: _File,
        span: Span,
        source: Source,
        flight: _Flight | None = None,
    ) -> int:
        start, end = span
        if flight is not None:
            with self._lock:
                end = flight.end
        # a second copy of a slow span asks only for what is not on disk yet
        begin = start + flight.got if flight is not None and len(flight.mirrors) > 1 else start
        whole = (begin, end) == (0, f.size)
        headers = {} if whole else {"Range": f"bytes={begin}-{end - 1}"}
        if f.part is None:
            with self._lock:
                if f.finished or (flight is not None and flight.over):
                    raise _Cancelled  # (the file may be being verified and moved: hands off)
                if f.part is None:
                    f.part = self.store.open_part(f.job.sha256, f.size)
        written = 0
        try:
            with client.stream("GET", source.url, headers=headers, follow_redirects=True) as r:
                if r.status_code == 200 and not whole:
                    raise _Retry(rangeless=True)
                if r.status_code not in (200, 206):
                    raise _Retry(f"HTTP {r.status_code} for {source.url}")
                if r.status_code == 206 and not _range_matches(r, begin, end, f.size):
                    raise _Retry(f"answered another byte range ({r.headers.get('Content-Range')})")
                offset = begin
                for block in r.iter_raw():
                    with self._lock:
                        if flight is not None:
                            end = flight.end  # moved back when a faster one took the rest
                        block = block[: max(0, end - offset)]
                        # checked and written under the lock: once the other copy has won
                        # (and the file may be verified and closed), this one writes nothing
                        if (flight is not None and flight.over) or f.part is None:
                            raise _Cancelled
                        if block:
                            # each byte is written once: a second copy of the span writes only
                            # past what the first has written (so a bad copy cannot overwrite
                            # a good one's bytes unseen), and who wrote what is recorded
                            lo = offset if flight is None else max(offset, start + flight.got)
                            hi = offset + len(block)
                            if hi > lo:
                                f.part.write_at(block[lo - offset :], lo)
                                if flight is not None:
                                    _extend(flight.extents, source.mirror, lo, hi)
                                    flight.got, flight.last = hi - start, time.monotonic()
                                    self._checkpoint(f, flight.last)
                            offset = hi
                            written += len(block)
                            self._bytes[source.mirror] = self._bytes.get(source.mirror, 0) + len(
                                block
                            )
                    self._report()
                    if offset >= end:
                        break
        except httpx.RemoteProtocolError as exc:
            raise _Retry(f"closed the connection mid-file ({exc})") from None
        except httpx.TimeoutException:
            raise _Retry(f"timed out after {self.timeout.read:g} s") from None
        except httpx.HTTPError as exc:
            raise _Retry(f"{type(exc).__name__}: {exc}") from None
        if flight is not None:
            with self._lock:
                end = flight.end
        if written < end - begin:
            raise _Retry(f"closed the connection mid-file ({written} of {end - begin} bytes)")
        return written

    def _checkpoint(self, f: _File, now: float) -> None:
        """Every quarter second, the journal also records how far each span in flight has
        got (its bytes are on disk, at their offsets): a fetch killed mid-span resumes there,
        not at the span's start. The lock is held."""
        if now - f.checkpoint < CHECKPOINT_S:
            return
        f.checkpoint = now
        flying = [(s, s + fl.got) for (s, _e), fl in f.flying.items() if fl.got and not fl.over]
        self._journal(f, f.done + flying)

    def _journal(self, f: _File, done: list[Span]) -> None:
        """Record the spans on disk, for a resume. Best effort: a journal that cannot be
        written now (an antivirus scanner holding it past the retries) costs a resume some
        bytes, not the download."""
        with contextlib.suppress(OSError):
            self.store.record(f.job.sha256, f.size, done)

    def _land(self, f: _File, mirror: str, flight: _Flight) -> None:
        """This mirror's copy of a span is off the wire (the lock is held or taken)."""
        with self._lock:
            f.in_flight -= 1
            self._active[f.job.name] -= 1
            flight.mirrors.discard(mirror)
            self._lock.notify_all()

    def _give_back(self, f: _File, span: Span, mirror: str, retry: _Retry, flight: _Flight) -> None:
        with self._lock:
            span = (span[0], flight.end)  # split meanwhile: the rest is another flight's
            self._land(f, mirror, flight)
            if retry.rangeless:
                self._rangeless.add(mirror)
            elif retry.drop:
                f.dropped[mirror] = retry.drop
            if flight.over or flight.mirrors:
                return  # the other copy finished it, or still may
            f.flying.pop(span, None)
            start, end = span
            kept = flight.got if span != (0, f.size) and not retry.rangeless else 0
            if 0 < kept < end - start:
                # a range cut short keeps what arrived (on disk, at its offsets): only the
                # rest goes back to the queue
                f.done.append((start, start + kept))
                for who, a, b in flight.extents:
                    f.writer[(a, b)] = who
                span = (start + kept, end)
            f.pending.insert(0, span)
            f.retries += 1
            if f.retries > MAX_RETRIES:  # a loop no fault above explains: stop, and say so
                f.pending = []
                f.dropped.setdefault(mirror, f"gave up after {MAX_RETRIES} retries")
            if retry.rangeless and all(
                s.mirror in self._rangeless or s.mirror in f.dropped for s in f.job.sources
            ):
                # nobody serves ranges: the whole file from one mirror, from the start;
                # the ranges still on the wire are stopped and count for nothing
                for other in f.flying.values():
                    other.over = True
                f.pending, f.done, f.flying = [(0, f.size)], [], {}
            self._lock.notify_all()

    def _span_done(self, f: _File, span: Span, mirror: str, flight: _Flight) -> None:
        with self._lock:
            span = (span[0], flight.end)  # split meanwhile: the rest is another flight's
            self._land(f, mirror, flight)
            if flight.over:
                return  # the other copy won
            flight.over = True
            f.flying.pop(span, None)
            f.done.append(span)
            for who, a, b in flight.extents or [[mirror, *span]]:
                f.writer[(a, b)] = who
                f.by_mirror[who] = f.by_mirror.get(who, 0) + b - a
            self._journal(f, f.done)
            # a losing copy still on the wire does not hold the file (it is told to stop)
            complete = (
                not f.finished
                and not f.pending
                and not f.flying
                and covered(f.size, f.done) >= f.size
            )
            if complete:
                f.in_flight += 1  # busy: workers wait while the hash is checked (and repaired)
                f.checking = True
            self._lock.notify_all()
        if complete:
            try:
                self._complete(f)
            finally:
                with self._lock:
                    f.in_flight -= 1
                    f.checking = False
                    self._lock.notify_all()

    def _complete(self, f: _File) -> None:
        try:
            path = self._adopt(f)
            if path is None:
                path = self._repair(f)
        except OSError as exc:  # the store's disk (or a file held open past every retry)
            with self._lock:
                self._finish(f, None, f"cannot write to the store: {fileops.why(exc)}")
                self._lock.notify_all()
            return
        with self._lock:
            if path is not None:
                self._finish(f, path, None)
            elif not f.finished and not f.pending:
                self._finish(f, None, "the file's sha256 never matched: " + _reasons(f.dropped))
            self._lock.notify_all()

    def _adopt(self, f: _File) -> Path | None:
        """The partial file closed and moved into the store if its hash matches; else opened
        again for repair and None. No worker writes to it meanwhile: every span has landed,
        and a losing copy still on the wire finds it closed and stops."""
        with self._lock:
            part, f.part = f.part, None
        if part is not None:
            part.sync()
            part.close()
        path = self.store.adopt(f.job.sha256)
        if path is None:
            with self._lock:
                if not f.finished:
                    f.part = self.store.open_part(f.job.sha256, f.size)
        return path

    def _repair(self, f: _File) -> Path | None:
        """The hash did not match: find the mirror whose bytes are wrong. Writers are tried
        quickest test first (their share over the others' measured speed): each one's
        ranges are fetched again from the other mirrors (in parallel, the next mirror when
        one fails), each block compared with what is on disk as it is written over it. No
        block differs: that writer agrees with the others. Some differ and the hash now
        matches: that writer served a corrupt copy. Some differ and it still does not match:
        the mirrors that gave the differing blocks are suspects. A round that fixes nothing
        starts the file over without its first suspect; after MAX_REPAIRS rounds the file
        fails, every mirror named. Cost: for a few damaged bytes, about half the culprit's
        share of the file when it is tried first (the hash is tested as soon as a piece
        differs); for a copy damaged throughout, one piece."""
        f.repairs += 1
        ranked = [s.mirror for s in f.job.sources]
        share: dict[str, int] = {}
        for (a, b), m in f.writer.items():
            share[m] = share.get(m, 0) + b - a

        def cost(m: str) -> tuple:
            # the quickest test first: its share over what the others can give it per second;
            # a mirror left out for not answering (not for its bytes) last
            helpers = [
                s.mirror for s in f.job.sources if s.mirror != m and s.mirror not in f.dropped
            ]
            rate = sum(self._speed.get(h, 0.0) for h in helpers) * self.connections
            # one caught serving a corrupt copy of another file in this run first: whatever
            # damaged that copy (a broken sync, a rewriting proxy) likely damaged this one
            return (
                m in f.dropped,
                m not in self._caught,
                share[m] / rate if rate else float("inf"),
                -ranked.index(m),
            )

        writers = sorted(share, key=cost)
        suspects: list[str] = []
        for mirror in writers:
            if f.dropped.get(mirror) == CORRUPT:
                continue
            helpers = [
                s
                for s in f.job.sources
                if s.mirror != mirror and s.mirror not in f.dropped and s.mirror not in suspects
            ]
            spans = sorted(s for s, m in f.writer.items() if m == mirror)
            if not helpers or not spans:
                continue
            path, differed = self._retest(f, spans, helpers)
            if path is not None:
                with self._lock:
                    f.dropped[mirror] = CORRUPT
                    self._caught.add(mirror)
                return path
            for changed in differed:
                if changed and changed not in suspects:
                    suspects.append(changed)
        with self._lock:
            if f.part is not None:
                f.part.close()
                f.part = None
            self.store.discard(f.job.sha256)
            if suspects:
                f.dropped[suspects[0]] = CORRUPT
                self._caught.add(suspects[0])
            left = [s for s in f.job.sources if s.mirror not in f.dropped]
            if left and f.repairs < MAX_REPAIRS:
                f.done, f.writer = [], {}
                f.pending = missing(f.size, [], self._chunk(f.size, len(left)))
            else:
                for mirror in writers:
                    f.dropped.setdefault(
                        mirror, "its copy does not match the sha256 the index gives"
                    )
        return None

    def _retest(
        self, f: _File, spans: list[Span], helpers: list[Source]
    ) -> tuple[Path | None, list[str]]:
        """``spans`` fetched again from ``helpers`` over the bytes on disk, in pieces, in
        parallel: (the stored file if the hash matched, the helpers whose bytes differed).
        Once a piece differs, the pieces on the wire stop where they are (what they compared
        is kept) and the hash is tested: a few damaged bytes cost about half the suspect's
        share on average, not all of it."""
        queue = [piece for a, b in spans for piece in split_span(a, b, MIN_SPAN)]
        differed: list[str] = []
        while queue:
            stop = threading.Event()
            results = self._in_parallel(
                lambda span, k, stop=stop: self._replace_from(f, span, helpers, k, stop), queue
            )
            queue = [rest for _, rest in results if rest is not None]
            new = [m for m, _ in results if m and m not in differed]
            differed += new
            if any(m for m, _ in results):
                path = self._adopt(f)
                if path is not None:
                    return path, differed
        return None, differed

    def _in_parallel(self, task: Callable[[Span, int], object], spans: list[Span]) -> list:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max(1, min(len(spans), 2 * self.connections))) as pool:
            return list(pool.map(task, spans, range(len(spans))))

    def _replace_from(
        self, f: _File, span: Span, helpers: list[Source], k: int, stop: threading.Event
    ) -> tuple[str | None, Span | None]:
        """``span`` fetched again over the bytes on disk from the ``k``-th helper, the next
        one if that one fails: (the mirror whose bytes differed from what was there, or None;
        the part not compared because ``stop`` was set, or None)."""
        for n in range(len(helpers)):
            if stop.is_set():
                return None, span
            source = helpers[(k + n) % len(helpers)]
            if source.mirror in f.dropped:
                continue
            reached, differed = self._replace(f, span, source, stop)
            if reached is None:
                continue
            rest = (reached, span[1]) if reached < span[1] else None
            return (source.mirror if differed else None), rest
        return None, None

    def _replace(
        self, f: _File, span: Span, source: Source, stop: threading.Event
    ) -> tuple[int | None, bool]:
        """Fetch ``span`` again from ``source`` over the bytes on disk until it ends or
        ``stop`` is set (set here at the first block that differs; that run of differing
        blocks is still replaced to its end): (how far it got, None when the source failed;
        whether any block differed from what was there). A source that fails is left out for
        the file."""
        part = f.part
        assert part is not None
        start, end = span
        offset, differed = start, False
        try:
            with self._client() as client:
                headers = {"Range": f"bytes={start}-{end - 1}"}
                with client.stream("GET", source.url, headers=headers, follow_redirects=True) as r:
                    if r.status_code != 206 or not _range_matches(r, start, end, f.size):
                        raise _Retry(f"HTTP {r.status_code} for a range of {source.url}")
                    for block in r.iter_raw():
                        block = block[: end - offset]
                        if not block:
                            continue
                        same = part.read_at(len(block), offset) == block
                        if not same:
                            differed = True
                            stop.set()  # the hash is worth testing: the others pause
                            part.write_at(block, offset)
                        offset += len(block)
                        # a damaged run of bytes is replaced to its end before the test
                        if offset >= end or (stop.is_set() and same):
                            break
            if offset < end and not stop.is_set():
                raise _Retry("closed the connection mid-file")
        except (_Retry, httpx.HTTPError) as exc:
            with self._lock:
                f.dropped.setdefault(source.mirror, str(exc) or type(exc).__name__)
            return None, differed
        with self._lock:
            _assign(f.writer, start, offset, source.mirror)
            f.by_mirror[source.mirror] = f.by_mirror.get(source.mirror, 0) + (offset - start)
            self._bytes[source.mirror] = self._bytes.get(source.mirror, 0) + (offset - start)
        return offset, differed

    def _finish(self, f: _File, path: Path | None, error: str | None) -> None:
        if f.finished:
            return
        f.finished = True
        if f.part is not None:
            f.part.close()
            f.part = None
        if path is not None:
            self._checked.add(f.job.sha256)
        lock = self._held.pop(f.job.sha256, None)
        if lock is not None:  # stored or given up: another run may take it now
            lock.release()
        f.outcome = Outcome(f.job, path, error, False, dict(f.by_mirror), dict(f.dropped))
        if self.on_done is not None:
            self.on_done(f.outcome)

    def _report(self, force: bool = False) -> None:
        if self.on_progress is None:
            return
        now = time.monotonic()
        if not force and now - self._last_report < 0.1:
            return
        self._last_report = now
        with self._lock:
            # bytes on disk: finished spans, and what each span on the wire has so far (a
            # bar counting finished spans only sat at 0% for the first span's whole time)
            done = sum(covered(f.size, f.done) for f in self._files) + sum(
                fl.got for f in self._files for fl in f.flying.values() if not fl.over
            )
            flying = tuple(name for name, n in self._active.items() if n > 0)
            by_mirror = dict(self._bytes)
        self.on_progress(Progress(self.total_bytes, done, by_mirror, flying, now - self._started))


class OriginAuth(httpx.Auth):
    """A mirror's credential on requests to its own origins only (core/credentials.py);
    httpx drops the header itself on a redirect to another origin."""

    def __init__(self, known: Mapping[Origin, Credential]) -> None:
        self.known = known

    def auth_flow(self, request: httpx.Request):
        found = credential_for(str(request.url), self.known)
        if found is not None:
            request.headers["Authorization"] = found.header
        yield request


def _extend(extents: list[list], mirror: str, lo: int, hi: int) -> None:
    if extents and extents[-1][0] == mirror and extents[-1][2] == lo:
        extents[-1][2] = hi
    else:
        extents.append([mirror, lo, hi])


def _assign(writer: dict[Span, str], lo: int, hi: int, mirror: str) -> None:
    """Record that ``mirror`` wrote bytes ``lo``..``hi``: the spans it overlaps are cut."""
    if hi <= lo:
        return
    for (a, b), who in list(writer.items()):
        if b <= lo or a >= hi:
            continue
        del writer[(a, b)]
        if a < lo:
            writer[(a, lo)] = who
        if b > hi:
            writer[(hi, b)] = who
    writer[(lo, hi)] = mirror


def _range_matches(response: httpx.Response, start: int, end: int, size: int) -> bool:
    value = response.headers.get("Content-Range", "")
    return value.replace(" ", "") == f"bytes{start}-{end - 1}/{size}"


def _reasons(dropped: dict[str, str]) -> str:
    return "; ".join(f"{m}: {why}" for m, why in dropped.items()) or "no mirror has it"
