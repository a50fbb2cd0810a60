"""Probe mirrors over the network, all at once, within one deadline.  [edge: network]

For each :class:`~mirrorinstall.targets.Target`, on one reused connection:

1. latency: at least 3 small ranged GETs of the target page (the first one's TCP
   connect and TLS handshake are measured apart, through httpx's trace hook);
2. validity: the page must be what was asked (repodata JSON, a simple page with links
   to the project's files, a wheel listing). An HTML/WAF page, an error status or a
   redirect to another host is a failure with a reason;
3. throughput: a ranged GET of the biggest artifact the page names (or of the page
   itself when it is bigger), stopped at the target's share of the byte budget;
4. freshness facts: Last-Modified, newest package time or newest version.

A failure is data (``ProbeResult.error``), never an exception. A probe still running
at the deadline is cancelled and reports what it had measured.

Names are resolved once, before any probe, every host in parallel (``resolve_hosts``): a
connect timeout then measures the connection alone, a resolver that drops bursts of lookups
cannot make one probe of a host fail while another measures it, and a name that does not
resolve is reported as a DNS failure. Probes connect to the address resolved (the URL, the
Host header and TLS's server name keep the host name).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import math
import socket
import ssl
import statistics
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from mirrorinstall import __version__
from mirrorinstall.bench.pages import (
    SIMPLE_ACCEPT,
    Invalid,
    PageFacts,
    check_repodata,
    check_repodata_head,
    check_simple_page,
    check_wheel_listing,
    parse_http_date,
    what_was_served,
)
from mirrorinstall.bench.targets import Target
from mirrorinstall.core.catalog import is_loopback
from mirrorinstall.core.credentials import Credential
from mirrorinstall.core.untrusted import printable
from mirrorinstall.core.urls import origin, split_url

USER_AGENT = f"minstall/{__version__} (+bench)"
# Sent only to tell "rejects minstall's User-Agent" from "blocks everyone".
FALLBACK_USER_AGENT = "Mozilla/5.0 (compatible; mirror-check)"
LATENCY_SAMPLES = 5
HEAD_BYTES = 1024
MAX_REDIRECTS = 3
MIN_THROUGHPUT_BYTES = 16 * 1024  # below this a transfer says little about bandwidth
CHECK_MAX = 256 * 1024  # the integrity check downloads at most this much
DNS_SHARE = 0.5  # at most this share of the deadline waits on name resolution
SKEW_S = 24 * 3600  # a server clock this far ahead is wrong, not early
EARLIEST_S = 631152000.0  # 1990-01-01: older than any package index

# (host, port) -> one address to connect to; raises OSError (socket.gaierror) when it cannot
Resolver = Callable[[str, int], Awaitable[str]]


async def system_resolve(host: str, port: int) -> str:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return str(infos[0][4][0])


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@dataclass
class Resolution:
    """Names looked up before the bench: host -> address, and host -> why it failed."""

    addresses: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


async def resolve_hosts(
    hosts: Iterable[tuple[str, int]], resolver: Resolver, timeout_s: float
) -> Resolution:
    """Each name looked up once, all at once (addresses are kept as they are)."""
    found = Resolution()

    async def one(host: str, port: int) -> None:
        try:
            found.addresses[host] = await asyncio.wait_for(resolver(host, port), timeout_s)
        except asyncio.TimeoutError:
            found.errors[host] = f"DNS: no answer for {host} within {timeout_s:g} s"
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            found.errors[host] = f"DNS: cannot resolve {host} ({reason})"

    wanted = {h: port for h, port in hosts if not _is_address(h)}
    await asyncio.gather(*(one(h, port) for h, port in wanted.items()))
    return found


class _ResolvedBackend(httpcore.AsyncNetworkBackend):
    """Connects to the address resolved before the bench instead of looking the name up."""

    def __init__(self, addresses: Mapping[str, str]) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._addresses = addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_tcp(
            self._addresses.get(host, host),
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable | None = None
    ) -> httpcore.AsyncNetworkStream:  # pragma: no cover - mirrors are TCP
        return await self._inner.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _transport(
    tls: ssl.SSLContext, limits: httpx.Limits, addresses: Mapping[str, str]
) -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport(verify=tls, limits=limits, trust_env=False)
    # httpx takes no network backend of its own, so its connection pool is made again, with
    # the same settings, around one that connects to the addresses resolved up front
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=tls,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_ResolvedBackend(addresses),
    )
    return transport


@dataclass
class ProbeResult:
    target: Target
    ok: bool = False
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    connect_ms: float | None = None
    latency_samples_ms: list[float] = field(default_factory=list)
    throughput_bps: float | None = None
    throughput_url: str | None = None
    bytes: int = 0
    last_modified_s: float | None = None
    newest: str | None = None
    newest_time_s: float | None = None
    final_url: str | None = None
    elapsed_s: float = 0.0
    stage: str = "queued"

    @property
    def latency_ms(self) -> float | None:
        return statistics.median(self.latency_samples_ms) if self.latency_samples_ms else None


class _Fail(Exception):
    """Ends one probe with a reason (a failure is data, so this never leaves this module)."""


@dataclass
class _Timing:
    connect_s: float = 0.0
    marks: dict[str, float] = field(default_factory=dict)

    async def trace(self, event: str, info: Mapping[str, object]) -> None:
        now = time.perf_counter()
        if event.endswith(".started"):
            self.marks[event[: -len(".started")]] = now
        elif event.endswith(".complete") and event.startswith(
            ("connection.connect_tcp", "connection.start_tls")
        ):
            start = self.marks.get(event[: -len(".complete")])
            if start is not None:
                self.connect_s += now - start


@dataclass(frozen=True)
class _Timed:
    """A body timed from its first chunk to its last: ``bytes`` after the first chunk, since the
    wait for the first byte is latency, not bandwidth."""

    bytes: int
    seconds: float
    more: bool = False  # the answer went on past what was read (the limit was reached)


class _Probe:
    def __init__(
        self,
        target: Target,
        client: httpx.AsyncClient,
        result: ProbeResult,
        byte_limit: int,
        environ: Mapping[str, str],
    ) -> None:
        self.t = target
        self.client = client
        self.r = result
        self.limit = byte_limit
        # only what _get decodes (httpx would also offer br and zstd when their modules exist)
        self.headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}
        token = environ.get(target.token_env) if target.token_env else None
        where = origin(target.url)
        self.credential = (
            Credential(target.mirror, where, target.token_user, token)
            if token and where and (where[0] == "https" or is_loopback(where[1]))
            else None
        )

    def _auth(self, url: str) -> dict[str, str]:
        """The token's header for ``url`` only if it is the mirror's own origin (scheme, host,
        port) over https or loopback (core/credentials.py): a page's links and redirects can
        name any host, and a token sent there, or in clear, is a token given away."""
        if self.credential is None or origin(url) != self.credential.origin:
            return {}
        return {"Authorization": self.credential.header}

    def _when(self, stamp: float | None, what: str) -> float | None:
        """A server's timestamp, or None with a warning when it cannot be true: in the future
        (beyond a day of clock skew; one mirror saying 2099 made every other one look stale
        by 26,329 days), before 1990, or not a finite number."""
        if stamp is None:
            return None
        if not math.isfinite(stamp) or stamp < EARLIEST_S or stamp > time.time() + SKEW_S:
            shown = (
                datetime.fromtimestamp(stamp, tz=timezone.utc).strftime("%Y-%m-%d")
                if math.isfinite(stamp) and 0 <= stamp < 253402300800  # year 9999
                else str(stamp)
            )
            warning = f"{what} {shown} is not a plausible date; freshness ignores it"
            if warning not in self.r.warnings:
                self.r.warnings.append(warning)
            return None
        return stamp

    @property
    def room(self) -> int:
        return max(0, self.limit - self.r.bytes)

    async def _get(
        self,
        url: str,
        *,
        max_bytes: int,
        extra: Mapping[str, str] | None = None,
        timing: _Timing | None = None,
    ) -> tuple[httpx.Response, bytes, _Timed]:
        """GET at most ``max_bytes`` of ``url`` (same-host redirects followed).

        Returns the response, the body bytes read, and how long the body took.
        """
        for _ in range(MAX_REDIRECTS + 1):
            headers = {**self.headers, **(extra or {}), **self._auth(url)}
            request = self.client.build_request(
                "GET", url, headers=headers, extensions=({"trace": timing.trace} if timing else {})
            )
            response = await self.client.send(request, stream=True)
            try:
                if response.is_redirect:
                    location = response.headers.get("location", "")
                    if split_url(location) is None:
                        raise _Fail(f"redirects to something that is not a URL from {url}")
                    target = urljoin(url, location)
                    if urlsplit(target).netloc != urlsplit(url).netloc:
                        raise _Fail(
                            f"redirects to {urlsplit(target).netloc} (another host) "
                            f"instead of serving {url}"
                        )
                    url = target
                    continue
                declared = response.headers.get("content-length")
                # Stop early only when the server sends more than we want (it ignored the
                # Range); otherwise read to the end so the connection can be reused.
                cut = declared is None or int(declared) > max_bytes
                decoder = _decoder(response.headers.get("content-encoding", ""))
                # Throughput is timed from the first body chunk to the last, over the bytes
                # after the first: the wait for the first byte is latency, not bandwidth.
                first_at, first_len, got, more = 0.0, 0, 0, False
                body = bytearray()
                async for chunk in response.aiter_raw():
                    take = chunk[: max_bytes - got]
                    if not got:
                        first_at, first_len = time.perf_counter(), len(take)
                    got += len(take)
                    self.r.bytes += len(take)
                    if decoder is None:
                        body += take
                    else:
                        # decoded bytes are bounded too: a gzip bomb stops at max_bytes + 1
                        try:
                            body += decoder.decompress(take, max_bytes + 1 - len(body))
                        except zlib.error:
                            raise _Fail(
                                f"sent a {decoder.name} body that does not decode"
                            ) from None
                        if len(body) > max_bytes:
                            del body[max_bytes:]
                            more = True
                            break
                    if got >= max_bytes and (cut or len(take) < len(chunk)):
                        more = True
                        break
                seconds = (time.perf_counter() - first_at) if got else 0.0
                return response, bytes(body), _Timed(got - first_len, seconds, more)
            finally:
                await response.aclose()
        raise _Fail(f"more than {MAX_REDIRECTS} redirects from {url}")

    def _check_status(self, response: httpx.Response, body: bytes, what: str) -> None:
        code = response.status_code
        if code in (200, 206):
            return
        served = what_was_served(body, response.headers.get("content-type", ""))
        if code == 403:
            raise _Fail(f"403 Forbidden for {what} (served {served}: a WAF or anti-abuse block)")
        if code == 404:
            raise _Fail(f"404 Not Found: {what} is not on this mirror")
        if code == 416:
            raise _Fail(f"416 for a byte range of {what} (ranges not supported)")
        kind = "server error" if code >= 500 else "unexpected status"
        raise _Fail(f"HTTP {code} ({kind}) for {what}")

    async def run(self) -> None:
        r, t = self.r, self.t
        r.stage = "latency"
        await self._latency()
        r.stage = "validity"
        facts = await self._page()
        r.newest, r.newest_time_s = facts.newest, self._when(facts.newest_time_s, "newest file")
        r.stage = "integrity"
        await self._integrity(facts)
        r.stage = "throughput"
        await self._throughput(facts)
        r.ok = True
        r.stage = "done"
        if t.kind == "conda" and r.throughput_bps is None:
            r.warnings.append("too little data for a throughput figure")

    async def _latency(self) -> None:
        r = self.r
        asked_other_ua = False
        extra = {"Range": f"bytes=0-{HEAD_BYTES - 1}", **self._accept()}
        while len(r.latency_samples_ms) < LATENCY_SAMPLES:
            first = not r.latency_samples_ms
            timing = _Timing()
            t0 = time.perf_counter()
            response, body, _ = await self._get(
                self.t.url, max_bytes=HEAD_BYTES, extra=extra, timing=timing
            )
            elapsed = time.perf_counter() - t0
            if first and response.status_code == 403 and not asked_other_ua:
                asked_other_ua = True
                if await self._answers_other_user_agent():
                    continue
            self._check_status(response, body, self.t.url)
            if first:
                r.final_url = str(response.url)
                r.connect_ms = timing.connect_s * 1000
                r.last_modified_s = self._when(
                    parse_http_date(response.headers.get("last-modified")), "Last-Modified"
                )
                if self.t.kind == "conda":
                    bad = check_repodata_head(body, response.headers.get("content-type", ""))
                    if bad:
                        raise _Fail(bad.reason)
            r.latency_samples_ms.append(max(0.0, elapsed - timing.connect_s) * 1000)

    async def _answers_other_user_agent(self) -> bool:
        """403 to minstall's User-Agent: does the mirror answer another one?"""
        headers = {
            **self.headers,
            "User-Agent": FALLBACK_USER_AGENT,
            "Range": f"bytes=0-{HEAD_BYTES - 1}",
        }
        response, _, _ = await self._get(self.t.url, max_bytes=HEAD_BYTES, extra=headers)
        if response.status_code not in (200, 206):
            return False
        self.r.warnings.append(
            "rejects the minstall User-Agent (403) but answers other "
            "clients; measured with a generic User-Agent"
        )
        self.headers["User-Agent"] = FALLBACK_USER_AGENT
        return True

    def _accept(self) -> dict[str, str]:
        return {"Accept": SIMPLE_ACCEPT} if self.t.kind in ("pypi", "pytorch") else {}

    async def _page(self) -> PageFacts:
        """Fetch the whole page (up to half the room left) and check what it says."""
        t, r = self.t, self.r
        limit = max(HEAD_BYTES, self.room // 2) if t.kind == "conda" else self.room
        extra = (
            {"Range": f"bytes=0-{limit - 1}", "Accept-Encoding": "identity"}
            if t.kind == "conda"
            else self._accept()
        )
        response, body, timed = await self._get(t.url, max_bytes=limit, extra=extra)
        self._check_status(response, body, t.url)
        ctype = response.headers.get("content-type", "")
        r.last_modified_s = (
            self._when(parse_http_date(response.headers.get("last-modified")), "Last-Modified")
            or r.last_modified_s
        )
        self._note_throughput(timed, t.url)
        total = _total_size(response)
        encoded = response.headers.get("content-encoding", "identity").strip() != "identity"
        if timed.more or (total is not None and total > len(body) and not encoded):
            if t.kind != "conda":
                # one project's index page is far smaller than a probe's share of the budget;
                # one that is not (a gzip bomb, a huge declared length) would rank on bytes
                # nobody checked, and break the installer that then reads it
                raise _Fail(
                    f"its index page is bigger than {limit} bytes, its share of the byte "
                    "budget (a gzip bomb or a page that does not end); raise --budget if "
                    "the page is real"
                )
            # repodata is big: the bytes read were the throughput measurement; only the
            # start of it can be checked
            bad = check_repodata_head(body, ctype)
            if bad:
                raise _Fail(bad.reason)
            return PageFacts()
        if t.kind == "conda":
            facts = check_repodata(body, ctype, str(response.url))
        elif t.kind == "pypi":
            facts = check_simple_page(body, ctype, str(response.url), t.project)
        else:
            facts = check_wheel_listing(body, ctype, str(response.url), t.project)
        if isinstance(facts, Invalid):
            raise _Fail(facts.reason)
        return facts

    async def _integrity(self, facts: PageFacts) -> None:
        """Download the smallest file whose hash the index gives, whole, and check it."""
        small = facts.smallest
        cap = min(self.room // 4, CHECK_MAX)
        if small is None or (small.size or 0) > cap:
            return
        extra = {"Accept-Encoding": "identity"}
        response, body, _ = await self._get(small.url, max_bytes=small.size or cap + 1, extra=extra)
        if small.size is None and len(body) > cap:
            return  # bigger than we download for a check (its size was not in the index)
        name = small.url.rsplit("/", 1)[-1]
        self._check_artifact(response, body, small.url)
        if hashlib.sha256(body).hexdigest() != small.sha256:
            raise _Fail(
                f"corrupt: {name} does not match the sha256 its index gives "
                f"({len(body)} bytes received)"
            )

    async def _throughput(self, facts: PageFacts) -> None:
        artifact = facts.artifact
        if artifact is None or self.room < MIN_THROUGHPUT_BYTES:
            return
        limit = self.room if artifact.size is None else min(self.room, artifact.size)
        response, body, timed = await self._get(
            artifact.url,
            max_bytes=limit,
            extra={"Range": f"bytes=0-{limit - 1}", "Accept-Encoding": "identity"},
        )
        self._check_artifact(response, body, artifact.url)
        self._note_throughput(timed, artifact.url)

    def _check_artifact(self, response: httpx.Response, body: bytes, url: str) -> None:
        """A file its index lists must be there: a 404 means the mirror is out of sync."""
        if response.status_code == 404:
            raise _Fail(
                f"out of sync: the index lists {url.rsplit('/', 1)[-1]}, but the file answers 404"
            )
        self._check_status(response, body, url)

    def _note_throughput(self, timed: _Timed, url: str) -> None:
        """Keep the figure from the biggest transfer (small ones mostly measure latency)."""
        if timed.bytes < MIN_THROUGHPUT_BYTES or timed.seconds <= 0:
            return
        if self.r.throughput_url is None or timed.bytes >= self._best_bytes:
            self._best_bytes = timed.bytes
            self.r.throughput_bps = timed.bytes / timed.seconds
            self.r.throughput_url = url

    _best_bytes = 0


class _Decoder:
    """A Content-Encoding minstall asked for, decoded as it arrives."""

    def __init__(self, name: str, wbits: int) -> None:
        self.name = name
        self._z = zlib.decompressobj(wbits)

    def decompress(self, data: bytes, max_length: int) -> bytes:
        return self._z.decompress(data, max(1, max_length))


def _decoder(header: str) -> _Decoder | None:
    """The decoder for a Content-Encoding header; None for none. An encoding minstall did not
    offer (br, zstd, or two stacked) is the mirror's fault."""
    encoding = header.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return _Decoder("gzip", 16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return _Decoder("deflate", 32 + zlib.MAX_WBITS)  # zlib or gzip framing, as sent
    raise _Fail(f"answered with Content-Encoding {printable(encoding[:40])!r}, not asked for")


def _total_size(response: httpx.Response) -> int | None:
    content_range = response.headers.get("content-range", "")
    if "/" in content_range and not content_range.endswith("/*"):
        return int(content_range.rsplit("/", 1)[1])
    length = response.headers.get("content-length")
    return int(length) if length and response.status_code == 200 else None


def _describe(exc: BaseException, url: str, timeout_s: float) -> str:
    host = urlsplit(url).netloc
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connect timeout: {host} did not accept a connection in time"
    if isinstance(exc, httpx.ConnectError):
        text = str(exc) or type(exc).__name__
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, ConnectionRefusedError) or "refused" in str(cause).lower():
                return f"connection refused by {host} (nothing listens there)"
            cause = cause.__cause__ or cause.__context__
        return f"cannot connect to {host}: {text}"
    if isinstance(exc, httpx.ReadTimeout):
        return f"{host} went silent for {timeout_s:g} s (read timeout)"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"{host} closed the connection mid-answer ({exc})"
    if isinstance(exc, httpx.HTTPError):
        return f"{type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"


async def _probe_one(
    target: Target,
    result: ProbeResult,
    byte_limit: int,
    timeout_s: float,
    environ: Mapping[str, str],
    transport: httpx.AsyncBaseTransport | None,
    semaphore: asyncio.Semaphore,
    tls: ssl.SSLContext,
    names: Resolution,
) -> None:
    async with semaphore:
        t0 = time.perf_counter()
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        host = urlsplit(target.url).hostname or ""
        if host in names.errors:
            result.error = names.errors[host]
            result.elapsed_s = time.perf_counter() - t0
            return
        # A mirror silent for a third of the deadline is given up, so one that hangs
        # cannot hold the whole bench until the deadline.
        silent_s = max(1.0, timeout_s / 3)
        timeout = httpx.Timeout(timeout_s, connect=silent_s, read=silent_s)
        try:
            async with httpx.AsyncClient(
                timeout=timeout,
                transport=transport or _transport(tls, limits, names.addresses),
                follow_redirects=False,
                trust_env=False,
            ) as client:
                await _Probe(target, client, result, byte_limit, environ).run()
        except _Fail as fail:
            result.error = str(fail)
        except (httpx.HTTPError, OSError) as exc:
            result.error = _describe(exc, target.url, silent_s)
        except Exception as exc:  # a mirror must not take the whole bench down with it
            result.error = f"probe failed on an unexpected answer: {type(exc).__name__}: {exc}"
        finally:
            result.elapsed_s = time.perf_counter() - t0


# PyTorch wheels are ranked by the throughput-bound workload, so their probe gets a bigger
# share of the mirror's budget: a longer transfer measures bandwidth more precisely.
BUDGET_WEIGHT = {"pytorch": 2, "conda": 1, "pypi": 1}


def byte_limits(targets: Iterable[Target], budget_bytes: int) -> dict[int, int]:
    """Each target's share of its mirror's byte budget (by position in ``targets``)."""
    targets = list(targets)
    weights: dict[str, int] = {}
    for t in targets:
        weights[t.mirror] = weights.get(t.mirror, 0) + BUDGET_WEIGHT.get(t.kind, 1)
    return {
        i: budget_bytes * BUDGET_WEIGHT.get(t.kind, 1) // weights[t.mirror]
        for i, t in enumerate(targets)
    }


async def probe_all(
    targets: list[Target],
    *,
    timeout_s: float,
    budget_bytes: int,
    environ: Mapping[str, str],
    concurrency: int = 32,
    transport: httpx.AsyncBaseTransport | None = None,
    on_done: Callable[[ProbeResult], None] | None = None,
    resolver: Resolver = system_resolve,
) -> list[ProbeResult]:
    """Probe every target at once; return when all are done or the deadline passes (the
    deadline covers the name lookups too)."""
    started = time.perf_counter()
    hosts = set()
    for t in targets:
        parts = urlsplit(t.url)
        if parts.hostname:
            hosts.add((parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)))
    names = await resolve_hosts(hosts, resolver, max(0.5, timeout_s * DNS_SHARE))
    remaining_s = max(1.0, timeout_s - (time.perf_counter() - started))
    results = [ProbeResult(t) for t in targets]
    limits = byte_limits(targets, budget_bytes)
    semaphore = asyncio.Semaphore(concurrency)
    # One TLS context for every client: building one loads the CA bundle (tens of ms), and
    # building dozens at once would stall the event loop and inflate the latencies measured.
    tls = ssl.create_default_context()
    tasks = {
        asyncio.create_task(
            _probe_one(
                t, results[i], limits[i], timeout_s, environ, transport, semaphore, tls, names
            )
        ): results[i]
        for i, t in enumerate(targets)
    }
    for task in tasks:
        if on_done:
            task.add_done_callback(lambda _t, r=tasks[task]: on_done(r))
    _, pending = await asyncio.wait(tasks, timeout=remaining_s)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    for task in pending:
        r = tasks[task]
        if r.error is None:
            _finish_at_deadline(r, timeout_s)
    return results


def _finish_at_deadline(r: ProbeResult, timeout_s: float) -> None:
    """A probe cut by the deadline keeps what it measured, if that says enough."""
    r.elapsed_s = timeout_s
    if r.stage == "throughput" and r.latency_samples_ms:
        r.ok = True
        r.warnings.append(f"throughput cut by the {timeout_s:g} s deadline")
    else:
        r.error = f"not finished within the {timeout_s:g} s deadline (stuck at {r.stage})"


def run_probes(targets: list[Target], **kwargs: object) -> list[ProbeResult]:
    return asyncio.run(probe_all(targets, **kwargs))  # type: ignore[arg-type]


def result_row(r: ProbeResult) -> dict[str, object]:
    """A result as the plain row that ranking, the cache and ``bench --json`` use."""
    t = r.target
    return {
        "mirror": t.mirror,
        "kind": t.kind,
        "channel": t.channel,
        "group": t.group,
        "upstream": t.upstream,
        "url": t.url,
        "final_url": r.final_url,
        "ok": r.ok and r.error is None,
        "error": r.error,
        "warnings": list(r.warnings),
        "latency_ms": None if r.latency_ms is None else round(r.latency_ms, 2),
        "latency_samples_ms": [round(x, 2) for x in r.latency_samples_ms],
        "connect_ms": None if r.connect_ms is None else round(r.connect_ms, 2),
        "throughput_bps": None if r.throughput_bps is None else round(r.throughput_bps),
        "throughput_url": r.throughput_url,
        "bytes": r.bytes,
        "last_modified_s": r.last_modified_s,
        "newest": r.newest,
        "newest_time_s": r.newest_time_s,
        "elapsed_s": round(r.elapsed_s, 3),
    }
