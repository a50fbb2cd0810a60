"""A recording proxy on 127.0.0.1 that stands for the internet: it forwards nothing.

Point a client's ``HTTP_PROXY``/``HTTPS_PROXY`` at it (with ``NO_PROXY=127.0.0.1`` so the
farm's mirrors are reached directly) and every request the client makes to a real host, the
official ones included, lands here: it is recorded (method and target, e.g. ``CONNECT
repo.anaconda.com:443``) and answered ``502 Bad Gateway``. A test then holds that a command
sent nothing to an official host, on a machine where conda's own defaults are the real ones.
"""

from __future__ import annotations

import socketserver
import threading


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        line = self.rfile.readline(65537).decode("latin-1").strip()
        while self.rfile.readline(65537).strip():
            pass  # the headers
        if line:
            method, _, rest = line.partition(" ")
            target = rest.rsplit(" ", 1)[0]
            with self.server.lock:  # type: ignore[attr-defined]
                self.server.log.append((method, target))  # type: ignore[attr-defined]
        self.wfile.write(
            b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class RecordingProxy:
    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.log = []  # type: ignore[attr-defined]
        self._server.lock = threading.Lock()  # type: ignore[attr-defined]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def env(self) -> dict[str, str]:
        """The variables that send a client's internet traffic here."""
        return {
            "HTTP_PROXY": self.url,
            "HTTPS_PROXY": self.url,
            "http_proxy": self.url,
            "https_proxy": self.url,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }

    @property
    def requests(self) -> list[tuple[str, str]]:
        with self._server.lock:  # type: ignore[attr-defined]
            return list(self._server.log)  # type: ignore[attr-defined]

    def hosts(self) -> set[str]:
        """The hosts asked for (CONNECT host:port, or the host of an absolute URL)."""
        out = set()
        for _, target in self.requests:
            rest = target.split("://", 1)[-1]
            out.add(rest.split("/", 1)[0].rsplit(":", 1)[0])
        return out

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
