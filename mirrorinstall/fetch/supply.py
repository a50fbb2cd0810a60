"""The files an installer asks the loopback index for, fetched across every mirror that has
them into the store, and handed over as they arrive.  [edge: network, disk, threads]

One open transfer (fetch/transfer.py) serves the whole run: every file joins it when it is
wanted, so a fixed number of connections per mirror is shared by all of them (mirrors limit
connections per address). A file is wanted when the installer asks for it, and, for pip
(``speculate``), already when pip reads its metadata: pip resolves first and downloads one
file at a time afterwards, so the transfer runs during the resolve instead of after it. When
pip reads another file's metadata for the same project (it backtracked), the earlier one is
dropped; a file nobody asked for by the end is cancelled. Either way its bytes stay in the
store's partial area, where a later run resumes.

Other copies of a file (the next-ranked PyPI mirrors listing the same name with the same
sha256) are looked up while the installer reads the project's page, in the background, and
joined to the file's sources before it is fetched.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx

from mirrorinstall.fetch.jobs import Job, Source
from mirrorinstall.fetch.resolve import SIMPLE_ACCEPT, page_copies
from mirrorinstall.fetch.simplepage import PageFile
from mirrorinstall.fetch.store import Store
from mirrorinstall.fetch.transfer import Fetcher, Outcome

UNHASHED = "no page lists its sha256"  # the installer downloads it as it would
Siblings = tuple[tuple[str, str, str], ...]  # (mirror, "index" | "flat", directory URL)
COPIES_WAIT_S = 5.0  # longest wait for the other mirrors' pages before a file is fetched


@dataclass
class _Ticket:
    job: Job
    project: str
    fetcher: Fetcher
    store: Store
    done: threading.Event = field(default_factory=threading.Event)
    outcome: Outcome | None = None
    asked: bool = False  # the installer asked for it (not only read its metadata)

    def ready(self) -> tuple[int, int] | None:
        """(bytes on disk from the start, size) while it is being fetched: by this run, else
        by another minstall process whose store lock this run waits for (its journal tells),
        so the installer sees bytes flowing either way, not a silence its timeout ends."""
        if not self.job.sha256:
            return None
        return self.fetcher.ready(self.job.sha256) or self.store.on_disk(self.job.sha256)


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
        self.speculate = speculate
        self._lock = threading.Lock()
        self._tickets: dict[str, _Ticket] = {}  # _key(file) -> its ticket
        self._picks: dict[str, str] = {}  # project -> the key of its last metadata read
        # (mirror, file name) -> its head start (a file of a listing without hashes)
        self._early: dict[tuple[str, str], _Ticket] = {}
        self._copies: dict[tuple[str, str], list[Source]] = {}  # (name, sha256) -> sources
        self._looked: dict[tuple[str, str], Future] = {}  # (mirror, project) -> its lookup
        self._pool = ThreadPoolExecutor(8, thread_name_prefix="minstall-supply")
        self._client = httpx.Client(
            timeout=timeout_s,
            headers={"Accept": SIMPLE_ACCEPT},
            limits=httpx.Limits(max_connections=8),
            auth=auth,
            follow_redirects=True,
        )
        self._fetcher = make_fetcher(self._done)
        self._fetcher.open()
        self.reused: list[Outcome] = []
        self.started = 0.0  # time.monotonic() of the first file wanted, and of the last done
        self.finished = 0.0

    # ------------------------------------------------------------ from the handlers

    def head_start(self, f: PageFile, mirror: str, project: str, siblings: Siblings = ()) -> None:
        """A file the installer is certain to take (an exact pin on a flat listing: see
        rewrite/torchpin.py certain_files) wanted before the installer has even started; its
        own request for the same file name on that listing is then this one."""
        ticket = self._want(f, mirror, project, None, siblings, asked=False)
        with self._lock:
            self._early[(mirror, f.filename)] = ticket
            self._picks[project] = _key(f)

    def page_read(self, project: str, copies: list[tuple[str, str]]) -> None:
        """The installer read ``project``'s page: look for its files on ``copies`` (mirror id,
        simple index URL), in the background."""
        for mirror, simple in copies:
            key = (mirror, project)
            with self._lock:
                if key in self._looked:
                    continue
                self._looked[key] = self._pool.submit(self._look, mirror, simple, project)

    def metadata_read(
        self, project: str, f: PageFile, mirror: str, size: int | None, siblings: Siblings = ()
    ) -> None:
        """pip read ``f``'s metadata: its file is wanted from now (``speculate``), and an
        earlier pick of the same project nobody asked for is dropped."""
        if not (self.speculate and f.filename.endswith(".whl") and (f.sha256 or siblings)):
            return
        with self._lock:
            key = self._alias(f, mirror)
            earlier = self._picks.get(project)
            self._picks[project] = key
            dropped = self._tickets.get(earlier) if earlier and earlier != key else None
            if dropped is not None and dropped is self._tickets.get(key):
                dropped = None  # the same file under two spellings of its URL
        if dropped is not None and not dropped.asked and dropped.job.sha256:
            self._fetcher.drop(dropped.job.sha256, "pip chose another version")
        if not (f.sha256 and self.store.has(f.sha256)):
            self._want(f, mirror, project, size, siblings, asked=False)

    def request(
        self, f: PageFile, mirror: str, project: str, siblings: Siblings = ()
    ) -> Outcome | _Ticket:
        """The file found in the store (an outcome), or its ticket in the transfer (``done``
        is set with the outcome; ``ready()`` tells how much is on disk meanwhile). A file
        whose page gives no sha256 is looked up on ``siblings`` (the same directory on other
        mirrors: an index-layout copy gives the hash); when none gives it, the outcome's
        error is UNHASHED and the file is the installer's to download."""
        with self._lock:
            ticket = self._tickets.get(_key(f))
        if (
            ticket is None
            and f.sha256
            and self.store.has(f.sha256)
            and self.store.verified(f.sha256, None)
        ):
            job = Job(f.filename, f.sha256, None, [Source(mirror, f.url)])
            outcome = Outcome(job, self.store.path(f.sha256), reused=True)
            with self._lock:
                self.reused.append(outcome)
            return outcome
        return self._want(f, mirror, project, None, siblings, asked=True)

    # ------------------------------------------------------------ the caller's side

    def outcomes(self) -> list[Outcome]:
        """Every file the installer asked for: fetched, found in the store, or failed."""
        with self._lock:
            tickets = {id(t): t for t in self._tickets.values()}.values()  # aliases once
            fetched = [
                t.outcome for t in tickets if t.asked and t.outcome and t.outcome.error != UNHASHED
            ]
            return [*self.reused, *fetched]

    @property
    def bytes_by_mirror(self) -> dict[str, int]:
        return self._fetcher.bytes_by_mirror

    def close(self) -> None:
        """Files nobody asked for are cancelled (their bytes stay for a later run)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._fetcher.close()
        self._client.close()

    # ------------------------------------------------------------ inside

    def _want(
        self,
        f: PageFile,
        mirror: str,
        project: str,
        size: int | None,
        siblings: Siblings,
        asked: bool,
    ) -> _Ticket:
        with self._lock:
            ticket = self._tickets.get(self._alias(f, mirror))
            if ticket is not None and not (
                ticket.done.is_set() and ticket.outcome and ticket.outcome.path is None and asked
            ):
                ticket.asked = ticket.asked or asked
                return ticket
            job = Job(f.filename, f.sha256 or "", size, [Source(mirror, f.url)])
            ticket = _Ticket(job, project, self._fetcher, self.store, asked=asked)
            self._tickets[_key(f)] = ticket
            self.started = self.started or time.monotonic()
        self._pool.submit(self._add, ticket, siblings)
        return ticket

    def _alias(self, f: PageFile, mirror: str) -> str:
        """The key of ``f``'s ticket (the lock is held): an unhashed file of a head start
        is that ticket, however the installer's page spells its URL."""
        key = _key(f)
        early = None if f.sha256 else self._early.get((mirror, f.filename))
        if early is not None and key not in self._tickets:
            self._tickets[key] = early
        return key

    def _add(self, ticket: _Ticket, siblings: Siblings = ()) -> None:
        try:
            job = ticket.job
            if not job.sha256 and not self._hash_from(job, ticket.project, siblings):
                return self._done(Outcome(job, None, UNHASHED))
            self._wait_for_copies(ticket.project)
            with self._lock:
                for source in self._copies.get((job.name, job.sha256), []):
                    if all(s.mirror != source.mirror for s in job.sources):
                        job.sources.append(source)
            self._fetcher.add(job)
        except Exception as exc:  # a bug in the fetch: the waiting request hears it
            self._done(Outcome(ticket.job, None, f"internal error: {type(exc).__name__}: {exc}"))

    def _done(self, outcome: Outcome) -> None:
        with self._lock:
            mine = [t for t in self._tickets.values() if t.job is outcome.job]
            self.finished = time.monotonic()
        for ticket in mine:
            if not ticket.done.is_set():
                ticket.outcome = outcome
                ticket.done.set()

    def _hash_from(self, job: Job, project: str, siblings: Siblings) -> bool:
        """The sha256 of a file its page does not hash, from a sibling directory in the index
        layout (NJU's copy of download.pytorch.org lists it on ``<variant>/<project>/``); the
        flat siblings become sources of the same file name. False when no sibling hashes it."""
        found = None
        for mirror, layout, directory in siblings:
            if layout != "index" or found:
                continue
            for entry in page_copies(self._client, directory, project):
                if entry.filename == job.name and entry.sha256:
                    found = entry.sha256
                    job.sources.append(Source(mirror, entry.url))
                    break
        if not found:
            return False
        job.sha256 = found
        for mirror, layout, directory in siblings:
            if layout == "flat" and all(s.mirror != mirror for s in job.sources):
                job.sources.append(Source(mirror, directory + quote(job.name)))
        return True

    def _look(self, mirror: str, simple: str, project: str) -> None:
        found = page_copies(self._client, simple, project)
        with self._lock:
            for entry in found:
                key = (entry.filename, entry.sha256 or "")
                self._copies.setdefault(key, []).append(Source(mirror, entry.url))

    def _wait_for_copies(self, project: str) -> None:
        deadline = time.monotonic() + COPIES_WAIT_S
        with self._lock:
            pending = [f for (_m, p), f in self._looked.items() if p == project]
        for future in pending:
            with contextlib.suppress(Exception):
                future.result(timeout=max(0.0, deadline - time.monotonic()))


def _key(f: PageFile) -> str:
    return f.sha256 or f"url:{f.url}"
