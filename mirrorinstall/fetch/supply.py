"""The files an installer asks the loopback index for, fetched across every mirror that has
them into the store, then handed over whole and verified.  [edge: network, disk, threads]

The installer (pip, uv) resolves first, asking only for pages and metadata; then it asks for
the files it chose. Requests arriving together (uv asks for all at once) go into one batch of
the multi-mirror fetch (fetch/transfer.py), so its connections are shared by all of them.
pip asks one file at a time; for pip, the first file request also starts the files whose
metadata it read last for each project (its picks: the resolve is over when files are asked
for), so the later requests find their files already on the way. A pick the installer never
asks for is cancelled when the run ends; its bytes stay in the store's partial area for next
time.

Other copies of a file (the next-ranked PyPI mirrors listing the same name with the same
sha256) are looked up while the installer reads the project's page, in the background.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from mirrorinstall.fetch.jobs import Job, Source
from mirrorinstall.fetch.resolve import SIMPLE_ACCEPT, page_copies
from mirrorinstall.fetch.simplepage import PageFile
from mirrorinstall.fetch.store import Store
from mirrorinstall.fetch.transfer import Fetcher, Outcome

WINDOW_S = 0.05  # requests this close together share a batch
COPIES_WAIT_S = 5.0  # longest wait for the other mirrors' pages before a file is fetched


@dataclass
class _Ticket:
    job: Job
    done: threading.Event = field(default_factory=threading.Event)
    outcome: Outcome | None = None
    asked: bool = False  # the installer asked for it (not only a pick)
    fetcher: Fetcher | None = None  # the transfer it is part of, once launched

    def ready(self) -> tuple[int, int] | None:
        """(bytes on disk from the start, size) while it is being fetched."""
        fetcher = self.fetcher
        return fetcher.ready(self.job.sha256) if fetcher is not None else None


class FileSupply:
    """Files by (page entry, mirror id) for the loopback index's handlers."""

    def __init__(
        self,
        store: Store,
        make_fetcher: Callable[[Callable[[Outcome], None]], Fetcher],
        *,
        speculate: bool = False,
        auth: httpx.Auth | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.store = store
        self.make_fetcher = make_fetcher
        self.speculate = speculate
        self._lock = threading.Lock()
        self._tickets: dict[str, _Ticket] = {}  # sha256 -> its ticket
        self._queue: list[_Ticket] = []
        self._launching = False
        self._picks: dict[str, tuple[PageFile, str]] = {}  # project -> its last metadata read
        self._copies: dict[tuple[str, str], list[Source]] = {}  # (name, sha256) -> sources
        self._looked: dict[tuple[str, str], Future] = {}  # (mirror, project) -> its lookup
        self._fetchers: list[Fetcher] = []
        self._threads: list[threading.Thread] = []
        self._pool = ThreadPoolExecutor(8, thread_name_prefix="minstall-copies")
        self._client = httpx.Client(
            timeout=timeout_s,
            headers={"Accept": SIMPLE_ACCEPT},
            limits=httpx.Limits(max_connections=8),
            auth=auth,
            follow_redirects=True,
        )
        self.reused: list[Outcome] = []
        self.started = 0.0  # time.monotonic() of the first transfer, and of the last file done
        self.finished = 0.0

    # ------------------------------------------------------------ from the handlers

    def page_read(self, project: str, copies: list[tuple[str, str]]) -> None:
        """The installer read ``project``'s page: look for its files on ``copies`` (mirror id,
        simple index URL), in the background."""
        for mirror, simple in copies:
            key = (mirror, project)
            with self._lock:
                if key in self._looked:
                    continue
                self._looked[key] = self._pool.submit(self._look, mirror, simple, project)

    def metadata_read(self, project: str, f: PageFile, mirror: str) -> None:
        with self._lock:
            self._picks[project] = (f, mirror)

    def request(self, f: PageFile, mirror: str, project: str) -> Outcome | _Ticket:
        """The file found in the store (an outcome), or its ticket in the fetch (its ``done``
        is set with the outcome; ``ready()`` tells how much is on disk meanwhile)."""
        assert f.sha256
        job = Job(f.filename, f.sha256, None, [Source(mirror, f.url)])
        with self._lock:
            ticket = self._tickets.get(f.sha256)
        if ticket is None and self.store.has(f.sha256) and self.store.verified(f.sha256, None):
            outcome = Outcome(job, self.store.path(f.sha256), reused=True)
            with self._lock:
                self.reused.append(outcome)
            return outcome
        return self._ticket(f, mirror, project, asked=True)

    # ------------------------------------------------------------ the caller's side

    def outcomes(self) -> list[Outcome]:
        """Every file the installer asked for: fetched, found in the store, or failed."""
        with self._lock:
            fetched = [t.outcome for t in self._tickets.values() if t.asked and t.outcome]
            return [*self.reused, *fetched]

    @property
    def bytes_by_mirror(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for fetcher in self._fetchers:
            for mirror, n in fetcher.bytes_by_mirror.items():
                out[mirror] = out.get(mirror, 0) + n
        return out

    def close(self) -> None:
        """Picks nobody asked for are cancelled (their bytes stay for a later run)."""
        with self._lock:
            fetchers = list(self._fetchers)
        for fetcher in fetchers:
            fetcher.cancel("the installer did not ask for it")
        for thread in self._threads:
            thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    # ------------------------------------------------------------ inside

    def _look(self, mirror: str, simple: str, project: str) -> None:
        found = page_copies(self._client, simple, project)
        with self._lock:
            for entry in found:
                if isinstance(entry.get("filename"), str) and isinstance(entry.get("sha256"), str):
                    key = (entry["filename"], entry["sha256"].lower())
                    self._copies.setdefault(key, []).append(Source(mirror, entry["url"]))

    def _ticket(self, f: PageFile, mirror: str, project: str, asked: bool) -> _Ticket:
        assert f.sha256
        with self._lock:
            ticket = self._tickets.get(f.sha256)
            if ticket is not None:
                ticket.asked = ticket.asked or asked
                return ticket
            ticket = self._tickets[f.sha256] = _Ticket(
                Job(f.filename, f.sha256, None, [Source(mirror, f.url)]), asked=asked
            )
            self._queue.append(ticket)
            if self.speculate and asked:
                for other, (pick, pick_mirror) in self._picks.items():
                    if other == project or not pick.sha256 or pick.sha256 in self._tickets:
                        continue
                    if pick.filename.endswith(".whl") and not self.store.has(pick.sha256):
                        sources = [Source(pick_mirror, pick.url)]
                        extra = _Ticket(Job(pick.filename, pick.sha256, None, sources))
                        self._tickets[pick.sha256] = extra
                        self._queue.append(extra)
                self._picks.clear()  # picks are taken once: the resolve is over
            launch = not self._launching
            self._launching = True
        if launch:
            thread = threading.Thread(target=self._launch, daemon=True, name="minstall-batch")
            with self._lock:
                self._threads.append(thread)
            thread.start()
        return ticket

    def _launch(self) -> None:
        time.sleep(WINDOW_S)
        with self._lock:
            batch, self._queue = self._queue, []
            self._launching = False
        self._wait_for_copies()
        with self._lock:
            for ticket in batch:
                job = ticket.job
                for source in self._copies.get((job.name, job.sha256), []):
                    if all(s.mirror != source.mirror for s in job.sources):
                        job.sources.append(source)

        def done(outcome: Outcome) -> None:
            self.finished = time.monotonic()
            for ticket in batch:
                if ticket.job.sha256 == outcome.job.sha256 and not ticket.done.is_set():
                    ticket.outcome = outcome
                    ticket.done.set()

        fetcher = self.make_fetcher(done)
        with self._lock:
            self._fetchers.append(fetcher)
            for ticket in batch:
                ticket.fetcher = fetcher
            self.started = self.started or time.monotonic()
        try:
            fetcher.run([t.job for t in batch])
        except BaseException as exc:  # a bug in the fetch: every waiting request hears it
            for ticket in batch:
                if not ticket.done.is_set():
                    ticket.outcome = Outcome(ticket.job, None, f"internal error: {exc}")
                    ticket.done.set()
            raise
        finally:
            for ticket in batch:  # anything the fetcher did not report
                if not ticket.done.is_set():
                    ticket.outcome = Outcome(ticket.job, None, "the fetch ended without it")
                    ticket.done.set()

    def _wait_for_copies(self) -> None:
        deadline = time.monotonic() + COPIES_WAIT_S
        with self._lock:
            pending = list(self._looked.values())
        for future in pending:
            with contextlib.suppress(Exception):
                future.result(timeout=max(0.0, deadline - time.monotonic()))
