"""What the farm's mirrors serve: real conda channels, a PyPI simple index, PyTorch wheel trees.

Everything is built once into memory as ``path -> Resource`` and shared by every
mirror of a farm; a mirror serves the *parts* it is configured to carry.

URL layout of every farm mirror (the same on all of them, so a redirect fault can
send a client to the same path on another mirror):

===============================================  ====================================
``/conda/<channel>/<subdir>/repodata.json``      conda channels (+ ``.zst``, packages)
``/pypi/simple/`` ``/pypi/simple/<project>/``    PEP 503 HTML or PEP 691 JSON by Accept
``/pypi/packages/<file>`` (+ ``.metadata``)      wheels, PEP 658 metadata
``/whl/<variant>/`` ``/whl/<variant>/torch/``    download.pytorch.org layout (PEP 503)
``/whl/torch_stable.html``                       its legacy find-links pages
``/pytorch-wheels/<variant>/``                   Aliyun-style flat directory listing
===============================================  ====================================

Parts: ``conda:<channel>``, ``pypi``, ``pytorch:index``, ``pytorch:find-links``.

Index resources carry a *stale* twin: the same document without the newest version of
each package, with an older Last-Modified, served by a mirror in the ``stale`` fault.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from packaging.tags import sys_tags
from packaging.utils import canonicalize_name
from packaging.version import Version

from .packages import CondaSpec, WheelSpec, index_channel, make_conda_package, make_wheel

JSON_SIMPLE = "application/vnd.pypi.simple.v1+json"
HTML_SIMPLE = "application/vnd.pypi.simple.v1+html"
DAY_S = 86_400
DEFAULT_STALE_LAG_S = 3 * DAY_S
BIG_BYTES = 4 * 1024 * 1024  # the big artifact of each kind, for throughput probes


@dataclass
class Resource:
    body: bytes
    content_type: str
    mtime: float  # Last-Modified, seconds since the epoch
    kind: str = "page"  # "index" (stale-able), "artifact" (hashed file), "metadata", "page"
    alternatives: dict[str, bytes] = field(default_factory=dict)  # content type -> body
    stale: Resource | None = None

    @functools.cached_property
    def etag(self) -> str:
        # once per resource: hashing a 2 GiB body on every ranged request was the farm's
        # own bottleneck, not the client's
        return '"' + hashlib.sha256(self.body).hexdigest()[:20] + '"'


def shared_dir() -> Path:
    """``../shared`` beside the repository (MINSTALL_SHARED_DIR overrides)."""
    env = os.environ.get("MINSTALL_SHARED_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared"


@dataclass
class Content:
    resources: dict[str, Resource]
    parts: dict[str, set[str]]  # part name -> the paths it consists of
    facts: dict[str, object]  # what tests need to know (newest versions, file names, ...)

    def paths_for(self, parts: set[str]) -> set[str]:
        out: set[str] = set()
        for part in parts:
            out |= self.parts[part]
        return out


class _Builder:
    def __init__(self, now: float, stale_lag_s: float) -> None:
        self.now = now
        self.stale_mtime = now - stale_lag_s
        self.resources: dict[str, Resource] = {}
        self.parts: dict[str, set[str]] = {}
        self.facts: dict[str, object] = {}

    def add(self, part: str, path: str, resource: Resource) -> None:
        self.resources[path] = resource
        self.parts.setdefault(part, set()).add(path)


# ------------------------------------------------------------------ conda


def _conda_specs() -> dict[str, list[CondaSpec]]:
    """Channels whose dependencies are as consistent as the real ones, so the real conda
    solves against them: ``main``/``r``/``msys2`` stand for Anaconda's defaults (``main``
    has cudatoolkit, which the seed's ``pytorch ... cudatoolkit=10.1 -c pytorch`` takes from
    defaults); the ``pytorch`` channel's CUDA builds depend on ``pytorch-cuda`` (1.13-2.5) or
    on cudatoolkit (<= 1.12), and its ``pytorch-cuda`` on the ``nvidia`` channel's runtime, as
    on anaconda.org (pytorch-cuda 12.1 depends on cuda-runtime >=12.1,<12.2 among others)."""
    t0 = 1_700_000_000_000
    later = t0 + 10 * DAY_S * 1000
    both = ("linux-64", "win-64")
    cuda = "py311_cuda12.1_cudnn9_0"
    return {
        "main": [
            CondaSpec("ca-certificates", "2024.3.11", "noarch", "h06a4308_0", noarch="generic"),
            CondaSpec("libgcc-ng", "11.2.0", "linux-64", "h1234_1", timestamp_ms=t0),
            CondaSpec("zlib", "1.2.13", "linux-64", "h5eee18b_0", depends=("libgcc-ng >=11.2.0",)),
            CondaSpec("zlib", "1.2.13", "win-64", "h8cc25b3_0", timestamp_ms=later),
            *[
                CondaSpec("cudatoolkit", v, s, "h6bb024c_0", timestamp_ms=t0)
                for v in ("9.0", "9.2", "10.1.243", "11.0.221", "11.3.1")
                for s in both
            ],
            # GPU TensorFlow as Anaconda's defaults had it (up to 2.4.1): each build takes
            # the cudatoolkit of its tested configuration (tensorflow.org 5a/5b)
            *[
                CondaSpec(
                    "tensorflow-gpu",
                    v,
                    s,
                    "h0d30ee6_0",
                    depends=(f"cudatoolkit {c}.*", "cudnn"),
                    timestamp_ms=t0,
                )
                for v, c in (("1.12.0", "9.0"), ("2.3.0", "10.1"), ("2.4.1", "11.0"))
                for s in both
            ],
            *[
                CondaSpec("cudnn", v, s, "h_0", depends=(f"cudatoolkit {c}.*",), timestamp_ms=t0)
                for v, c in (("7.1.4", "9.0"), ("7.6.5", "10.1"), ("8.0.4", "11.0"))
                for s in both
            ],
        ],
        "conda-forge": [
            CondaSpec("pkgb", "1.0", "noarch", noarch="generic", timestamp_ms=t0),
            CondaSpec("pkgb", "1.1", "noarch", noarch="generic", timestamp_ms=later),
            *[
                CondaSpec("pkgc", "0.1", s, "h1234_0", timestamp_ms=t0)
                for s in ("linux-64", "win-64", "osx-arm64")
            ],
            CondaSpec(
                "pkga",
                "1.0",
                "noarch",
                depends=("pkgb >=1.0", "pkgc"),
                noarch="generic",
                timestamp_ms=t0,
            ),
            CondaSpec(
                "pynoarch",
                "1.0",
                "noarch",
                "pyhd8ed1ab_0",
                depends=("python >=3.8",),
                noarch="python",
                timestamp_ms=t0,
            ),
            CondaSpec(
                "bigdata",
                "1.0",
                "noarch",
                noarch="generic",
                timestamp_ms=t0,
                payload_bytes=BIG_BYTES,
            ),
            *[
                CondaSpec("pytorch", v, s, f"cpu_generic_py311_{i}", timestamp_ms=ts)
                for i, (v, ts) in enumerate((("2.5.1", t0), ("2.6.0", later)))
                for s in both
            ],
            # conda-forge's CUDA builds need __cuda (pytorch-cpu-feedstock) and are preferred
            # when it is there (higher build number); with no __cuda, or one too old for the
            # build's CUDA major, the solver quietly takes the CPU build
            *[
                CondaSpec(
                    "pytorch",
                    "2.6.0",
                    s,
                    "cuda126_generic_py311_201",
                    depends=("__cuda >=12", "cuda-version >=12.6,<13"),
                    timestamp_ms=later,
                )
                for s in both
            ],
            CondaSpec("cuda-version", "12.6", "noarch", "h7480c83_3", noarch="generic"),
            *[
                CondaSpec("tensorflow", "2.19.1", "linux-64", b, depends=dep, timestamp_ms=later)
                for b, dep in (
                    ("cpu_py311h_0", ()),
                    ("cuda128py311h_200", ("__cuda >=12",)),
                )
            ],
            # TensorFlow's Windows GPU recipe (tensorflow.org pip.md): cudatoolkit 11.2, cudnn 8.1
            *[CondaSpec("cudatoolkit", "11.2.2", s, "hbe64b41_10", timestamp_ms=t0) for s in both],
            *[
                CondaSpec("cudnn", "8.1.0.77", s, "h90431f1_0", depends=("cudatoolkit 11.*",))
                for s in both
            ],
            CondaSpec("cuda-version", "12.4", "noarch", "h3060b56_3", noarch="generic"),
            # jaxlib as conda-forge builds it (jaxlib-feedstock recipe.yaml): cpu_py311h..._0
            # and cuda<ver>_py311h..._200, the CUDA build needing __cuda (and, through the
            # cuda-version it pins, a 12.x driver: written here as __cuda >=12)
            *[
                CondaSpec("jaxlib", "0.4.35", "linux-64", b, depends=dep, timestamp_ms=later)
                for b, dep in (("cpu_py311h_0", ()), ("cuda120_py311h_200", ("__cuda >=12",)))
            ],
            CondaSpec(
                "jax",
                "0.4.35",
                "noarch",
                "pyhd8ed1ab_0",
                depends=("jaxlib >=0.4.35",),
                noarch="generic",
                timestamp_ms=later,
            ),
        ],
        # PaddlePaddle's own conda channel (anaconda.org/Paddle, copied by TUNA and ZJU): each
        # GPU build takes the cudatoolkit its name says, from conda-forge or defaults
        "Paddle": [
            CondaSpec(
                "paddlepaddle-gpu",
                "2.2.1",
                "linux-64",
                f"py311_gpu_cuda{c}_many_linux_0",
                depends=(f"cudatoolkit {c}.*",),
                timestamp_ms=t0,
            )
            for c in ("10.1", "11.2")
        ],
        "pytorch": [
            *[
                CondaSpec("pytorch", v, s, b, depends=dep, timestamp_ms=ts)
                for v, ts in (("2.4.1", t0), ("2.5.1", later))
                for s in both
                for b, dep in (
                    (cuda, ("pytorch-cuda 12.1.*", "pytorch-mutex 1.0 cuda")),
                    ("py3.11_cpu_0", ("pytorch-mutex 1.0 cpu",)),
                )
            ],
            *[
                CondaSpec(
                    "pytorch",
                    "2.5.1",
                    s,
                    "py3.11_cuda12.4_cudnn9.1.0_0",
                    depends=("pytorch-cuda 12.4.*", "pytorch-mutex 1.0 cuda"),
                    timestamp_ms=later,
                )
                for s in both
            ],
            *[
                CondaSpec(
                    "pytorch",
                    "1.7.1",
                    s,
                    f"py3.11_cuda{c}_cudnn7.6.3_0",
                    depends=(f"cudatoolkit >={c},<{c[:-1]}{int(c[-1]) + 1}",),
                    timestamp_ms=t0,
                )
                for c in ("9.2", "10.1")
                for s in both
            ],
            CondaSpec(
                "torchvision",
                "0.20.1",
                "linux-64",
                "py311_cu121",
                depends=("pytorch 2.5.1",),
                timestamp_ms=later,
            ),
            CondaSpec(
                "torchvision", "0.8.2", "linux-64", "py311_cu101", depends=("pytorch 1.7.1",)
            ),
            *[
                CondaSpec(
                    "pytorch-cuda",
                    v,
                    "noarch",
                    "ha16c6d3_6",
                    depends=(f"cuda-runtime >={v},<{v[:-1]}{int(v[-1]) + 1}",),
                    noarch="generic",
                    timestamp_ms=t0,
                )
                for v in ("12.1", "12.4")
            ],
            CondaSpec("pytorch-mutex", "1.0", "noarch", "cuda", noarch="generic", timestamp_ms=t0),
            CondaSpec("pytorch-mutex", "1.0", "noarch", "cpu", noarch="generic", timestamp_ms=t0),
        ],
        "bioconda": [
            CondaSpec("samtools", "1.20", "linux-64", "h50ea8bc_0", timestamp_ms=t0),
            CondaSpec("samtools", "1.21", "linux-64", "h50ea8bc_0", timestamp_ms=later),
        ],
        "nvidia": [
            *[
                CondaSpec("cuda-version", v, "noarch", "0", noarch="generic", timestamp_ms=t0)
                for v in ("12.1", "12.4")
            ],
            *[
                CondaSpec(
                    "cuda-runtime",
                    v,
                    s,
                    "0",
                    depends=(f"cuda-version {v[:4]}.*",),
                    timestamp_ms=t0,
                )
                for v in ("12.1.0", "12.4.1")
                for s in both
            ],
        ],
        "r": [
            CondaSpec("r-base", "4.2.0", "linux-64", "h1234_0", timestamp_ms=t0),
            CondaSpec("r-base", "4.3.1", "linux-64", "h1234_0", timestamp_ms=later),
        ],
        "msys2": [CondaSpec("m2-base", "1.0.0", "win-64", "2", timestamp_ms=t0)],
    }


def _stale_repodata(repodata: dict) -> dict:
    """The same index without the newest version of each package name that has several."""
    stale = json.loads(json.dumps(repodata))
    for key in ("packages", "packages.conda"):
        records = stale.get(key, {})
        newest: dict[str, Version] = {}
        versions: dict[str, set[Version]] = {}
        for rec in records.values():
            v = Version(rec["version"])
            versions.setdefault(rec["name"], set()).add(v)
            newest[rec["name"]] = max(newest.get(rec["name"], v), v)
        for fn, rec in list(records.items()):
            if len(versions[rec["name"]]) > 1 and Version(rec["version"]) == newest[rec["name"]]:
                del records[fn]
    return stale


def _zstd_compress(data: bytes) -> bytes:
    try:  # Python 3.14+
        from compression import zstd  # type: ignore[import-not-found]
    except ImportError:  # the backport conda-package-handling depends on
        from backports import zstd  # type: ignore[import-not-found,no-redef]
    return zstd.compress(data)


def _add_channel_dir(b: _Builder, channel: str, root: Path) -> None:
    part = f"conda:{channel}"
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = file.relative_to(root).as_posix()
        path = f"/conda/{channel}/{rel}"
        body = file.read_bytes()
        if file.name in ("repodata.json", "current_repodata.json"):
            data = json.loads(body)
            stale = json.dumps(_stale_repodata(data)).encode()
            res = Resource(
                body,
                "application/json",
                b.now,
                "index",
                stale=Resource(stale, "application/json", b.stale_mtime, "index"),
            )
            b.add(part, path, res)
            if file.name == "repodata.json" and not (file.parent / "repodata.json.zst").exists():
                continue
        elif file.name == "repodata.json.zst":
            fresh_json = (file.parent / "repodata.json").read_bytes()
            stale = _zstd_compress(json.dumps(_stale_repodata(json.loads(fresh_json))).encode())
            b.add(
                part,
                path,
                Resource(
                    body,
                    "application/zstd",
                    b.now,
                    "index",
                    stale=Resource(stale, "application/zstd", b.stale_mtime, "index"),
                ),
            )
        elif file.suffix in (".conda", ".bz2"):
            b.add(part, path, Resource(body, "application/octet-stream", b.now, "artifact"))
        else:
            ctype = {
                ".json": "application/json",
                ".html": "text/html",
                ".xml": "application/rss+xml",
            }.get(file.suffix, "application/octet-stream")
            b.add(part, path, Resource(body, ctype, b.now, "page"))


def _build_conda(b: _Builder, work: Path, extra: tuple = ()) -> None:
    real = shared_dir() / "data" / "conda_format_repo"
    if not real.is_dir():
        raise FileNotFoundError(
            f"{real} is missing: the farm serves conda's real test channel from ../shared/data "
            "(set MINSTALL_SHARED_DIR to the shared folder)"
        )
    # The real channel from conda's own test data, served byte for byte (its zlib depends on
    # a libgcc-ng it lacks, so installs use the generated channels below).
    _add_channel_dir(b, "conda-format", real)
    made: dict[str, list[str]] = {"conda-format": ["zlib-1.2.11-h7b6447c_3"]}
    specs_by_channel = _conda_specs()
    for channel, spec in extra:
        specs_by_channel.setdefault(channel, []).append(spec)
    for channel, specs in specs_by_channel.items():
        out = work / "channels" / channel
        for spec in specs:
            make_conda_package(spec, out, work / "src")
        index_channel(out)
        _add_channel_dir(b, channel, out)
        made[channel] = sorted({s.stem for s in specs})
    b.facts["conda_channels"] = sorted(made)
    b.facts["conda_packages"] = made


# ------------------------------------------------------------------ PyPI


def _local_platform_tag() -> tuple[str, str]:
    """(interpreter tag, platform tag) of the running Python, as real torch wheels use them."""
    first = next(t for t in sys_tags() if t.abi != "none")
    platform = first.platform
    if sys.platform.startswith("linux") and platform.endswith("x86_64"):
        platform = "linux_x86_64"  # what download.pytorch.org uses for Linux wheels
    return first.interpreter, platform


def _simple_html(title: str, links: list[tuple[str, str, dict[str, str]]]) -> bytes:
    rows = []
    for href, text, attrs in links:
        extra = "".join(f' {k}="{html.escape(v)}"' for k, v in attrs.items())
        rows.append(f'<a href="{html.escape(href)}"{extra}>{html.escape(text)}</a><br/>')
    return (
        '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.1">'
        f"<title>{html.escape(title)}</title></head>\n<body><h1>{html.escape(title)}</h1>\n"
        + "\n".join(rows)
        + "\n</body></html>\n"
    ).encode()


@dataclass
class _Dist:
    project: str
    version: str
    filename: str
    body: bytes
    metadata: str
    requires_python: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


def _real_wheels() -> list[_Dist]:
    import zipfile

    out = []
    for whl in sorted((shared_dir() / "data" / "wheels").glob("*.whl")):
        body = whl.read_bytes()
        with zipfile.ZipFile(whl) as zf:
            meta_name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            metadata = zf.read(meta_name).decode()
        fields = dict(line.split(": ", 1) for line in metadata.splitlines() if ": " in line[:40])
        out.append(
            _Dist(
                fields["Name"],
                fields["Version"],
                whl.name,
                body,
                metadata,
                fields.get("Requires-Python"),
            )
        )
    return out


def _generated_wheels() -> list[_Dist]:
    specs = [
        WheelSpec("alpha", "1.0", requires=("beta>=1.0", "six"), requires_python=">=3.8"),
        WheelSpec("alpha", "1.1", requires=("beta>=1.0", "six"), requires_python=">=3.8"),
        WheelSpec("beta", "1.0", requires=("idna",)),
        WheelSpec("bigwheel", "1.0", payload_bytes=BIG_BYTES),
        # Ascend's companion of torch 2.5.1 for CANN 8.1.RC1 (Ascend/pytorch COMPATIBILITY.en.md)
        WheelSpec("torch-npu", "2.5.1", requires=("torch==2.5.1",)),
        # "pip" is the project minstall bench reads on every index; like the real one it
        # releases often and its wheel is a couple of MB.
        WheelSpec("pip", "24.0", requires_python=">=3.8", payload_bytes=64 * 1024),
        WheelSpec("pip", "25.0", requires_python=">=3.9", payload_bytes=2 * 1024 * 1024),
        # TensorFlow as PyPI has it: the and-cuda extra (from 2.14) brings CUDA as nvidia-*
        # wheels, cu12 for 2.15+, cu11 for 2.14 (tensorflow.org pip.md; tensorflow#61993);
        # older releases have no extra; tensorflow-gpu 1.x is the GPU build of its time
        *[
            WheelSpec(
                "tensorflow",
                v,
                extras=("and-cuda",),
                requires=(f'nvidia-cudnn-{cu}; extra == "and-cuda"',),
            )
            for v, cu in (("2.14.0", "cu11"), ("2.21.0", "cu12"))
        ],
        *[WheelSpec("tensorflow", v) for v in ("2.3.0", "2.10.0", "2.12.0")],
        WheelSpec("tensorflow-gpu", "1.12.0"),
        WheelSpec("nvidia-cudnn-cu11", "8.6.0.163"),
        WheelSpec("nvidia-cudnn-cu12", "9.3.0.75"),
    ]
    out = []
    for spec in specs:
        body, metadata = make_wheel(spec)
        out.append(
            _Dist(spec.name, spec.version, spec.filename, body, metadata, spec.requires_python)
        )
    return out


def _project_pages(
    dists: list[_Dist], href_prefix: str, stale: bool
) -> dict[str, tuple[bytes, bytes]]:
    """project -> (HTML page, JSON page); ``stale`` drops each project's newest version."""
    by_project: dict[str, list[_Dist]] = {}
    for d in dists:
        by_project.setdefault(canonicalize_name(d.project), []).append(d)
    pages = {}
    for project, items in by_project.items():
        if stale:
            versions = {Version(d.version) for d in items}
            if len(versions) > 1:
                items = [d for d in items if Version(d.version) != max(versions)]
        links, files = [], []
        for d in sorted(items, key=lambda d: (Version(d.version), d.filename)):
            meta_sha = hashlib.sha256(d.metadata.encode()).hexdigest()
            attrs = {
                "data-dist-info-metadata": f"sha256={meta_sha}",
                "data-core-metadata": f"sha256={meta_sha}",
            }
            if d.requires_python:
                attrs = {"data-requires-python": d.requires_python, **attrs}
            href = f"{href_prefix}{d.filename}"
            links.append((f"{href}#sha256={d.sha256}", d.filename, attrs))
            entry = {
                "filename": d.filename,
                "url": href,
                "hashes": {"sha256": d.sha256},
                "core-metadata": {"sha256": meta_sha},
                "data-dist-info-metadata": {"sha256": meta_sha},
                "size": len(d.body),
                "yanked": False,
            }
            if d.requires_python:
                entry["requires-python"] = d.requires_python
            files.append(entry)
        versions_sorted = sorted({d.version for d in items}, key=Version)
        page_json = {
            "meta": {"api-version": "1.1"},
            "name": project,
            "versions": versions_sorted,
            "files": files,
        }
        pages[project] = (
            _simple_html(f"Links for {project}", links),
            json.dumps(page_json).encode(),
        )
    return pages


def _pypi_torch() -> list[_Dist]:
    """torch, torchvision and torchaudio as PyPI publishes them: plain versions (no local
    label), one release newer than the farm's variant trees."""
    interp, platform = _local_platform_tag()
    tag = f"{interp}-{interp}-{platform}"
    torch_v, vision_v, audio_v = PYPI_TORCH_RELEASE
    specs = [
        WheelSpec("torch", torch_v, tag, payload_bytes=64 * 1024),
        WheelSpec("torchvision", vision_v, tag, requires=(f"torch=={torch_v}",)),
        WheelSpec("torchaudio", audio_v, tag, requires=(f"torch=={torch_v}",)),
    ]
    out = []
    for spec in specs:
        body, metadata = make_wheel(spec)
        out.append(_Dist(spec.name, spec.version, spec.filename, body, metadata))
    return out


def _build_pypi(b: _Builder, extra: tuple[WheelSpec, ...] = ()) -> None:
    made = [make_wheel(spec) for spec in extra]
    dists = _real_wheels() + _generated_wheels() + _pypi_torch()
    dists += [
        _Dist(spec.name, spec.version, spec.filename, body, meta, spec.requires_python)
        for spec, (body, meta) in zip(extra, made, strict=True)
    ]
    fresh = _project_pages(dists, "../../packages/", stale=False)
    stale = _project_pages(dists, "../../packages/", stale=True)
    for project, (page_html, page_json) in fresh.items():
        s_html, s_json = stale[project]
        b.add(
            "pypi",
            f"/pypi/simple/{project}/",
            Resource(
                page_html,
                "text/html",
                b.now,
                "index",
                alternatives={JSON_SIMPLE: page_json},
                stale=Resource(
                    s_html, "text/html", b.stale_mtime, "index", alternatives={JSON_SIMPLE: s_json}
                ),
            ),
        )
    root_links = [(f"{p}/", p, {}) for p in sorted(fresh)]
    root_json = json.dumps(
        {"meta": {"api-version": "1.1"}, "projects": [{"name": p} for p in sorted(fresh)]}
    ).encode()
    b.add(
        "pypi",
        "/pypi/simple/",
        Resource(
            _simple_html("Simple index", root_links),
            "text/html",
            b.now,
            "page",
            alternatives={JSON_SIMPLE: root_json},
        ),
    )
    for d in dists:
        b.add(
            "pypi",
            f"/pypi/packages/{d.filename}",
            Resource(d.body, "application/octet-stream", b.now, "artifact"),
        )
        b.add(
            "pypi",
            f"/pypi/packages/{d.filename}.metadata",
            Resource(d.metadata.encode(), "application/octet-stream", b.now, "metadata"),
        )
    newest: dict[str, str] = {}
    for d in dists:
        key = canonicalize_name(d.project)
        if key not in newest or Version(d.version) > Version(newest[key]):
            newest[key] = d.version
    b.facts["pypi_projects"] = sorted(fresh)
    b.facts["pypi_newest"] = newest
    b.facts["pypi_files"] = {d.filename: d.sha256 for d in dists}


# ------------------------------------------------------------------ PyTorch wheels

TORCH_VARIANTS = ("cpu", "cu118", "cu121", "cu124", "rocm6.1", "rocm6.2", "xpu")
# (torch, torchvision, torchaudio), paired as on pytorch.org/get-started/previous-versions
TORCH_RELEASES = (("2.4.1", "0.19.1", "2.4.1"), ("2.5.1", "0.20.1", "2.5.1"))
# PyPI's own newer release (no local version), as on pypi.org: what pip takes when a variant
# index is merged with PyPI instead of being the only index
PYPI_TORCH_RELEASE = ("2.6.0", "0.21.0", "2.6.0")
TORCH_PAYLOAD_BYTES = 1024 * 1024


def _torch_dists(big: dict[str, int]) -> dict[str, list[_Dist]]:
    """Every variant's wheels; ``big``: variant -> payload bytes of its torch wheels for this
    platform (a benchmark's torch-sized file), the rest stay small."""
    interp, local_platform = _local_platform_tag()
    platforms = [local_platform] + (["win_amd64"] if local_platform != "win_amd64" else [])
    out: dict[str, list[_Dist]] = {}
    for variant in TORCH_VARIANTS:
        cuda = f"{variant[2:-1]}.{variant[-1]}" if variant.startswith("cu") else None
        for torch_v, vision_v, audio_v in TORCH_RELEASES:
            for platform in platforms:
                tag = f"{interp}-{interp}-{platform}"
                for spec in (
                    WheelSpec(
                        "torch",
                        f"{torch_v}+{variant}",
                        tag,
                        payload_bytes=big.get(variant, TORCH_PAYLOAD_BYTES)
                        if platform == local_platform
                        else TORCH_PAYLOAD_BYTES,
                        files={
                            "torch/version.py": f"__version__ = '{torch_v}+{variant}'\n"
                            f"cuda = {cuda!r}\n"
                        },
                    ),
                    WheelSpec(
                        "torchvision", f"{vision_v}+{variant}", tag, requires=(f"torch=={torch_v}",)
                    ),
                    WheelSpec(
                        "torchaudio", f"{audio_v}+{variant}", tag, requires=(f"torch=={torch_v}",)
                    ),
                ):
                    body, metadata = make_wheel(spec)
                    out.setdefault(variant, []).append(
                        _Dist(spec.name, spec.version, spec.filename, body, metadata)
                    )
    return out


def _flat_listing(title: str, names: list[tuple[str, str]]) -> bytes:
    """An nginx-style autoindex, '+' written as &#43; as Aliyun's listing does."""
    rows = ['<a href="../">../</a>']
    for href, text in names:
        rows.append(
            f'<a href="{href.replace("+", "&#43;")}">{text.replace("+", "&#43;")}</a>'
            f"{' ' * 4}01-Jan-2026 00:00    -"
        )
    return (
        f"<html>\n<head><title>Index of {title}</title></head>\n<body>\n"
        f"<h1>Index of {title}</h1><hr><pre>" + "\n".join(rows) + "\n</pre><hr></body>\n</html>\n"
    ).encode()


def _build_torch(b: _Builder, big: dict[str, int]) -> None:
    dists = _torch_dists(big)
    newest_torch = max((Version(v) for v, *_ in TORCH_RELEASES))
    stable_all = []
    for variant, items in dists.items():
        # PEP 503 index layout (download.pytorch.org, NJU)
        for project in ("torch", "torchvision", "torchaudio"):
            mine = [d for d in items if d.project == project]
            fresh_h, fresh_j = _project_pages(mine, "../", stale=False)[project]
            stale_h, stale_j = _project_pages(mine, "../", stale=True)[project]
            b.add(
                "pytorch:index",
                f"/whl/{variant}/{project}/",
                Resource(
                    fresh_h,
                    "text/html",
                    b.now,
                    "index",
                    alternatives={JSON_SIMPLE: fresh_j},
                    stale=Resource(
                        stale_h,
                        "text/html",
                        b.stale_mtime,
                        "index",
                        alternatives={JSON_SIMPLE: stale_j},
                    ),
                ),
            )
        b.add(
            "pytorch:index",
            f"/whl/{variant}/",
            Resource(
                _simple_html(
                    "Simple index",
                    [(f"{p}/", p, {}) for p in ("torch", "torchvision", "torchaudio")],
                ),
                "text/html",
                b.now,
                "page",
            ),
        )
        stable = [(d.filename.replace("+", "%2B"), d.filename) for d in items]
        stable_all += [(f"{variant}/{h}", f"{variant}/{t}") for h, t in stable]
        b.add(
            "pytorch:index",
            f"/whl/{variant}/torch_stable.html",
            Resource(
                _simple_html("torch_stable", [(h, t, {}) for h, t in stable]),
                "text/html",
                b.now,
                "index",
            ),
        )
        # Aliyun-style flat listing
        fresh_names = [(d.filename, d.filename) for d in items]
        stale_names = [
            (d.filename, d.filename)
            for d in items
            if Version(d.version.split("+")[0]) < newest_torch or d.project != "torch"
        ]
        b.add(
            "pytorch:find-links",
            f"/pytorch-wheels/{variant}/",
            Resource(
                _flat_listing(f"/pytorch-wheels/{variant}/", fresh_names),
                "text/html",
                b.now,
                "index",
                stale=Resource(
                    _flat_listing(f"/pytorch-wheels/{variant}/", stale_names),
                    "text/html",
                    b.stale_mtime,
                    "index",
                ),
            ),
        )
        for d in items:
            res = Resource(d.body, "application/octet-stream", b.now, "artifact")
            b.add("pytorch:index", f"/whl/{variant}/{d.filename}", res)
            b.add(
                "pytorch:index",
                f"/whl/{variant}/{d.filename}.metadata",
                Resource(d.metadata.encode(), "application/octet-stream", b.now, "metadata"),
            )
            b.add("pytorch:find-links", f"/pytorch-wheels/{variant}/{d.filename}", res)
    b.add(
        "pytorch:index",
        "/whl/torch_stable.html",
        Resource(
            _simple_html("torch_stable", [(h, t, {}) for h, t in stable_all]),
            "text/html",
            b.now,
            "index",
        ),
    )
    interp, platform = _local_platform_tag()
    b.facts["torch_variants"] = list(TORCH_VARIANTS)
    b.facts["torch_releases"] = [t for t, *_ in TORCH_RELEASES]
    b.facts["torch_local_tag"] = f"{interp}-{interp}-{platform}"
    b.facts["torch_files"] = {d.filename: d.sha256 for ds in dists.values() for d in ds}


# ------------------------------------------------------------------ GPU-built packages' hosts

# The official hosts the farm copies (a lab's proxy of each), and where: official prefix ->
# the farm path its tree is served under. ``[mirror.X.hosts]`` in the farm's catalog.
# PaddlePaddle's pages link their wheels absolutely on Baidu's object store, so a copy of its
# index copies that host too (uv#12711's log: the page on paddlepaddle.org.cn, the wheel from
# paddle-whl.bj.bcebos.com/stable/cu126/paddlepaddle-gpu/).
HOST_COPIES = {
    "pyg": (("https://data.pyg.org/whl/", "/pyg/whl/"),),
    "paddle": (
        ("https://www.paddlepaddle.org.cn/packages/stable/", "/paddle/packages/stable/"),
        ("https://paddle-whl.bj.bcebos.com/stable/", "/paddle-whl/stable/"),
    ),
    "openmmlab": (("https://download.openmmlab.com/", "/openmmlab/"),),
    # flash-attn's release wheels, as a lab's copy of GitHub's release downloads
    "flash-attn": (
        (
            "https://github.com/Dao-AILab/flash-attention/releases/download/",
            "/github/Dao-AILab/flash-attention/releases/download/",
        ),
    ),
}
# PyG's pages for the farm's torch releases: page torch -> builds; its wheels carry the
# torch minor and build in their local version (torch_scatter-2.1.2+pt25cu121), linked
# relatively with '+' as %2B, the file name as the text (pyg-team/pyg-lib's page generator;
# before 2026-03 the links were absolute on data.pyg.org)
PYG_PAGES = {
    "2.4.0": ("cpu", "cu118", "cu121", "cu124"),
    "2.5.0": ("cpu", "cu118", "cu121", "cu124"),
}
PYG_SCATTER = "2.1.2"
# PaddlePaddle 3.0.0: one index per CUDA build, the same file name in each
PADDLE_BUILDS = {"cu118": "11.8", "cu123": "12.3", "cu126": "12.6"}
PADDLE_RELEASE = "3.0.0"
# mmcv 2.2.0 for torch 2.4 (its selector: cpu, cu118, cu121; nothing for torch 2.5)
MMCV_PAGES = {"2.4": ("cpu", "cu118", "cu121")}
MMCV_RELEASE = "2.2.0"
# flash-attn 2.8.3's wheel for torch 2.4 with CUDA 12, the old C++ ABI (its release matrix at
# 060c918 builds torch 2.4.0 x CUDA 12.9.1 x cxx11_abi FALSE/TRUE), for the running Python
FLASH_RELEASE = "2.8.3"
FLASH_BUILDS = ("cu12torch2.4cxx11abiFALSE", "cu12torch2.4cxx11abiTRUE")


def _build_host_copies(b: _Builder) -> None:
    interp, platform = _local_platform_tag()
    tag = f"{interp}-{interp}-{platform}"
    base = HOST_COPIES["pyg"][0][1]
    for torch, builds in PYG_PAGES.items():
        pt = "pt" + "".join(torch.split(".")[:2])
        for build in builds:
            page_dir = f"torch-{torch}+{build}"
            links = []
            for project in ("torch-scatter", "torch-sparse"):
                spec = WheelSpec(project, f"{PYG_SCATTER}+{pt}{build}", tag)
                body, _ = make_wheel(spec)
                name = f"{page_dir}/{spec.filename}"
                links.append((name.replace("+", "%2B"), spec.filename, {}))
                b.add(
                    "host:pyg",
                    base + name,
                    Resource(body, "application/octet-stream", b.now, "artifact"),
                )
            b.add(
                "host:pyg",
                f"{base}{page_dir}.html",
                Resource(_simple_html(page_dir, links), "text/html", b.now, "page"),
            )
    (_, base), (files_official, files_base) = HOST_COPIES["paddle"]
    for build, cuda in PADDLE_BUILDS.items():
        spec = WheelSpec(
            "paddlepaddle-gpu",
            PADDLE_RELEASE,
            tag,
            files={
                "paddle/__init__.py": "",
                "paddle/version/__init__.py": f"def cuda():\n    return {cuda!r}\n",
            },
        )
        dist = _Dist(spec.name, spec.version, spec.filename, *make_wheel(spec))
        linked = f"{files_official}{build}/paddlepaddle-gpu/"
        page_html, page_json = _project_pages([dist], linked, stale=False)["paddlepaddle-gpu"]
        b.add(
            "host:paddle",
            f"{base}{build}/paddlepaddle-gpu/",
            Resource(page_html, "text/html", b.now, "page", alternatives={JSON_SIMPLE: page_json}),
        )
        b.add(
            "host:paddle",
            f"{base}{build}/",
            Resource(
                _simple_html("Simple index", [("paddlepaddle-gpu/", "paddlepaddle-gpu", {})]),
                "text/html",
                b.now,
                "page",
            ),
        )
        b.add(
            "host:paddle",
            f"{files_base}{build}/paddlepaddle-gpu/{dist.filename}",
            Resource(dist.body, "application/octet-stream", b.now, "artifact"),
        )
    # OpenMMLab's mmcv pages: one directory per build and torch X.Y.0, the wheels under it
    # with no build in their name, linked "./name"; the torchX.Y page is an alias linking
    # "../torchX.Y.0/name"; bare <a> lines, no hashes (the pages as fetched, see
    # mirrorinstall/data/find_links.toml's mmcv sources)
    base = HOST_COPIES["openmmlab"][0][1] + "mmcv/dist/"
    for torch, builds in MMCV_PAGES.items():
        for build in builds:
            spec = WheelSpec(
                "mmcv",
                MMCV_RELEASE,
                tag,
                files={"mmcv/_built.py": f"torch = {torch!r}\nbuild = {build!r}\n"},
            )
            body, _ = make_wheel(spec)
            full = f"{base}{build}/torch{torch}.0/"
            b.add(
                "host:openmmlab",
                full + spec.filename,
                Resource(body, "application/octet-stream", b.now, "artifact"),
            )
            for page, href in (
                (full, f"./{spec.filename}"),
                (f"{base}{build}/torch{torch}/", f"../torch{torch}.0/{spec.filename}"),
            ):
                line = f'<a href="{href}">{href}</a><br>\n'.encode()
                b.add(
                    "host:openmmlab",
                    page + "index.html",
                    Resource(line, "text/html", b.now, "page"),
                )
    base = HOST_COPIES["flash-attn"][0][1]
    for build in FLASH_BUILDS:
        spec = WheelSpec(
            "flash_attn",
            f"{FLASH_RELEASE}+{build}",
            tag,
            files={"flash_attn/_built.py": f"build = {build!r}\n"},
        )
        body, _ = make_wheel(spec)
        b.add(
            "host:flash-attn",
            f"{base}v{FLASH_RELEASE}/{spec.filename}",
            Resource(body, "application/octet-stream", b.now, "artifact"),
        )
    b.facts["host_copies"] = dict(HOST_COPIES)


# ------------------------------------------------------------------ entry point

_CACHE: dict[tuple, Content] = {}
_LOCK = threading.Lock()


def build_content(
    stale_lag_s: float = DEFAULT_STALE_LAG_S,
    now: float | None = None,
    extra_wheels: tuple[WheelSpec, ...] = (),
    extra_conda: tuple[tuple[str, CondaSpec], ...] = (),
    torch_payload: tuple[tuple[str, int], ...] = (),
) -> Content:
    """Build (or reuse, per process) the farm's content; a few hundred ms the first time.
    ``extra_wheels`` adds projects to the PyPI index, ``extra_conda`` (channel, package)
    pairs to the conda channels, ``torch_payload`` (variant, bytes) pairs the size of that
    variant's torch wheels for this platform (the benchmarks' big payloads)."""
    key = (
        stale_lag_s,
        tuple((w.filename, w.requires, w.payload_bytes) for w in extra_wheels),
        tuple((c, s.stem, s.subdir, s.payload_bytes) for c, s in extra_conda),
        torch_payload,
    )
    with _LOCK:
        if now is None and key in _CACHE:
            return _CACHE[key]
        b = _Builder(time.time() if now is None else now, stale_lag_s)
        work = Path(tempfile.mkdtemp(prefix="minstall-farm-"))
        try:
            _build_conda(b, work, extra_conda)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        _build_pypi(b, extra_wheels)
        _build_torch(b, dict(torch_payload))
        _build_host_copies(b)
        content = Content(b.resources, b.parts, b.facts)
        if now is None:
            _CACHE[key] = content
        return content
