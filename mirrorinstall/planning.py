"""From a command line to a rewrite plan: gathers the edges (ranking, driver, files) for
the pure rewriter, and writes the rewritten copies of files.  [edge: disk, host, network]"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mirrorinstall.argv import parse_command
from mirrorinstall.catalog import KNOWN_SUBDIRS
from mirrorinstall.errors import CacheError, CudaError, UsageError

if TYPE_CHECKING:
    from mirrorinstall.cli import AppContext
    from mirrorinstall.rewrite import Plan

_FILE_OPTIONS = ("-r", "--requirement", "--file", "-f")
_CUDA_WORDS = (
    "torch",
    "pytorch",
    "torchvision",
    "torchaudio",
    "cudatoolkit",
    "pytorch-cuda",
    "cuda-version",
    "tensorflow",
    "tensorflow-gpu",
    "download.pytorch.org",
)


def current_subdir(environ: dict[str, str] | Any) -> str:
    """conda's subdir for this machine (CONDA_SUBDIR wins, as in conda)."""
    if environ.get("CONDA_SUBDIR"):
        return environ["CONDA_SUBDIR"]
    import platform

    machine = platform.machine().lower()
    arch = {
        "x86_64": "64",
        "amd64": "64",
        "aarch64": "aarch64",
        "arm64": "arm64",
        "ppc64le": "ppc64le",
    }.get(machine, "64")
    if sys.platform.startswith("win"):
        return "win-64" if arch == "64" else f"win-{arch}"
    if sys.platform == "darwin":
        return "osx-arm64" if arch in ("arm64", "aarch64") else "osx-64"
    return f"linux-{arch}"


def named_files(args: list[str]) -> dict[str, str]:
    """Read the files the command names with -r/--requirement/--file/-f (never written to)."""
    out: dict[str, str] = {}
    for i, token in enumerate(args):
        path = None
        if token in _FILE_OPTIONS and i + 1 < len(args):
            path = args[i + 1]
        elif token.startswith(("--requirement=", "--file=")):
            path = token.split("=", 1)[1]
        elif token.startswith("-r") and len(token) > 2 and not token.startswith("--"):
            path = token[2:]
        if path and Path(path).is_file():
            try:
                out[path] = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise UsageError(f"cannot read {path}: {exc}", "Check the file.") from None
    return out


def quote(argv: list[str], env: dict[str, str]) -> str:
    """The command as the user's shell wants it."""
    if os.name == "nt":
        prefix = "".join(f"set {k}={v} && " for k, v in env.items())
        return prefix + subprocess.list2cmdline(argv)
    prefix = "".join(f"{k}={shlex.quote(v)} " for k, v in env.items())
    return prefix + shlex.join(argv)


def plan_rewrite(
    app: AppContext,
    argv: list[str],
    *,
    mirror_id: str | None,
    cuda_mode: str,
    platform: str | None,
    strip_channels: bool,
    refresh: bool,
    timeout_s: float,
) -> tuple[Plan, dict[str, Any]]:
    from mirrorinstall.cuda import CudaMismatch, HostCuda
    from mirrorinstall.ranking import get_ranking
    from mirrorinstall.report import mirror_order
    from mirrorinstall.rewrite import Context, rewrite
    from mirrorinstall.settings import cache_dir

    if cuda_mode not in ("keep", "auto", "cpu") and not _is_cuda_value(cuda_mode):
        raise UsageError(
            f"--cuda {cuda_mode!r} is not keep, auto, cpu, X.Y or cuXYZ",
            "For example --cuda auto, --cuda 12.1 or --cuda cu121.",
        )
    cmd = parse_command(argv)
    catalog = app.catalog()
    kinds = cmd.kinds
    if mirror_id:
        if catalog.get(mirror_id) is None:
            raise UsageError(f"no mirror with id {mirror_id}", "Run 'minstall mirrors'.")
        order = {kind: [mirror_id] for kind in kinds}
        ranking = {"source": f"--mirror {mirror_id}"}
    else:
        report = get_ranking(
            app,
            catalog,
            kinds,
            None,
            timeout_s=timeout_s,
            refresh=refresh,
        )
        order = mirror_order(report)
        ranking = {
            "source": "cached ranking" if report.get("cached") else "quick bench",
            "created_at": report.get("created_at"),
        }
    subdir = platform or current_subdir(app.environ)
    if subdir not in KNOWN_SUBDIRS:
        where = "--platform" if platform else "CONDA_SUBDIR"
        raise UsageError(
            f"{where} {subdir!r} is not a conda subdir",
            "Use one such as linux-64, linux-aarch64, win-64, osx-64 or osx-arm64.",
        )
    host, windows_driver = None, False
    needs_cuda = cuda_mode != "keep" or any(w in " ".join(argv).lower() for w in _CUDA_WORDS)
    if needs_cuda:
        if (
            platform
            and platform != current_subdir(app.environ)
            and not (
                app.environ.get("MINSTALL_CUDA_DRIVER") or "CONDA_OVERRIDE_CUDA" in app.environ
            )
        ):
            host = HostCuda(
                how=f"planning for {platform}: set MINSTALL_CUDA_DRIVER to that "
                "machine's driver version"
            )
        else:
            from mirrorinstall.host import detect_cuda

            detected = detect_cuda(app.environ)
            host, windows_driver = detected.host, detected.windows_driver
    from mirrorinstall.cuda_tables import load_tables

    out_dir = cache_dir(app.cache_dir_flag, app.environ).value / "rewritten"
    files = named_files(list(cmd.args))

    def copy_path(original: str) -> str:
        digest = hashlib.sha256(os.path.abspath(original).encode()).hexdigest()[:8]
        return str(out_dir / f"{digest}-{Path(original).name}")

    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    wheel_check = None
    if needs_cuda and cmd.family == "pip":
        from mirrorinstall.wheels import make_wheel_check

        wheel_check = make_wheel_check(catalog, python, subdir)
    ctx = Context(
        catalog=catalog,
        order=order,
        platform=subdir,
        cuda_mode=cuda_mode,
        host=host,
        tables=load_tables() if needs_cuda else None,
        python=python,
        wheel_check=wheel_check,
        strip_channels=strip_channels,
        files=files,
        environ=app.environ,
        copy_path=copy_path,
        windows_driver=windows_driver,
    )
    try:
        plan = rewrite(cmd, ctx)
    except CudaMismatch as exc:
        fixed = ""
        if cuda_mode != "auto":
            try:
                from dataclasses import replace

                auto = rewrite(cmd, replace(ctx, cuda_mode="auto"))
                fixed = f" Fixed command: {quote(auto.argv, auto.env)}"
            except CudaMismatch:
                pass
        raise CudaError(exc.message, exc.hint + fixed) from None
    _write_copies(plan.writes)
    info = {
        "command": quote(plan.argv, plan.env),
        "platform": subdir,
        "ranking": ranking,
        "input": argv,
    }
    return plan, info


def _is_cuda_value(value: str) -> bool:
    import re

    return bool(re.fullmatch(r"\d+\.\d+|cu\d{2,3}", value))


def _write_copies(writes: dict[str, str]) -> None:
    from mirrorinstall.cache import write_atomic

    for path, text in writes.items():
        try:
            write_atomic(Path(path), text)
        except OSError as exc:
            raise CacheError(
                f"cannot write the rewritten copy {path}: {exc.strerror or exc}",
                "Choose another --cache-dir (MINSTALL_CACHE_DIR).",
            ) from None
