"""One farm mirror: an HTTP/1.1 server on 127.0.0.1 with injected latency, bandwidth and faults.

Implements what real clients rely on: keep-alive, HEAD, a single byte range (206, and
416 when unsatisfiable), Last-Modified/ETag with 304 answers, and PEP 691 content
negotiation. Faults are rules (:class:`Fault`) matched per request by path glob and,
optionally, by User-Agent; ``refuse`` applies to the whole mirror (closed port).
"""

from __future__ import annotations

import email.utils
import fnmatch
import functools
import gzip
import io
import itertools
import re
import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING
from urllib.parse import unquote

from .content import HTML_SIMPLE, JSON_SIMPLE, Resource

if TYPE_CHECKING:
    from .content import Content

FAULT_MODES = (
    "refuse",  # the port is closed: connection refused (whole mirror)
    "hang",  # accepts, reads the request, never answers
    "html200",  # a captive-portal / maintenance HTML page with status 200
    "forbidden403",  # a WAF block page with status 403 (optionally only for some User-Agents)
    "out-of-sync",  # the index lists the file, but the file answers 404
    "stale",  # an older index, missing the newest version, older Last-Modified
    "corrupt",  # same size, different bytes than the index's hash promises
    "corrupt-throughout",  # a copy damaged everywhere: every answer (each range too) flipped
    "truncate",  # sends the full Content-Length, closes the connection halfway
    "redirect",  # 302 to the same path on another host (e.g. back to upstream)
    "stall",  # slow start (delay_s before headers), some bytes, then silence
    "error500",  # 500 with an HTML error page
    "norange",  # ignores Range (always 200 with the whole body), as some servers and CDNs do
    "cross-origin-links",  # index pages link their files on another host (target=), as a CDN
    "future-date",  # a clock in 2099: every Last-Modified says so
    "gzip",  # gzips its answers when the client offers gzip (Content-Encoding: gzip)
    "gzip-bomb",  # a 64 KB gzip body that decodes to 64 MiB of zeros
    "huge-length",  # declares 50 GB and sends the page, then zeros, until the client stops
    "auth-required",  # 401 (WWW-Authenticate: Basic) unless Authorization is ``auth``
    "drip",  # the answer byte by byte, one every ``delay_s`` (default 0.5 s), for ``hold_s``
)

FUTURE_MTIME = 4_070_908_800.0  # 2099-01-01
ARTIFACT_GLOBS = ("*.whl", "*.conda", "*.tar.bz2")

PORTAL_PAGE = b"""<!DOCTYPE html>
<html><head><title>Wi-Fi login</title></head>
<body><h1>Welcome to Campus Wi-Fi</h1><p>Please sign in to continue.</p>
<a href="/portal-login?continue=1">Sign in</a></body></html>
"""
WAF_PAGE = b"""<!DOCTYPE html>
<html><head><title>403 Forbidden</title></head>
<body><h1>403 Forbidden</h1><p>Your request was blocked by the web application firewall.
Request ID: FARM-WAF-0001. If you think this is a mistake, contact the mirror's operators.</p>
</body></html>
"""
ERROR_PAGE = b"<html><body><h1>500 Internal Server Error</h1></body></html>\n"


@dataclass(frozen=True)
class Fault:
    """A fault rule: ``mode`` for requests whose path matches ``path`` (fnmatch glob).

    ``user_agent`` (a regex searched in the User-Agent) limits the rule to some
    clients, e.g. ``Fault("forbidden403", user_agent="pip/")``. ``target`` is the
    base URL a ``redirect`` sends to. ``delay_s`` and ``after_bytes`` shape a
    ``stall``; ``hold_s`` caps how long ``hang``/``stall`` keep a connection.
    """

    mode: str
    path: str = "*"
    user_agent: str | None = None
    target: str | None = None
    delay_s: float = 0.0
    after_bytes: int = 1024
    hold_s: float = 60.0
    page: bytes | None = None  # the page html200/forbidden403/error500 serve instead of theirs
    auth: str | None = None  # the Authorization header auth-required wants

    def __post_init__(self) -> None:
        if self.mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {self.mode!r}; known: {', '.join(FAULT_MODES)}")
        if self.mode == "gzip-bomb":
            _bomb()
        if self.mode in ("redirect", "cross-origin-links") and not self.target:
            raise ValueError(f"a {self.mode} fault needs target= (a base URL)")

    def matches(self, path: str, user_agent: str) -> bool:
        if self.mode in ("out-of-sync", "corrupt") and self.path == "*":
            if not any(fnmatch.fnmatch(path, g) for g in ARTIFACT_GLOBS):
                return False
        elif not fnmatch.fnmatch(path, self.path):
            return False
        return self.user_agent is None or re.search(self.user_agent, user_agent) is not None


@dataclass
class RequestRecord:
    method: str
    path: str
    status: int
    bytes_sent: int  # body bytes
    user_agent: str
    connection: int
    range: str | None
    started: float
    duration_s: float
    fault: str | None
    authorization: str | None = None


@dataclass
class MirrorState:
    """Everything a handler reads; changed at run time through :class:`FarmMirror`."""

    name: str
    content: Content
    paths: set[str]
    latency_s: float = 0.0
    bandwidth_bps: float | None = None  # per connection
    shared_bandwidth_bps: float | None = None  # all connections of this mirror together
    faults: list[Fault] = field(default_factory=list)
    log: list[RequestRecord] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    shared_next: float = 0.0
    connections: itertools.count = field(default_factory=itertools.count)
    connections_opened: int = 0
    html_only: bool = False  # TUNA's way: HTML pages without metadata attributes, no .metadata

    def fault_for(self, path: str, user_agent: str) -> Fault | None:
        with self.lock:
            return next(
                (f for f in self.faults if f.mode != "refuse" and f.matches(path, user_agent)), None
            )

    def record(self, rec: RequestRecord) -> None:
        with self.lock:
            self.log.append(rec)


def _negotiate(accept: str, res: Resource) -> tuple[bytes, str]:
    """PEP 691: pick JSON or HTML by the client's Accept header (q-values honoured)."""
    if not res.alternatives or not accept:
        return res.body, res.content_type
    best: tuple[float, int, str] | None = None
    for order, item in enumerate(accept.split(",")):
        parts = [p.strip() for p in item.split(";")]
        mtype, q = parts[0].lower(), 1.0
        for p in parts[1:]:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if mtype in (JSON_SIMPLE, HTML_SIMPLE, "text/html", "*/*") and q > 0:
            cand = (q, -order, mtype)
            best = cand if best is None or cand > best else best
    if best is None:
        return res.body, res.content_type
    mtype = best[2]
    if mtype == JSON_SIMPLE and JSON_SIMPLE in res.alternatives:
        return res.alternatives[JSON_SIMPLE], JSON_SIMPLE
    if mtype == HTML_SIMPLE:
        return res.body, HTML_SIMPLE
    return res.body, res.content_type


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "minstall-farm/1"
    sys_version = ""
    state: MirrorState  # set on the subclass made per mirror

    def log_message(self, format: str, *args: object) -> None:  # silence stderr
        pass

    def setup(self) -> None:
        super().setup()
        # As nginx does on keep-alive connections: without it, Nagle's algorithm holds the body
        # behind the headers until the client's delayed ACK (~40 ms on Linux) on every reuse.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.state.lock:
            self.conn_id = next(self.state.connections)
            self.state.connections_opened += 1

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    # -------------------------------------------------------------- serving

    def _serve(self, head: bool) -> None:
        st = self.state
        started = time.monotonic()
        path = unquote(self.path.split("?", 1)[0].split("#", 1)[0])
        ua = self.headers.get("User-Agent", "")
        fault = st.fault_for(path, ua)
        # Recorded before answering, and updated as the answer goes out, so a client
        # that has its response can already see it in the log.
        self._rec = RequestRecord(
            self.command,
            path,
            0,
            0,
            ua,
            self.conn_id,
            self.headers.get("Range"),
            started,
            0.0,
            fault.mode if fault else None,
            self.headers.get("Authorization"),
        )
        st.record(self._rec)
        try:
            if st.latency_s:
                time.sleep(st.latency_s)
            self._respond(path, head, fault)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            self._rec.duration_s = time.monotonic() - started

    def _respond(self, path: str, head: bool, fault: Fault | None) -> None:
        st = self.state
        mode = fault.mode if fault else None
        if mode == "hang":
            self.close_connection = True
            st.stop.wait(fault.hold_s)
            return
        if mode == "auth-required" and self.headers.get("Authorization") != fault.auth:
            self._rec.status = 401
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="farm"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if mode == "html200":
            return self._simple(200, fault.page or PORTAL_PAGE, "text/html; charset=utf-8", head)
        if mode == "forbidden403":
            return self._simple(403, fault.page or WAF_PAGE, "text/html; charset=utf-8", head)
        if mode == "error500":
            return self._simple(500, fault.page or ERROR_PAGE, "text/html", head)
        if mode == "redirect":
            self._rec.status = 302
            self.send_response(302)
            self.send_header("Location", fault.target.rstrip("/") + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        res = st.content.resources.get(path) if path in st.paths else None
        if res is None and not path.endswith("/") and path + "/" in st.paths:
            self._rec.status = 301
            self.send_response(301)
            self.send_header("Location", path + "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if res is not None and st.html_only and res.kind == "metadata":
            res = None
        if res is None or mode == "out-of-sync":
            return self._simple(
                404, b"<html><body><h1>404 Not Found</h1></body></html>\n", "text/html", head
            )
        if mode == "stale" and res.stale is not None:
            res = res.stale
        if st.html_only:
            body, ctype = _without_metadata(res.body), res.content_type
        else:
            body, ctype = _negotiate(self.headers.get("Accept", ""), res)
        if mode == "corrupt":
            body = _corrupt(body)
        encoding = None
        if mode == "gzip" and "gzip" in self.headers.get("Accept-Encoding", ""):
            body, encoding = gzip.compress(body, compresslevel=6, mtime=0), "gzip"
        elif mode == "gzip-bomb":
            body, encoding = _bomb(), "gzip"
        if mode == "cross-origin-links":  # the PyPI pages' relative file links made absolute
            body = body.replace(
                b"../../packages/", f"{fault.target.rstrip('/')}/pypi/packages/".encode()
            )
        mtime = FUTURE_MTIME if mode == "future-date" else res.mtime
        etag = '"' + res.etag.strip('"') + ("-json" if ctype == JSON_SIMPLE else "") + '"'
        if self._not_modified(etag, mtime):
            self._rec.status = 304
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", email.utils.formatdate(mtime, usegmt=True))
            self.end_headers()
            return
        status, start, end = 200, 0, len(body)
        ranged = mode not in ("norange", "gzip", "gzip-bomb", "huge-length")
        rng = self.headers.get("Range") if ranged else None
        if rng:
            parsed = _parse_range(rng, len(body))
            if parsed == "unsatisfiable":
                self._rec.status = 416
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if parsed is not None:
                status, (start, end) = 206, parsed
        self._rec.status = status
        if mode == "stall" and fault.delay_s:
            time.sleep(fault.delay_s)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        declared = HUGE_LENGTH if mode == "huge-length" else end - start
        self.send_header("Content-Length", str(declared))
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Accept-Ranges", "bytes" if ranged else "none")
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", email.utils.formatdate(mtime, usegmt=True))
        if ctype == JSON_SIMPLE or res.alternatives:
            self.send_header("Vary", "Accept")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(body)}")
        self.end_headers()
        if head:
            return
        payload = memoryview(body)[start:end]
        if mode == "corrupt-throughout":
            payload = memoryview(_corrupt(bytes(payload)))
        if mode == "truncate":
            self._write(payload[: len(payload) // 2])
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if mode == "huge-length":
            self._write(payload)
            zeros = memoryview(bytes(1024 * 1024))
            while not st.stop.is_set() and self._rec.bytes_sent < HUGE_SENT_MAX:
                self._write(zeros)  # until the client hangs up (BrokenPipe ends the handler)
            self.close_connection = True
            return
        if mode == "drip":  # alive, never silent long enough for a read timeout, useless
            until = time.monotonic() + fault.hold_s
            for k in range(len(payload)):
                if st.stop.is_set() or time.monotonic() > until:
                    break
                self._write(payload[k : k + 1])
                self.wfile.flush()
                time.sleep(fault.delay_s or 0.5)
            self.close_connection = True
            return
        if mode == "stall":
            self._write(payload[: fault.after_bytes])
            self.wfile.flush()
            self.close_connection = True
            st.stop.wait(fault.hold_s)
            return
        self._write(payload)

    def _simple(self, status: int, body: bytes, ctype: str, head: bool) -> None:
        self._rec.status = status
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self._write(memoryview(body))

    def _not_modified(self, etag: str, mtime: float) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            return etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                since = email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError):
                return False
            return int(mtime) <= since
        return False

    def _write(self, data: memoryview) -> None:
        """Send ``data``, paced by the per-connection and the shared bandwidth caps."""
        st = self.state
        chunk = 16 * 1024
        t0 = time.monotonic()
        sent_here = 0
        for offset in range(0, len(data), chunk):
            piece = data[offset : offset + chunk]
            if st.bandwidth_bps:
                due = t0 + (sent_here + len(piece)) / st.bandwidth_bps
                _sleep_until(due)
            if st.shared_bandwidth_bps:
                with st.lock:
                    now = time.monotonic()
                    # a token bucket 50 ms deep, as a link's buffer: a sender that wakes late
                    # (threads of one process share a GIL) catches up instead of losing the
                    # slot, and the mirror still averages its cap
                    start = max(st.shared_next, now - SHARED_BURST_S)
                    st.shared_next = start + len(piece) / st.shared_bandwidth_bps
                    due = st.shared_next
                _sleep_until(due)
            if st.stop.is_set():
                self.close_connection = True
                return
            sent_here += len(piece)
            self._rec.bytes_sent += len(piece)
            self.wfile.write(piece)


SHARED_BURST_S = 0.05


_METADATA_ATTR = re.compile(rb' data-(?:dist-info|core)-metadata="[^"]*"')


def _without_metadata(body: bytes) -> bytes:
    """An HTML page as a mirror without PEP 658 files serves it: no metadata attributes."""
    return _METADATA_ATTR.sub(b"", body)


def _sleep_until(due: float) -> None:
    delay = due - time.monotonic()
    if delay > 0:
        time.sleep(delay)


HUGE_LENGTH = 50 * 10**9
HUGE_SENT_MAX = 2 * 1024**3  # a client that never stops reading still ends somewhere


@functools.lru_cache(maxsize=1)
def _bomb() -> bytes:
    """64 MiB of zeros, gzipped: about 64 KB on the wire (made when the fault is set, not
    while a client waits)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9, mtime=0) as z:
        block = bytes(1024 * 1024)
        for _ in range(64):
            z.write(block)
    return out.getvalue()


def _corrupt(body: bytes) -> bytes:
    """Flip 64 bytes in the middle: same size, different hash (as the conda recording did)."""
    out = bytearray(body)
    mid = len(out) // 2
    for i in range(mid, min(mid + 64, len(out))):
        out[i] ^= 0xFF
    return bytes(out)


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """A single ``bytes=`` range -> (start, end_exclusive); None to ignore (serve 200)."""
    m = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header)
    if not m or (not m.group(1) and not m.group(2)):
        return None  # several ranges or junk: ignoring Range is allowed (RFC 9110 14.2)
    first, last = m.group(1), m.group(2)
    if first:
        start = int(first)
        end = min(int(last) + 1, size) if last else size
        if start >= size:
            return "unsatisfiable"
        if end <= start:
            return None
        return start, end
    suffix = int(last)
    if suffix == 0:
        return "unsatisfiable"
    return max(0, size - suffix), size


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up between requests (conda closing its pool) is normal."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class MirrorServer:
    """Owns the listening socket of one mirror, and swaps it for a closed port on ``refuse``."""

    def __init__(self, state: MirrorState) -> None:
        self.state = state
        handler = type(f"Handler_{state.name}", (_Handler,), {"state": state})
        self._handler = handler
        self._server: _Server | None = None
        self._placeholder: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self._start()

    def _start(self) -> None:
        self._server = _Server(("127.0.0.1", self.port), self._handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"farm-{self.state.name}",
            daemon=True,
        )
        self._thread.start()

    def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def set_refusing(self, refuse: bool) -> None:
        if refuse and self._placeholder is None:
            self._stop_listening()
            # Bound but not listening: connects get RST (ECONNREFUSED), and no one else
            # can take the port meanwhile.
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self.port))
            self._placeholder = sock
        elif not refuse and self._placeholder is not None:
            self._placeholder.close()
            self._placeholder = None
            self._start()

    def close(self) -> None:
        self.state.stop.set()
        self._stop_listening()
        if self._placeholder is not None:
            self._placeholder.close()
            self._placeholder = None
