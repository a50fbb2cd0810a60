"""The farm: N mirrors on 127.0.0.1, a catalog pointing at them, and a stop that always happens."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .content import Content, build_content
from .server import Fault, MirrorServer, MirrorState, RequestRecord

ALL = "all"


@dataclass(frozen=True)
class MirrorSpec:
    """How one farm mirror behaves.

    ``conda``: channels it carries (``"all"`` or a list of names, ``()`` for none).
    ``pypi``: whether it serves the simple index. ``pytorch``: ``"index"``,
    ``"find-links"``, ``"both"`` or None. ``latency_s`` is added to every request;
    ``bandwidth_bps`` caps each connection, ``shared_bandwidth_bps`` all of them together.
    ``faults`` are active from the start; change them later with :meth:`FarmMirror.set_faults`.
    ``upstream`` marks it as an official host in the generated catalog. ``pages``: ``"json"``
    (PEP 691 JSON and HTML pages, PEP 658 ``.metadata`` files: PyPI itself, a lab's proxy) or
    ``"html"`` (HTML pages with ``#sha256=`` fragments only, no metadata attributes, every
    ``.metadata`` a 404: TUNA and most mirrors today, see
    ../shared/research/real-mirrors-and-fleets.md). ``hosts``: the official hosts it keeps a
    copy of, as a lab's proxy would (``content.HOST_COPIES``: ``pyg``, ``paddle``,
    ``openmmlab``), each in its ``[mirror.X.hosts]`` of the catalog.
    """

    id: str
    latency_s: float = 0.0
    bandwidth_bps: float | None = None
    shared_bandwidth_bps: float | None = None
    conda: Sequence[str] | str = ALL
    pypi: bool = True
    pytorch: str | None = "both"
    faults: Sequence[Fault] = ()
    upstream: bool = False
    pages: str = "json"
    hosts: Sequence[str] = ()


@dataclass
class FarmMirror:
    spec: MirrorSpec
    server: MirrorServer
    state: MirrorState
    channels: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def channel_url(self, channel: str) -> str:
        return f"{self.url}/conda/{channel}"

    @property
    def simple_url(self) -> str:
        return f"{self.url}/pypi/simple"

    def torch_base(self, layout: str) -> str:
        return f"{self.url}/whl" if layout == "index" else f"{self.url}/pytorch-wheels"

    # -------------------------------------------------------------- run-time control

    def set_faults(self, *faults: Fault) -> None:
        """Replace this mirror's fault rules (none: healthy again)."""
        with self.state.lock:
            self.state.faults = list(faults)
        self.server.set_refusing(any(f.mode == "refuse" for f in faults))

    def clear_faults(self) -> None:
        self.set_faults()

    def set_speed(
        self,
        latency_s: float | None = None,
        bandwidth_bps: float | None = None,
        shared_bandwidth_bps: float | None = None,
    ) -> None:
        with self.state.lock:
            if latency_s is not None:
                self.state.latency_s = latency_s
            self.state.bandwidth_bps = bandwidth_bps
            self.state.shared_bandwidth_bps = shared_bandwidth_bps

    @property
    def requests(self) -> list[RequestRecord]:
        with self.state.lock:
            return list(self.state.log)

    def bytes_sent(self) -> int:
        return sum(r.bytes_sent for r in self.requests)

    @property
    def connections_opened(self) -> int:
        return self.state.connections_opened

    def reset_log(self) -> None:
        with self.state.lock:
            self.state.log.clear()


class MirrorFarm:
    """Start mirrors on 127.0.0.1 (free ports); use as a context manager.

    The farm stops by itself after ``max_lifetime_s`` even if nobody closes it, and
    ``hang``/``stall`` connections end when it stops, so a crashed test or benchmark
    never leaves a server behind. It binds only 127.0.0.1.
    """

    def __init__(
        self,
        specs: Iterable[MirrorSpec],
        *,
        content: Content | None = None,
        max_lifetime_s: float = 900.0,
    ) -> None:
        self.specs = list(specs)
        ids = [s.id for s in self.specs]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate mirror ids in {ids}")
        self.content = content or build_content()
        self.mirrors: dict[str, FarmMirror] = {}
        self._max_lifetime_s = max_lifetime_s
        self._timer: threading.Timer | None = None
        self._closed = False

    def __enter__(self) -> MirrorFarm:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getitem__(self, mirror_id: str) -> FarmMirror:
        return self.mirrors[mirror_id]

    def __iter__(self):
        return iter(self.mirrors.values())

    def start(self) -> None:
        all_channels = tuple(self.content.facts["conda_channels"])  # type: ignore[arg-type]
        try:
            for spec in self.specs:
                channels = all_channels if spec.conda == ALL else tuple(spec.conda)
                unknown = set(channels) - set(all_channels)
                if unknown:
                    raise ValueError(f"{spec.id}: the farm has no channel {sorted(unknown)}")
                parts = {f"conda:{c}" for c in channels}
                if spec.pypi:
                    parts.add("pypi")
                if spec.pytorch in ("index", "both"):
                    parts.add("pytorch:index")
                if spec.pytorch in ("find-links", "both"):
                    parts.add("pytorch:find-links")
                parts |= {f"host:{h}" for h in spec.hosts}
                state = MirrorState(
                    name=spec.id,
                    content=self.content,
                    paths=self.content.paths_for(parts),
                    latency_s=spec.latency_s,
                    bandwidth_bps=spec.bandwidth_bps,
                    shared_bandwidth_bps=spec.shared_bandwidth_bps,
                    html_only=spec.pages == "html",
                )
                mirror = FarmMirror(spec, MirrorServer(state), state, channels)
                self.mirrors[spec.id] = mirror
                if spec.faults:
                    mirror.set_faults(*spec.faults)
        except BaseException:
            self.close()
            raise
        self._timer = threading.Timer(self._max_lifetime_s, self.close)
        self._timer.daemon = True
        self._timer.start()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        for mirror in self.mirrors.values():
            mirror.server.close()

    # -------------------------------------------------------------- catalog

    def catalog_toml(
        self,
        *,
        pytorch_layout: dict[str, str] | None = None,
        token_env: dict[str, str] | None = None,
    ) -> str:
        """A schema-1 mirrors.toml describing this farm, for ``minstall --catalog``.

        ``pytorch_layout`` picks the layout each mirror's [pytorch] table announces
        (default: ``index`` where served, else ``find-links``); ``token_env`` names the
        variable holding a mirror's token ({mirror id: variable}).
        """
        lines = ["# Generated by the minstall mirror farm (tests/farm).", "schema = 1", ""]
        for m in self.mirrors.values():
            lines += [
                f"[mirror.{m.id}]",
                f'name = "farm mirror {m.id}"',
                'region = "farm"',
                f'homepage = "{m.url}/"',
            ]
            if m.spec.upstream:
                lines.append("upstream = true")
            if (token_env or {}).get(m.id):
                lines.append(f'token_env = "{token_env[m.id]}"')
            if m.channels:
                lines.append(f"[mirror.{m.id}.conda]")
                lines += [f'{c} = "{m.channel_url(c)}"' for c in m.channels]
            if m.spec.pypi:
                lines += [f"[mirror.{m.id}.pypi]", f'simple = "{m.simple_url}"']
            if m.spec.pytorch:
                layout = (pytorch_layout or {}).get(m.id) or (
                    "index" if m.spec.pytorch in ("index", "both") else "find-links"
                )
                lines += [
                    f"[mirror.{m.id}.pytorch]",
                    f'base = "{m.torch_base(layout)}"',
                    f'layout = "{layout}"',
                ]
            if m.spec.hosts:
                copies = self.content.facts["host_copies"]
                lines.append(f"[mirror.{m.id}.hosts]")
                for host in m.spec.hosts:
                    for official, path in copies[host]:  # type: ignore[index]
                        lines.append(f'"{official}" = "{m.url}{path}"')
            lines.append("")
        return "\n".join(lines)

    def write_catalog(self, path: Path, **kwargs: object) -> Path:
        path.write_text(self.catalog_toml(**kwargs), encoding="utf-8")  # type: ignore[arg-type]
        return path
