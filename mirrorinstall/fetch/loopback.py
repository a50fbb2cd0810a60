"""A loopback package index for one command: the mirrors' own pages, each wheel with PEP 658
metadata beside it even where the mirror has none, and the files from minstall's transfer.
[edge: network (the mirrors), a loopback HTTP server]

The installer (pip, uv) runs as typed with its public indexes pointed here, so it resolves by
its own rules. Most mirrors serve PyPI as HTML pages without ``.metadata`` files (TUNA: PEP
658 open since 2023), and PyTorch's copies as flat listings; there pip downloads every wheel it
considers, whole, to resolve. Here it asks for ``<file>.metadata``, answered, cheapest first,
from:

1. the store, when the file is already there (no network at all);
2. the mirror's own ``.metadata`` file, when its page says it has one;
3. byte ranges of the wheel: its last 64 KiB (the zip's directory, and for most wheels
   METADATA itself), then at most two more ranges (fetch/zipmeta.py), as uv reads metadata;
   what they bring is written into the file's partial download, where the transfer resumes
   (a small wheel read whole goes into the store), so no byte crosses the network twice;
4. a mirror that ignores ranges: the whole file once, verified against the page's sha256 and
   put into the store.

With an :class:`Ahead` (pip), the pages of the projects each read METADATA requires, and the
metadata of the one file pip will plainly take, are read in parallel before pip asks
(fetch/readahead.py): pip's one-project-at-a-time resolve then gets local answers instead of
a round trip to the mirror per step. Each page and metadata file is asked of the mirror once
a run, whoever asks first; the speculative file fetch still waits for pip's own metadata read.

The files themselves come from a FileSupply (fetch/supply.py): the multi-mirror transfer,
streamed to the installer as it fills; without one (``minstall fetch``'s resolve) they pass
through from the mirror. Pages keep everything the installer decides by (hashes, requires-
python, yanked); file links point here (``/f/<n>/<name>``), and :meth:`LoopbackIndex.original`
and :meth:`LoopbackIndex.unlooped` write them back as the mirror's URLs, so nothing the
installer shows or reports names the loopback address. Only the pages the caller registers
are served: a private index is never routed here.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
from filelock import Timeout
from packaging.requirements import Requirement

from mirrorinstall.fetch import paced, readahead
from mirrorinstall.fetch.readahead import Ahead
from mirrorinstall.fetch.resolve import PAGE_LIMIT, SIMPLE_ACCEPT
from mirrorinstall.fetch.simplepage import PageFile, parse_page, render_page
from mirrorinstall.fetch.spans import merged
from mirrorinstall.fetch.store import Store
from mirrorinstall.fetch.supply import UNHASHED, FileSupply, Siblings
from mirrorinstall.fetch.transfer import MAX_FILE_BYTES, Outcome
from mirrorinstall.fetch.zipmeta import METADATA_LIMIT, TAIL_BYTES, NotAWheel, wheel_metadata

BLOCK = 1024 * 1024
POLL_S = 0.05
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


class UpstreamError(Exception):
    """A mirror could not give what was asked. The installer gets ``status`` with the reason
    in the status line, worded as its own error would be, so it reads (and minstall's
    classifier reads) the mirror's fault as if it had met it itself."""

    def __init__(self, reason: str, status: int = 502, phrase: str = "Bad Gateway") -> None:
        super().__init__(reason)
        self.status, self.phrase = status, phrase


def _network(exc: httpx.HTTPError, url: str) -> UpstreamError:
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamError(f"{_where(url)}: Read timed out", 504, "Read timed out at the mirror")
    if isinstance(exc, httpx.ConnectError):
        return UpstreamError(f"{_where(url)}: Connection refused", 502, "Connection refused")
    return UpstreamError(f"{_where(url)}: {type(exc).__name__}", 502, "connection error")


class LoopbackIndex:
    """Use as a context manager; register pages with :meth:`index` and :meth:`links`."""

    def __init__(
        self,
        store: Store,
        *,
        auth: httpx.Auth | None = None,
        timeout_s: float = 30.0,
        supply: FileSupply | None = None,
        ahead: Ahead | None = None,
        relink: Callable[[str], str] | None = None,
    ) -> None:
        self.store = store
        # a file link on a host a mirror copies (PaddlePaddle's pages link Baidu's object
        # store) -> the copy's URL, so the file is not fetched past the mirror
        self.relink = relink
        self.supply = supply  # None: files pass through from the mirror (a resolve alone)
        self.ahead = ahead
        self._agent: str | None = None  # the installer's User-Agent, once it has asked
        self._pool: ThreadPoolExecutor | None = None
        self._read: dict[tuple[str, str], Future] = {}  # (index URL, project) -> its page
        self._meta: dict[str, Future] = {}  # file URL -> its metadata
        self._followed: dict[str, frozenset[str]] = {}  # project -> extras, read ahead
        self._consumed: set[tuple[str, str]] = set()  # pages the installer has read
        self._entries = 0  # file entries of the pages read ahead (readahead.MAX_ENTRIES)
        self._indexes: list[_Upstream] = []
        self._pages: list[_Upstream] = []
        self._files: list[_Entry] = []
        self._by_url: dict[str, int] = {}
        self._sizes: dict[str, int] = {}  # file URL -> size a range answer gave
        self._lock = threading.Lock()
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            follow_redirects=True,
            auth=auth,
            limits=httpx.Limits(max_connections=16),
        )
        self._server: _Server | None = None
        self.closing = False

    # ------------------------------------------------------------ the caller's side

    def __enter__(self) -> LoopbackIndex:
        handler = type("_Bound", (_Handler,), {"index": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing = True  # a request still being answered now meets a closed client
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    @property
    def base(self) -> str:
        assert self._server is not None, "use LoopbackIndex as a context manager"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def index(
        self, upstream: str, mirror: str = "origin", copies: list[tuple[str, str]] | None = None
    ) -> str:
        """The loopback URL standing for the simple index at ``upstream`` (catalog mirror
        ``mirror``); ``copies``: (mirror id, simple URL) of other indexes with the same files."""
        entry = _Upstream(upstream.rstrip("/") + "/", mirror, tuple(copies or ()))
        return f"{self.base}/i/{self._register(self._indexes, entry)}/"

    def links(self, upstream: str, mirror: str = "origin", siblings: Siblings = ()) -> str:
        """The loopback URL standing for the find-links page at ``upstream``; ``siblings``:
        the same directory on other mirrors (see FileSupply.request)."""
        entry = _Upstream(upstream, mirror, (), tuple(siblings))
        return f"{self.base}/l/{self._register(self._pages, entry)}/"

    def original(self, url: str) -> str | None:
        """The mirror URL a loopback file URL stands for (None: not one of ours)."""
        if not url.startswith(self.base + "/f/"):
            return None
        number = url[len(self.base) + 3 :].split("/", 1)[0]
        with self._lock:
            if number.isdigit() and int(number) < len(self._files):
                return self._files[int(number)].file.url
        return None

    def unlooped(self, text: str) -> str:
        """``text`` (the installer's output) with loopback URLs written as the mirror's, so a
        failure is read, blamed and shown as the mirror's own."""
        if self._server is None:
            return text

        def back(m: re.Match[str]) -> str:
            kind, number, rest = m.group(1), int(m.group(2)), m.group(3)
            with self._lock:
                if kind == "f" and number < len(self._files):
                    return self._files[number].file.url
                table = self._indexes if kind == "i" else self._pages
                if number < len(table):
                    return table[number].url + rest
            return m.group(0)

        # the rest of a URL only: a quote, a comma or a bracket after it (JSON, logs) stays
        return re.sub(re.escape(self.base) + r"/([ilf])/(\d+)/([^\s\"'<>(),;]*)", back, text)

    def unlooped_bytes(self, data: bytes) -> bytes:
        """:meth:`unlooped` for a chunk of the installer's output as it is shown."""
        if self._server is None or self.base.encode() not in data:
            return data
        return self.unlooped(data.decode("utf-8", "surrogateescape")).encode(
            "utf-8", "surrogateescape"
        )

    def _register(self, table: list[_Upstream], entry: _Upstream) -> int:
        with self._lock:
            if entry not in table:
                table.append(entry)
            return table.index(entry)

    # ------------------------------------------------------------ answering

    def page(self, source: _Upstream, project: str | None, agent: str) -> bytes | None:
        """The upstream page (``project``'s on an index, else the find-links page itself)
        with its file links pointing here (None: the mirror has no such page, which the
        installer reads as no such project). ``agent``: the installer's User-Agent, sent on
        (a mirror may answer pip otherwise than another client)."""
        if project is None:
            files = self._upstream_page(source, None, agent)
        else:
            key = (source.url, project)
            files = self._once(self._read, key, lambda: self._upstream_page(source, project, agent))
            with self._lock:  # pip reads a page once: a later ask is a new read
                self._read.pop(key, None)
                self._consumed.add(key)
        if files is None:
            return None
        if project and self.supply is not None and source.copies:
            self.supply.page_read(project, list(source.copies))
        links = []
        for f in files:
            entry = _Entry(f, source.mirror, project or project_of(f.filename), source.siblings)
            href = f"/f/{self._file(entry)}/{quote(f.filename)}"
            # every wheel's metadata is served here, the mirror's or read from the wheel
            links.append((href, replace(f, metadata=f.metadata or "true") if _wheel(f) else f))
        upstream = f"{source.url}{quote(project)}/" if project else source.url
        return render_page(f"Links for {upstream}", links)

    def _upstream_page(
        self, source: _Upstream, project: str | None, agent: str
    ) -> list[PageFile] | None:
        upstream = f"{source.url}{quote(project)}/" if project else source.url
        headers = {"Accept": SIMPLE_ACCEPT, "User-Agent": agent}
        try:
            with self._client.stream("GET", upstream, headers=headers) as r:
                if r.status_code == 404:
                    return None
                if r.status_code != 200:
                    raise UpstreamError(
                        f"{_where(upstream)} answered HTTP {r.status_code}",
                        r.status_code,
                        r.reason_phrase or "error",
                    )
                body = _bounded(r, PAGE_LIMIT, "page")
                kind, base = r.headers.get("content-type", ""), str(r.url)
        except httpx.HTTPError as exc:
            raise _network(exc, upstream) from None
        try:
            files = parse_page(body, kind, base)
            if self.relink is not None:
                files = [replace(f, url=self.relink(f.url)) for f in files]
            return files
        except ValueError as exc:
            raise UpstreamError(
                f"{_where(upstream)} sent a page that cannot be read ({exc})"
            ) from None

    def _file(self, entry: _Entry) -> int:
        with self._lock:
            number = self._by_url.get(entry.file.url)
            if number is None:
                number = self._by_url[entry.file.url] = len(self._files)
                self._files.append(entry)
            else:
                self._files[number] = entry
            return number

    def fetch(self, urls: list[str]) -> list[Outcome]:
        """Each loopback file URL fetched by the supply as if the installer had asked for it
        (``minstall fetch``: pip resolved, nothing downloaded it); an outcome each, in order.
        A file no mirror hashes ends with the supply's UNHASHED error."""
        assert self.supply is not None, "fetch() needs a FileSupply"
        waiting = []
        for url in urls:
            number = url[len(self.base) + 3 :].split("/", 1)[0]
            entry = self.file(int(number)) if self.original(url) else None
            if entry is None:
                raise ValueError(f"not a file of this loopback index: {url}")
            waiting.append(
                self.supply.request(entry.file, entry.mirror, entry.project, entry.siblings)
            )
        outcomes = []
        for got in waiting:
            if not isinstance(got, Outcome):
                while not got.done.wait(0.2):  # timed: a Ctrl-C still reaches this thread
                    pass
                assert got.outcome is not None
                got = got.outcome
            outcomes.append(got)
        return outcomes

    def file(self, number: int) -> _Entry | None:
        with self._lock:
            return self._files[number] if 0 <= number < len(self._files) else None

    def metadata(self, entry: _Entry, agent: str) -> bytes:
        """The METADATA of the wheel ``entry``, from the cheapest place that has it."""
        found = self._once(self._meta, entry.file.url, lambda: self._metadata(entry, agent))
        self._follow_metadata(entry.project, found)
        if self.supply is not None:
            with self._lock:
                size = self._sizes.get(entry.file.url, entry.file.size)
            self.supply.metadata_read(entry.project, entry.file, entry.mirror, size, entry.siblings)
        return found

    # ------------------------------------------------------------ reading ahead

    def begin(self, agent: str) -> None:
        """The installer's first request: read ahead for the command's own requirements, as
        this installer (a mirror may answer pip otherwise than another client)."""
        if self.ahead is None:
            return
        with self._lock:
            if self._agent is not None:
                return
            self._agent = agent
            self._pool = ThreadPoolExecutor(8, thread_name_prefix="minstall-ahead")
        self._follow(self.ahead.requirements)

    def _follow(self, requirements: Iterable[Requirement]) -> None:
        """Each requirement's page on every index, read in the background, once a run."""
        pool = self._pool
        if pool is None:
            return
        for req in requirements:
            project = re.sub(r"[-_.]+", "-", req.name).lower()
            extras = frozenset(req.extras)
            with self._lock:
                known = self._followed.get(project)
                if known is not None and extras <= known:
                    continue
                if known is None and len(self._followed) >= readahead.MAX_PROJECTS:
                    continue
                self._followed[project] = extras | (known or frozenset())
                sources = list(self._indexes)
            for source in sources:
                with contextlib.suppress(RuntimeError):  # the run is over
                    pool.submit(self._page_ahead, source, project, req)

    def _page_ahead(self, source: _Upstream, project: str, req: Requirement) -> None:
        assert self.ahead is not None and self._agent is not None
        agent, key = self._agent, (source.url, project)
        with self._lock:
            if self._entries >= readahead.MAX_ENTRIES:
                return
        try:
            files = self._once(
                self._read,
                key,
                lambda: self._upstream_page(source, project, agent),
                unless=self._consumed,
            )
            with self._lock:
                self._entries += len(files or ())
            f = readahead.likely_file(files or (), req, self.ahead.python, self.ahead.subdir)
            if f is None or not _wheel(f):
                return
            entry = _Entry(f, source.mirror, project, source.siblings)
            found = self._once(self._meta, f.url, lambda: self._metadata(entry, agent))
        except Exception:  # a guess that failed: pip asks for itself, and hears why
            return
        self._follow_metadata(project, found)

    def _follow_metadata(self, project: str, metadata: bytes) -> None:
        if self.ahead is None or self._pool is None:
            return
        with self._lock:
            extras = self._followed.get(project, frozenset())
        env = readahead.environment(self.ahead.python, self.ahead.subdir)
        self._follow(readahead.required(metadata, env, extras))

    def _once(
        self, table: dict, key: object, read: Callable[[], object], unless: set | None = None
    ) -> Any:
        """``read()``, once for ``key`` whoever asks first: a second asker waits for the
        first's answer; a failed answer is forgotten, so the next asker tries again. None,
        reading nothing, when ``key`` is in ``unless``."""
        with self._lock:
            if unless is not None and key in unless:
                return None
            future = table.get(key)
            mine = future is None
            if mine:
                future = table[key] = Future()
        assert future is not None
        if not mine:
            try:
                return future.result()
            except Exception:
                with self._lock:
                    if table.get(key) is future:
                        del table[key]
                return self._once(table, key, read, unless)
        try:
            value = read()
        except BaseException as exc:
            with self._lock:
                if table.get(key) is future:
                    del table[key]
            future.set_exception(exc)
            raise
        future.set_result(value)
        return value

    def _metadata(self, entry: _Entry, agent: str) -> bytes:
        f = entry.file
        if f.sha256 and self.store.has(f.sha256):
            with contextlib.suppress(OSError, zipfile.BadZipFile, NotAWheel):
                found = _from_zip(self.store.path(f.sha256))
                return found
        if f.metadata:
            got = self._mirror_metadata(f, agent)
            if got is not None:
                return got
        return self._ranged(f, agent)

    def _mirror_metadata(self, f: PageFile, agent: str) -> bytes | None:
        try:
            with self._client.stream(
                "GET", f.url + ".metadata", headers={"User-Agent": agent}
            ) as r:
                if r.status_code != 200:
                    return None
                body = _bounded(r, METADATA_LIMIT, "metadata file")
        except (httpx.HTTPError, UpstreamError):
            return None
        digest = f.metadata.partition("=")[2] if f.metadata else ""
        if digest and hashlib.sha256(body).hexdigest() != digest:
            return None  # a damaged copy: read it from the wheel instead
        return body

    def _ranged(self, f: PageFile, agent: str) -> bytes:
        headers = {"Range": f"bytes=-{TAIL_BYTES}", "User-Agent": agent}
        try:
            with self._client.stream("GET", f.url, headers=headers) as r:
                if r.status_code == 200:
                    return self._whole(f, r)
                if r.status_code != 206:
                    raise UpstreamError(
                        f"{_where(f.url)} answered HTTP {r.status_code}",
                        r.status_code if r.status_code >= 400 else 502,
                        r.reason_phrase or "error",
                    )
                m = _CONTENT_RANGE.fullmatch(r.headers.get("content-range", "").strip())
                if not m or int(m.group(3)) > MAX_FILE_BYTES:
                    raise UpstreamError(f"{_where(f.url)} sent a range without a usable size")
                tail = _bounded(r, TAIL_BYTES, "range")
                size = int(m.group(3))
                with self._lock:
                    self._sizes[f.url] = size
                if int(m.group(1)) != size - len(tail):
                    raise UpstreamError(f"{_where(f.url)} sent another range than asked for")
        except httpx.HTTPError as exc:
            raise _network(exc, f.url) from None
        self._remember(f, size, size - len(tail), tail)
        try:
            return wheel_metadata(size, tail, lambda a, b: self._range(f, size, a, b, agent))
        except NotAWheel as exc:
            raise UpstreamError(f"{f.filename} from {_where(f.url)}: {exc}") from None

    def _range(self, f: PageFile, size: int, start: int, end: int, agent: str) -> bytes:
        headers = {"Range": f"bytes={start}-{end - 1}", "User-Agent": agent}
        try:
            with self._client.stream("GET", f.url, headers=headers) as r:
                if r.status_code != 206:
                    raise NotAWheel(f"the mirror stopped serving ranges (HTTP {r.status_code})")
                body = _bounded(r, end - start, "range")
        except (httpx.HTTPError, UpstreamError) as exc:
            raise NotAWheel(str(exc)) from None
        self._remember(f, size, start, body)
        return body

    def _whole(self, f: PageFile, r: httpx.Response) -> bytes:
        """A mirror that ignores ranges: the whole file, once, into the store."""
        tmp_dir = self.store.root / "partial"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=tmp_dir, suffix=".whole")
        path = Path(name)
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out:
                total = 0
                for block in r.iter_bytes(1024 * 1024):
                    total += len(block)
                    if total > MAX_FILE_BYTES:
                        raise UpstreamError(f"{_where(f.url)} sent more than any wheel is")
                    digest.update(block)
                    out.write(block)
            if f.sha256 and digest.hexdigest() != f.sha256:
                raise UpstreamError(
                    f"{_where(f.url)} sent a copy of {f.filename} that does not match its sha256"
                )
            try:
                found = _from_zip(path)
            except (OSError, zipfile.BadZipFile, NotAWheel) as exc:
                raise UpstreamError(f"{f.filename} from {_where(f.url)}: {exc}") from None
            if f.sha256:
                self.store.put(f.sha256, path)
            return found
        finally:
            with contextlib.suppress(OSError):
                path.unlink()

    def _remember(self, f: PageFile, size: int, offset: int, data: bytes) -> None:
        """Bytes the resolve read, written into the file's partial download and its journal:
        the fetch that follows resumes from them (and a wheel read whole is stored, once its
        hash matches), so no byte crosses the network twice. Only for a file whose sha256
        the page gives: that is what the store is keyed and checked by."""
        sha = f.sha256
        if not sha or not data or self.store.has(sha):
            return
        lock = self.store.lock(sha)
        try:
            lock.acquire(timeout=0)  # another run downloading it: it has the bytes already
        except Timeout:
            return
        try:
            done = merged([*self.store.journal(sha, size), (offset, offset + len(data))])
            part = self.store.open_part(sha, size)
            try:
                part.write_at(data, offset)
            finally:
                part.close()
            self.store.record(sha, size, done)
            if done == [(0, size)] and self.store.adopt(sha) is None:
                self.store.discard(sha)  # not what the page says: the fetch starts afresh
        except OSError:
            return  # a store that cannot be written only costs the bytes again
        finally:
            lock.release()

    @contextlib.contextmanager
    def passthrough(self, f: PageFile, agent: str) -> Iterator[httpx.Response]:
        """The file itself, as the mirror sends it (pip building an sdist during its resolve)."""
        try:
            with self._client.stream("GET", f.url, headers={"User-Agent": agent}) as r:
                yield r
        except httpx.HTTPError as exc:
            raise _network(exc, f.url) from None


@dataclass(frozen=True)
class _Upstream:
    url: str
    mirror: str
    copies: tuple[tuple[str, str], ...] = ()  # other simple indexes (mirror id, URL)
    siblings: Siblings = ()  # a find-links page's directory on other mirrors


@dataclass(frozen=True)
class _Entry:
    file: PageFile
    mirror: str
    project: str
    siblings: Siblings = ()


def project_of(filename: str) -> str:
    """The normalised project name a wheel or sdist file name starts with."""
    stem = filename.split("-", 1)[0] if filename.endswith(".whl") else filename.rsplit("-", 1)[0]
    return re.sub(r"[-_.]+", "-", stem).lower()


def _wheel(f: PageFile) -> bool:
    return f.filename.endswith(".whl")


def _bounded(r: httpx.Response, limit: int, what: str) -> bytes:
    try:
        return paced.body(r, limit, what)
    except paced.Unfit as exc:
        if exc.slow:
            raise UpstreamError(f"{_where(str(r.url))} {exc}", 504, "Read timed out") from None
        raise UpstreamError(f"{_where(str(r.url))} {exc}") from None


def _from_zip(path: Path) -> bytes:
    with zipfile.ZipFile(path) as z:
        names = [n for n in z.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
        if len(names) != 1:
            raise NotAWheel(f"{len(names)} top-level .dist-info/METADATA files")
        info = z.getinfo(names[0])
        if info.file_size > METADATA_LIMIT:
            raise NotAWheel("METADATA is bigger than metadata is")
        return z.read(info)


def _where(url: str) -> str:
    """A mirror named by its host alone (a URL may carry a token)."""
    return urlsplit(url).hostname or "the mirror"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """An installer hanging up mid-answer (pip interrupted) is normal: no traceback."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    index: LoopbackIndex  # set on the subclass one LoopbackIndex makes

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._responded = False  # one handler serves every request of a kept-alive connection
        path = unquote(urlsplit(self.path).path)
        parts = path.strip("/").split("/")
        agent = self.headers.get("User-Agent", "")[:512]
        try:
            self.index.begin(agent)
            if len(parts) == 3 and parts[0] == "i" and parts[1].isdigit():
                project = re.sub(r"[-_.]+", "-", parts[2]).lower()
                self._page(self._upstream(self.index._indexes, parts[1]), project, agent)
            elif len(parts) == 2 and parts[0] == "l" and parts[1].isdigit():
                self._page(self._upstream(self.index._pages, parts[1]), None, agent)
            elif len(parts) == 3 and parts[0] == "f" and parts[1].isdigit():
                entry = self.index.file(int(parts[1]))
                if entry is None:
                    return self._answer(404, b"not a file of this run\n")
                if parts[2].endswith(".metadata") and parts[2] != entry.file.filename:
                    body = self.index.metadata(entry, agent)
                    return self._answer(200, body, "application/octet-stream")
                if (entry.file.sha256 or entry.siblings) and self.index.supply is not None:
                    return self._supplied(entry, agent)
                self._pass(entry.file, agent)
            else:
                self._answer(404, b"not here\n")
        except UpstreamError as exc:
            body = f"minstall's loopback index: {exc}\n".encode()
            self._answer(exc.status, body, phrase=exc.phrase)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # a bug, or the disk: one line, not http.server's traceback
            if self.index.closing:  # the run is over (Ctrl-C): its clients are closed
                self.close_connection = True
                return
            why = f"{type(exc).__name__}: {exc}"
            sys.stderr.write(f"minstall: loopback index: internal error serving {path}: {why}\n")
            self.close_connection = True
            if not self._responded:  # the installer reads it as the index's 500
                with contextlib.suppress(OSError):
                    self._answer(500, why.encode(), phrase="minstall internal error")

    _responded = False

    def send_response(self, code: int, message: str | None = None) -> None:
        self._responded = True
        super().send_response(code, message)

    def _upstream(self, table: list[_Upstream], number: str) -> _Upstream | None:
        with self.index._lock:
            return table[int(number)] if int(number) < len(table) else None

    def _page(self, source: _Upstream | None, project: str | None, agent: str) -> None:
        body = self.index.page(source, project, agent) if source else None
        if body is None:
            return self._answer(404, b"no such project\n")
        self._answer(200, body, "text/html; charset=utf-8")

    def _supplied(self, entry: _Entry, agent: str) -> None:
        """The file as the multi-mirror fetch fills it: headers once its size is known, then
        the bytes on disk from its start as they arrive (so the installer's own progress and
        read timeout see a flowing download), the rest from the store once verified. A file
        every mirror failed: the connection is cut (the installer reads a mirror's fault)."""
        assert self.index.supply is not None
        got = self.index.supply.request(entry.file, entry.mirror, entry.project, entry.siblings)
        if isinstance(got, Outcome):
            return self._stored(got.path)
        size = None
        while size is None:
            state = got.ready()
            if state is not None:
                size = state[1]
            elif got.done.wait(POLL_S):
                assert got.outcome is not None
                if got.outcome.error == UNHASHED:
                    return self._pass(entry.file, agent)
                if got.outcome.path is None:
                    why = f"{entry.file.filename}: {got.outcome.error}"
                    raise UpstreamError(why, 502, f"every mirror failed: {got.outcome.error}")
                return self._stored(got.outcome.path)
        self._headers(size)
        # the bytes go out as they arrive, before the file is verified, and a flat listing's
        # file has no hash the installer could check: so what was sent is hashed, and the
        # last byte waits for the verified file; a mismatch (a damaged copy, repaired since)
        # cuts the connection instead, and the installer never gets a file that is not it
        sent, digest = 0, hashlib.sha256()
        part = self.index.store.partial(got.job.sha256)[0]
        while sent < size - 1 and not got.done.is_set():
            state = got.ready()
            ready = min(state[0] if state else 0, size - 1)
            block = b""
            if ready > sent:
                try:
                    with open(part, "rb") as f:
                        f.seek(sent)
                        block = f.read(min(ready - sent, BLOCK))
                except OSError:
                    pass  # just renamed into the store: it is read there once done
            if not block:
                got.done.wait(POLL_S)
                continue
            self.wfile.write(block)
            digest.update(block)
            sent += len(block)
        while not got.done.wait(POLL_S):
            pass
        assert got.outcome is not None
        if got.outcome.path is None:
            self.close_connection = True  # cut short: the installer sees the fault
            return
        self._verified_rest(got.outcome.path, sent, digest, got.job.sha256)

    def _verified_rest(self, path: Path, sent: int, digest, sha256: str) -> None:
        """The rest of the stored (verified) file from ``sent``, its last byte only if the
        whole (``digest`` of what was sent, then the rest) is ``sha256``."""
        if sent == 0:
            return self._copy(path, 0)
        with open(path, "rb") as f:
            f.seek(sent)
            rest = f.read(BLOCK)
            while rest:
                following = f.read(BLOCK)
                out = rest if following else rest[:-1]
                self.wfile.write(out)
                digest.update(rest)
                rest = following
                if not following:
                    break
        if digest.hexdigest() != sha256:
            self.close_connection = True
            return
        with open(path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            self.wfile.write(f.read(1))

    def _stored(self, path: Path | None) -> None:
        assert path is not None
        self._headers(path.stat().st_size)
        self._copy(path, 0)

    def _headers(self, size: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def _copy(self, path: Path, offset: int) -> None:
        with open(path, "rb") as f:
            f.seek(offset)
            while block := f.read(BLOCK):
                self.wfile.write(block)

    def _pass(self, f: PageFile, agent: str) -> None:
        with self.index.passthrough(f, agent) as r:
            if r.status_code != 200:
                return self._answer(r.status_code if r.status_code >= 400 else 502, b"")
            length = r.headers.get("content-length")
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            if length and length.isdigit():
                self.send_header("Content-Length", length)
            else:
                self.close_connection = True
            self.end_headers()
            for block in r.iter_raw(1024 * 1024):
                self.wfile.write(block)

    def _answer(
        self, status: int, body: bytes, kind: str = "text/plain", phrase: str | None = None
    ) -> None:
        # a mirror's reason phrase goes on to the installer: printable characters only
        clean = "".join(c for c in phrase if c.isprintable())[:200] if phrase else None
        self.send_response(status, clean)
        self.send_header("Content-Type", kind)
        # the installer keeps nothing of ours in its HTTP cache: the address is this run's
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
