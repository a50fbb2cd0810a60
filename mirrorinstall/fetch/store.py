"""The local, content-addressed store of verified files.  [edge: disk]

Layout under the cache dir::

    store/sha256/ab/ab12...ef      a verified file, named by its sha256
    store/partial/ab12...ef.part   bytes of a download in progress (written at their offsets)
    store/partial/ab12...ef.json   its journal: size, hash, the spans already written

A file enters ``sha256/`` only by a rename after its hash matched, so a partial file never
passes for a whole one; a journal is written atomically after each span, so an interrupted
download (Ctrl-C, kill -9, a dead network) resumes from what is on disk.

Several minstall processes may share one store. Each file has a lock of its own
(``store/locks/<sha256>.lock``, a ``filelock`` lock: ``fcntl.flock`` on POSIX, ``msvcrt.locking``
on Windows, released by the system if the holder dies): a process downloads a file only while
it holds its lock, so two runs wanting the same file download it once (the second waits, then
finds it stored), and no process writes into a partial file another is hashing or has just
renamed into the store (which is how a stored file once ended up not matching its name).
A stored file is checked (size, and its hash once per run) before it is handed out.

A partial file is written through one :class:`PartFile` (a binary handle, seek and write
under its own lock) rather than ``os.pwrite``, which Windows' Python does not have; it is
closed before it is renamed into the store or removed, which Windows requires.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from mirrorinstall.core import fileops
from mirrorinstall.core.cache import write_atomic
from mirrorinstall.fetch.spans import Span, merged

HASH_BLOCK = 1024 * 1024


@dataclass(frozen=True)
class StoreInfo:
    files: int
    bytes: int
    partial_files: int
    partial_bytes: int


class PartFile:
    """A partial download, read and written at offsets by several threads, on every platform:
    one binary handle, each seek and its read or write together under the file's lock."""

    def __init__(self, path: Path, size: int) -> None:
        fd = fileops.open_own(path, os.O_RDWR | os.O_CREAT, 0o644)
        self._file = os.fdopen(fd, "r+b", buffering=0)
        self._lock = threading.Lock()
        if os.fstat(fd).st_size != size:
            self._file.truncate(size)

    def write_at(self, data: bytes, offset: int) -> None:
        view = memoryview(data)
        with self._lock:
            self._file.seek(offset)
            while view:
                # an unbuffered write may take only part of the block
                n = self._file.write(view)
                view = view[n or 0 :]

    def read_at(self, size: int, offset: int) -> bytes:
        with self._lock:
            self._file.seek(offset)
            return self._file.read(size) or b""

    def sync(self) -> None:
        with self._lock:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        with self._lock:
            self._file.close()

    @property
    def closed(self) -> bool:
        return self._file.closed


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / "sha256" / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def lock(self, sha256: str) -> FileLock:
        """The inter-process lock of one file (not yet held: ``acquire``/``release``)."""
        path = self.root / "locks" / f"{sha256}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(str(path))

    def verified(self, sha256: str, size: int | None) -> bool:
        """Is the stored file whole and what its name says? A wrong size or hash (a disk
        error, a bug of an older version, a hand edit) removes it, so it is fetched again."""
        path = self.path(sha256)
        try:
            if size is not None and path.stat().st_size != size:
                raise ValueError("size")
            if file_sha256(path) != sha256:
                raise ValueError("hash")
        except FileNotFoundError:
            return False
        except (OSError, ValueError):
            with contextlib.suppress(OSError):
                fileops.remove(path)
            return False
        return True

    def partial(self, sha256: str) -> tuple[Path, Path]:
        base = self.root / "partial"
        return base / f"{sha256}.part", base / f"{sha256}.json"

    def journal(self, sha256: str, size: int) -> list[Span]:
        """The spans already on disk for a download of ``size`` bytes (none if the journal is
        missing, unreadable, or was for another size)."""
        part, journal = self.partial(sha256)
        try:
            data = json.loads(journal.read_text())
            if data.get("size") != size or not part.is_file():
                return []
            return merged((int(a), int(b)) for a, b in data["done"])
        except (OSError, ValueError, KeyError, TypeError):
            return []

    def on_disk(self, sha256: str) -> tuple[int, int] | None:
        """(bytes from its start on disk, size) of a partial download, as its journal says
        (whichever process is writing it); None without a readable journal."""
        _, journal = self.partial(sha256)
        try:
            data = json.loads(journal.read_text())
            size = int(data["size"])
            spans = merged((int(a), int(b)) for a, b in data["done"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        end = 0
        for start, stop in spans:
            if start > end:
                break
            end = max(end, stop)
        return min(end, size), size

    def record(self, sha256: str, size: int, done: list[Span]) -> None:
        _, journal = self.partial(sha256)
        write_atomic(journal, json.dumps({"size": size, "sha256": sha256, "done": merged(done)}))

    def open_part(self, sha256: str, size: int) -> PartFile:
        """The partial file, for reading and writing at offsets (created at full size)."""
        part, _ = self.partial(sha256)
        part.parent.mkdir(parents=True, exist_ok=True)
        return PartFile(part, size)

    def discard(self, sha256: str) -> None:
        """Remove a partial download (its file must be closed)."""
        for path in self.partial(sha256):
            fileops.remove(path)

    def adopt(self, sha256: str) -> Path | None:
        """Move a finished partial file (closed) into the store if its hash matches; None if
        not (the partial file is left for the caller to repair)."""
        part, journal = self.partial(sha256)
        if file_sha256(part) != sha256:
            return None
        target = self.path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            fileops.replace(part, target)
        except PermissionError:
            if not target.is_file():
                raise
            # Windows: another process stored the same file first and has it open (pip
            # installing from it); its copy passed the same hash check
            self.discard(sha256)
            return target
        fileops.remove(journal)
        return target

    def put(self, sha256: str, source: Path) -> Path | None:
        """Take the whole file ``source`` into the store if its hash is ``sha256`` (moved,
        under the file's lock); None if it is not."""
        with self.lock(sha256):
            if self.has(sha256):
                return self.path(sha256)
            if file_sha256(source) != sha256:
                return None
            target = self.path(sha256)
            target.parent.mkdir(parents=True, exist_ok=True)
            fileops.replace(source, target)
            return target

    def touch(self, sha256: str) -> None:
        """Mark a stored file as just used (its mtime orders what a trim removes first)."""
        with contextlib.suppress(OSError):
            os.utime(self.path(sha256))

    def trim(self, max_bytes: int, keep: set[str]) -> int:
        """Remove verified files, least recently used first, until at most ``max_bytes``
        remain; never one in ``keep`` (this run's), never a partial download (another run may
        be writing it). Returns the bytes freed."""
        done = []
        for path in (self.root / "sha256").glob("*/*"):
            try:
                stat = path.stat()
            except OSError:
                continue
            done.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in done)
        freed = 0
        for _, size, path in sorted(done):
            if total <= max_bytes:
                break
            if path.name in keep or not self._removed(path):
                continue  # this run's, or held open (a running install reads it)
            total -= size
            freed += size
        return freed

    def info(self) -> StoreInfo:
        """Files and bytes; anything but a regular file (a dangling link, a folder someone
        put there) is not counted."""
        done = [n for n in map(_regular_size, (self.root / "sha256").glob("*/*")) if n >= 0]
        parts = [n for n in map(_regular_size, (self.root / "partial").glob("*.part")) if n >= 0]
        return StoreInfo(len(done), sum(done), len(parts), sum(parts))

    def clean(self, keep_bytes: int = 0) -> int:
        """Remove partial files, and verified ones (least recently used first) until at most
        ``keep_bytes`` remain; returns the bytes freed."""
        freed = 0
        for part in (self.root / "partial").glob("*"):
            freed += self._removed(part)
        done = sorted(
            (p for p in (self.root / "sha256").glob("*/*") if p.is_file()),
            key=lambda p: p.stat().st_mtime,
        )
        total = sum(p.stat().st_size for p in done)
        for path in done:
            if total <= keep_bytes:
                break
            removed = self._removed(path)
            total -= removed
            freed += removed
        return freed

    @staticmethod
    def _removed(path: Path) -> int:
        """Remove one file; its size, or 0 if it stays (held open by a running install or
        download, on Windows: it goes next time)."""
        try:
            size = path.stat().st_size
            fileops.remove(path)
        except OSError:
            return 0
        return size


def _regular_size(path: Path) -> int:
    """A regular file's size (its link not followed); -1 for anything else or gone."""
    import stat

    try:
        info = path.lstat()
    except OSError:
        return -1
    return info.st_size if stat.S_ISREG(info.st_mode) else -1


def file_sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            while block := f.read(HASH_BLOCK):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()
