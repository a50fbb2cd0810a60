"""The facts one invocation works from, as typed values. Pure.

``gather`` fills a :class:`Facts` once per run (the ranking, the host's CUDA facts, the files
the command names, the channels conda adds by itself, the platform, the tables); the rewriter
and the executor only read it. A fallback changes the :class:`Ranking` (one mirror fewer for
the kind that failed), never the facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from mirrorinstall.core.catalog import Catalog
from mirrorinstall.core.textcodec import TextForm
from mirrorinstall.cuda.accel import Accelerators
from mirrorinstall.cuda.choose import HostCuda
from mirrorinstall.cuda.tables import Tables


@dataclass(frozen=True)
class Ranking:
    """The bench's verdict per kind: the mirrors that answered, best first, and why the
    others were left out."""

    order: Mapping[str, tuple[str, ...]]  # kind -> mirror ids that answered, best first
    failed: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # kind -> id -> why
    source: str = "given"  # "cached ranking", "quick bench", "--mirror ID"
    created_at: str | None = None
    forced: str | None = None  # the mirror --mirror chose (no ranking was used)
    dropped: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # failed in this run
    upstream_only: frozenset[str] = frozenset()  # kinds sent to their official host
    # kind -> id -> the median request latency the bench measured
    latency_ms: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    @classmethod
    def from_report(cls, report: Mapping[str, Any]) -> Ranking:
        """From a bench report (``bench --json``'s document, or the cached one)."""
        order: dict[str, list[str]] = {}
        failed: dict[str, dict[str, str]] = {}
        latency: dict[str, dict[str, float]] = {}
        rows = sorted(report["results"], key=lambda r: (r["rank"] is None, r["rank"] or 0))
        for row in rows:
            if row["ok"]:
                order.setdefault(row["kind"], []).append(row["mirror"])
                if isinstance(row.get("latency_ms"), (int, float)):
                    latency.setdefault(row["kind"], {})[row["mirror"]] = float(row["latency_ms"])
            else:
                failed.setdefault(row["kind"], {})[row["mirror"]] = str(row.get("error"))
        return cls(
            order={k: tuple(v) for k, v in order.items()},
            failed=failed,
            source="cached ranking" if report.get("cached") else "quick bench",
            created_at=report.get("created_at"),
            latency_ms=latency,
        )

    @classmethod
    def forced_to(cls, mirror_id: str, kinds: list[str]) -> Ranking:
        return cls(
            order={kind: (mirror_id,) for kind in kinds},
            source=f"--mirror {mirror_id}",
            forced=mirror_id,
        )

    def of(self, kind: str) -> tuple[str, ...]:
        """The mirrors still to use for ``kind``, best first (the bench's order, less those
        that failed in this run)."""
        if kind in self.upstream_only:
            return ()
        dropped = self.dropped.get(kind, ())
        return tuple(m for m in self.order.get(kind, ()) if m not in dropped)

    def rank(self, kind: str, mirror_id: str) -> int | None:
        """1-based rank of the mirror for the kind in the bench, None if not ranked."""
        ids = tuple(self.order.get(kind, ()))
        return ids.index(mirror_id) + 1 if mirror_id in ids else None

    def ranked_count(self, kind: str) -> int:
        return len(self.order.get(kind, ()))

    def measured(self, kind: str) -> bool:
        """Did any probe of this kind succeed (or was the mirror forced)?"""
        return bool(self.order.get(kind))

    def without(self, kind: str, mirror_id: str) -> Ranking:
        """The same ranking with ``mirror_id`` out of ``kind`` (it failed in this run)."""
        dropped = dict(self.dropped)
        dropped[kind] = (*dropped.get(kind, ()), mirror_id)
        return replace(self, dropped=dropped)

    def upstream_next(self, kind: str) -> Ranking:
        """No ranked mirror left for ``kind``: the rewrite falls back to its official host."""
        return replace(self, upstream_only=self.upstream_only | {kind})

    def was_dropped(self, kind: str, mirror_id: str) -> bool:
        return mirror_id in self.dropped.get(kind, ())


class WheelLister(Protocol):
    """The torch-family wheel file names a mirror lists for a variant (None: unknown)."""

    def __call__(self, mirror_id: str, variant: str) -> tuple[str, ...] | None: ...


@dataclass(frozen=True)
class Facts:
    """Everything a rewrite reads, gathered once per invocation."""

    catalog: Catalog
    ranking: Ranking
    platform: str = "linux-64"  # the conda subdir the command is for
    python: str | None = None  # "3.11": the target interpreter, for wheel and release checks
    environ: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)  # path -> text of files named
    # path -> its encoding and byte-order mark, which its rewritten copy keeps
    file_forms: Mapping[str, TextForm] = field(default_factory=dict)
    copies: Mapping[str, str] = field(default_factory=dict)  # path -> where its copy goes
    # path -> the absolute folder it is in (what its relative paths are relative to)
    file_dirs: Mapping[str, str] = field(default_factory=dict)
    host: HostCuda | None = None  # None: CUDA was not looked at (nothing needs it)
    # AMD, Intel, Ascend devices, looked for when no NVIDIA driver is (None: not looked at)
    accel: Accelerators | None = None
    windows_driver: bool = False  # WSL2 reports the Windows driver: Windows thresholds apply
    tables: Tables | None = None
    # torch in the target already ("2.4.1+cu121"), asked when a page built per torch is named
    installed_torch: str | None = None
    # its torch.version.cuda ("12.1"; "" for a build without CUDA; None: not asked, not known)
    installed_torch_cuda: str | None = None
    # its C++ ABI as its TorchConfig.cmake says (conda-forge's and source builds differ from
    # PyPI's wheels of the same release); None: not written down or not asked
    installed_torch_abi: bool | None = None
    wheels: WheelLister | None = None
    # The channels conda adds by itself (.condarc `channels`, unless --override-channels),
    # and where that list came from.
    conda_channels: tuple[str, ...] = ("defaults",)
    conda_channels_from: str = "conda's built-in default"

    def copy_path(self, original: str) -> str:
        """Where the rewritten copy of a file the command names goes (never the file)."""
        return self.copies[original]

    @property
    def os(self) -> str:
        if self.platform.startswith("win"):
            return "windows"
        return "macos" if self.platform.startswith("osx") else "linux"

    @property
    def driver_os(self) -> str:
        """Whose driver thresholds apply: Windows ones for a Windows driver (WSL2 included)."""
        return "windows" if self.windows_driver or self.os == "windows" else self.os
