"""The nginx configuration of a fleet cache, written from a :class:`CachePlan`. Pure.

Why it is shaped as it is (facts in ../shared/research/real-mirrors-and-fleets.md and the
nginx documentation, https://nginx.org/en/docs/http/ngx_http_proxy_module.html):

- Failover needs one upstream group per route, and a group's servers must take the same
  path and Host. Mirrors differ in both (``/simple`` at TUNA, ``/pypi/simple`` at Aliyun), so
  each mirror of a route gets a small internal server on a Unix socket that writes the path,
  Host and TLS name for that mirror, and rewrites the absolute links its pages carry into the
  cache's own paths. The cache's server proxies to the group of those sockets: the best mirror
  first, the next-ranked as ``backup``, ``proxy_next_upstream`` on errors, 5xx and 404 (a
  stale mirror that lacks a new file).
- Immutable files are cached for a year in 1 MiB slices: each slice has its own cache lock,
  so a client arriving while a 2.5 GB wheel is still filling gets the slices already there and
  waits for the next, instead of the lock's 5 s default sending it upstream uncached; a Range
  request is answered 206 from the slices. The lock waits up to an hour.
- Index pages are cached for minutes, keyed on the URI and the normalised PEP 691 choice
  (JSON or HTML), served stale while one request revalidates. Upstream ``Vary`` and
  ``Cache-Control`` are ignored so pip's and uv's different ``Accept`` strings share entries.
- Links are rewritten as root-relative paths (``/pypi/packages/...``), so a cached page is
  right whatever host name a client uses; ``Accept-Encoding`` is cleared upstream, as
  ``sub_filter`` cannot read compressed bodies.
- No client address is forwarded to the mirrors; a client without a User-Agent gets one (TUNA
  refuses requests without).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mirrorinstall.core.errors import UsageError
from mirrorinstall.serve.plan import CachePlan, Route, Upstream

SLICE = "1m"
#: what nginx may read in a value it takes literally: no quote, no `$` (a variable), no `;`,
#: no brace, no space or control character
_SAFE = re.compile(r"^[A-Za-z0-9._~:/?@!&()*+,=%\[\]-]+$")
PEP691_JSON = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True)
class Settings:
    listen_host: str
    port: int
    run_dir: str  # pid, logs, temporary files
    socket_dir: str  # the internal servers' sockets (a short path: sockets take 107 bytes)
    cache_dir: str
    max_size_bytes: int
    page_minutes: int
    error_log: str  # "stderr" or a path
    worker_user: str | None = None  # "root" when run as root (workers must write the cache)


def render(plan: CachePlan, s: Settings) -> str:
    """nginx.conf for ``plan``."""
    for path in (s.run_dir, s.socket_dir, s.cache_dir):
        _safe(path, "a folder of the cache")
    if s.error_log != "stderr":
        _safe(s.error_log, "the error log")
    _safe(s.listen_host, "--listen")
    hosts = _host_groups(plan)
    out = [
        "# Written by 'minstall serve' from the mirror ranking; write it again rather than edit.",
        *([f"user {s.worker_user};"] if s.worker_user else []),
        "worker_processes 2;",
        "daemon off;",
        f"pid {s.run_dir}/nginx.pid;",
        f"error_log {s.error_log} warn;",
        "events { worker_connections 1024; }",
        "",
        "http {",
        "    server_tokens off;",
        "    default_type application/octet-stream;",
        "    sendfile on;",
        "    log_format mi '$remote_addr \"$request\" $status $body_bytes_sent '",
        "                  'cache=$upstream_cache_status up=\"$upstream_addr\" $request_time';",
        f"    access_log {s.run_dir}/access.log mi;",
        *(
            f"    {kind}_temp_path {s.run_dir}/tmp/{kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        ),
        f"    proxy_cache_path {s.cache_dir}/files levels=1:2 keys_zone=mi_files:64m "
        f"max_size={max(1, s.max_size_bytes // (1024 * 1024))}m inactive=365d use_temp_path=off;",
        f"    proxy_cache_path {s.cache_dir}/pages levels=1:2 keys_zone=mi_pages:16m "
        "max_size=2g inactive=30d use_temp_path=off;",
        # pip and uv send different Accept strings for the same choice
        "    map $http_accept $mi_pep691 {",
        f'        "~{re.escape(PEP691_JSON)}" json;',
        "        default html;",
        "    }",
        "    map $mi_pep691 $mi_accept {",
        f'        json "{PEP691_JSON}, text/html;q=0.01";',
        '        default "text/html";',
        "    }",
        "    map $http_user_agent $mi_ua {",
        '        "" "minstall-serve (nginx)";',
        "        default $http_user_agent;",
        "    }",
    ]
    for i, route in enumerate(plan.routes):
        # the rest of the path after the route's prefix, as the client sent it (encoded:
        # download.pytorch.org needs %2B kept)
        out += [
            f"    map $request_uri $mi_rest{i} {{",
            f'        "~^{_regex(route.prefix)}(?<mi_p{i}>[^?#]*)" $mi_p{i};',
            '        default "";',
            "    }",
        ]
    for (_scheme, host, port), name in hosts.items():
        server = f"[{host}]" if ":" in host else host
        out += [
            f"    upstream {name} {{",
            f"        server {server}:{port};",
            "        keepalive 8;",
        ]
        out.append("    }")
    for i, route in enumerate(plan.routes):
        out += [f"    upstream mi_r{i} {{"]
        for j, _up in enumerate(route.upstreams):
            backup = " backup" if j else " max_fails=1 fail_timeout=20s"
            out.append(f"        server unix:{s.socket_dir}/r{i}u{j}.sock{backup};")
        out += ["        keepalive 16;", "    }"]
    out += _cache_server(plan, s)
    for i, route in enumerate(plan.routes):
        for j, up in enumerate(route.upstreams):
            out += _mirror_server(i, j, route, up, hosts, s)
    out.append("}")
    return "\n".join(out) + "\n"


def _cache_server(plan: CachePlan, s: Settings) -> list[str]:
    listen = f"[{s.listen_host}]" if ":" in s.listen_host else s.listen_host
    out = [
        "",
        "    server {",
        f"        listen {listen}:{s.port};",
        "        proxy_cache_lock on;",
        "        proxy_cache_lock_timeout 1h;",
        "        proxy_cache_lock_age 1h;",
        "        proxy_ignore_headers Cache-Control Expires Set-Cookie Vary X-Accel-Expires "
        "X-Accel-Redirect X-Accel-Limit-Rate X-Accel-Buffering X-Accel-Charset;",
        "        proxy_hide_header Set-Cookie;",
        "        proxy_force_ranges on;",
        "        proxy_connect_timeout 10s;",
        "        proxy_read_timeout 300s;",
        "        add_header X-Cache $upstream_cache_status always;",
        "        location = /minstall-serve {",
        "            default_type text/plain;",
        '            return 200 "minstall serve: ok\\n";',
        "        }",
        # the catalog entry clients (and `minstall warm`) read
        "        location = /minstall-serve/catalog.toml {",
        "            default_type text/plain;",
        f"            alias {s.run_dir}/catalog.toml;",
        "        }",
    ]
    for i, route in enumerate(plan.routes):
        tries = len(route.upstreams)
        common = [
            f"            proxy_pass http://mi_r{i};",
            "            proxy_http_version 1.1;",
            '            proxy_set_header Connection "";',
            "            proxy_set_header Host minstall-serve;",
            "            proxy_set_header User-Agent $mi_ua;",
            '            proxy_set_header Accept-Encoding "";',
            "            proxy_next_upstream error timeout http_500 http_502 http_503 http_504 "
            "http_404;",
            f"            proxy_next_upstream_tries {tries};",
        ]
        out += [
            f'        location ~ "^{_regex(route.prefix)}.*{route.files}" {{',
            *common,
            "            proxy_cache mi_files;",
            f"            slice {SLICE};",
            "            proxy_cache_key $uri$slice_range;",
            "            proxy_set_header Range $slice_range;",
            "            proxy_cache_valid 200 206 365d;",
            "        }",
            f"        location {route.prefix} {{",
            *common,
            "            proxy_cache mi_pages;",
            '            proxy_cache_key "$uri $mi_pep691";',
            "            proxy_set_header Accept $mi_accept;",
            f"            proxy_cache_valid 200 {s.page_minutes}m;",
            # conda asks for repodata.json.zst first; most mirrors answer 404 to every client
            "            proxy_cache_valid 404 1m;",
            "            proxy_cache_revalidate on;",
            "            proxy_cache_use_stale error timeout updating http_500 http_502 http_503 "
            "http_504;",
            "            proxy_cache_background_update on;",
            "        }",
        ]
    out += ["        location / {", "            return 404;", "        }", "    }"]
    return out


def _mirror_server(
    i: int, j: int, route: Route, up: Upstream, hosts: dict[tuple[str, str, int], str], s: Settings
) -> list[str]:
    """The internal server that fetches ``route`` from one mirror."""
    key = (up.scheme, up.host, up.port)
    default_port = 443 if up.scheme == "https" else 80
    host_header = up.host if up.port == default_port else f"{up.host}:{up.port}"
    out = [
        "",
        "    server {",
        f"        listen unix:{s.socket_dir}/r{i}u{j}.sock;",
        f"        access_log {s.run_dir}/upstream.log mi;",
        f"        location {route.prefix} {{",
        f"            proxy_pass {up.scheme}://{hosts[key]}{_safe(up.path, 'a mirror URL')}"
        f"$mi_rest{i};",
        "            proxy_http_version 1.1;",
        '            proxy_set_header Connection "";',
        f"            proxy_set_header Host {_safe(host_header, 'a mirror host')};",
        '            proxy_set_header Accept-Encoding "";',
        "            proxy_connect_timeout 10s;",
        "            proxy_read_timeout 300s;",
    ]
    if up.scheme == "https":
        out += ["            proxy_ssl_server_name on;", f"            proxy_ssl_name {up.host};"]
    rewrites = [(up.base, route.prefix), *route.rewrites]
    out += [
        f"            sub_filter_types {PEP691_JSON} application/json;",
        "            sub_filter_once off;",
        *(
            f"            sub_filter '{_safe(old, 'a link prefix')}' '{_safe(new, 'a path')}';"
            for old, new in dict(rewrites).items()
        ),
        "        }",
        "    }",
    ]
    return out


def _host_groups(plan: CachePlan) -> dict[tuple[str, str, int], str]:
    """An upstream name per (scheme, host, port), so connections to a mirror are kept open."""
    out: dict[tuple[str, str, int], str] = {}
    for route in plan.routes:
        for up in route.upstreams:
            _safe(up.base, "a mirror URL")
            key = (up.scheme, up.host, up.port)
            if key not in out:
                out[key] = f"mi_h{len(out)}"
    return out


def _regex(prefix: str) -> str:
    return re.sub(r"([.+*?()\[\]{}|^$\\-])", r"\\\1", prefix)


def _safe(value: str, what: str) -> str:
    if not _SAFE.match(value):
        raise UsageError(
            f"refusing to write {value!r} ({what}) into nginx's configuration: it holds a "
            "character nginx would read as syntax (a quote, $, ;, a brace or a space)",
            "Use a path without them, or fix that mirror's URL in the catalog.",
        )
    return value
