"""Gather every fact a command's rewrite needs, once per invocation.
[edge: network (ranking, wheel listings), host (driver), disk (named files), process (conda)]

The result (:class:`~mirrorinstall.context.facts.Facts`) is handed to the pure rewriter, and
kept for every fallback attempt: nothing here runs twice in one invocation.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from mirrorinstall.context.facts import Facts, Ranking
from mirrorinstall.core import hostos
from mirrorinstall.core.argv import Command
from mirrorinstall.core.catalog import KNOWN_SUBDIRS
from mirrorinstall.core.defaults import QUICK_TIMEOUT_S
from mirrorinstall.core.errors import UsageError
from mirrorinstall.core.reqincludes import MAX_FILES, included_paths
from mirrorinstall.core.settings import Session
from mirrorinstall.core.textcodec import TextForm, decode_requirements
from mirrorinstall.cuda.choose import HostCuda
from mirrorinstall.cuda.tables import Tables

_FILE_OPTIONS = ("-r", "--requirement", "--file", "-f")
# A command that names one of these may need the driver even with --cuda keep (pins checked)
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
    "flash-attn",
    "flash_attn",
)
CUDA_MODES = ("keep", "auto", "cpu")


def current_subdir(environ: Mapping[str, str]) -> str:
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


def named_files(
    args: tuple[str, ...], positional: bool = False
) -> tuple[dict[str, str], dict[str, TextForm]]:
    """Read the files the command names with -r/--requirement/--file/-f (never written to),
    decoded as pip reads them (core/textcodec.py); their text and their form. ``positional``:
    bare arguments name files too (uv pip sync/compile requirements.txt)."""
    out: dict[str, str] = {}
    forms: dict[str, TextForm] = {}
    named: list[str] = []
    for i, token in enumerate(args):
        path = None
        if positional and not token.startswith("-") and (i == 0 or not args[i - 1].startswith("-")):
            named.append(token)
            continue
        if token in _FILE_OPTIONS and i + 1 < len(args):
            path = args[i + 1]
        elif token.startswith(("--requirement=", "--file=")):
            path = token.split("=", 1)[1]
        elif token.startswith("-r") and len(token) > 2 and not token.startswith("--"):
            path = token[2:]
        if path:
            named.append(path)
    # files the named ones include (-r base.txt), read too: their index lines are routed
    # like the top file's (rewrite/pip.py), so their copies are needed as well
    while named and len(out) < MAX_FILES:
        path = named.pop(0)
        if path in out:
            continue
        _read_named(path, out, forms)
        if path in out:
            named += included_paths(out[path], path)
    return out, forms


def _read_named(path: str, out: dict[str, str], forms: dict[str, TextForm]) -> None:
    """Read one named file into ``out``/``forms`` (a path that is not a file is skipped: the
    tool says what it thinks of it)."""
    shown = path if len(path) <= 80 else path[:77] + "..."
    try:
        # is_file() raises for some names too (one longer than the system allows)
        if not Path(path).is_file():
            return
        data = Path(path).read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(f"cannot read {shown!r}: {reason}", "Check the file's path.") from None
    locale_encoding = hostos.locale_encoding()
    try:
        out[path], forms[path] = decode_requirements(data, locale_encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise UsageError(
            f"cannot read {shown!r}: it is neither UTF-8 nor this system's encoding "
            f"({locale_encoding}), and has no byte-order mark ({exc})",
            "pip cannot read it either. Save it as UTF-8, as UTF-16 with a byte-order mark "
            "(what PowerShell writes), or add a '# -*- coding: NAME -*-' first line.",
        ) from None


def check_cuda_mode(cuda_mode: str) -> None:
    import re

    if cuda_mode not in CUDA_MODES and not re.fullmatch(r"\d+\.\d+|cu\d{2,3}", cuda_mode):
        raise UsageError(
            f"--cuda {cuda_mode!r} is not keep, auto, cpu, X.Y or cuXYZ",
            "For example --cuda auto, --cuda 12.1 or --cuda cu121.",
        )


def get_ranking_for(
    session: Session,
    kinds: list[str],
    *,
    mirror_id: str | None,
    refresh: bool = False,
    timeout_s: float = QUICK_TIMEOUT_S,
) -> Ranking:
    """The ranking for ``kinds``: forced by --mirror, else cached or measured now; none
    for a command that downloads nothing."""
    if not kinds:
        return Ranking(order={}, source="not needed: the command downloads nothing")
    if mirror_id:
        if session.catalog.get(mirror_id) is None:
            from mirrorinstall.core.suggest import mistyped

            meant = mistyped(mirror_id, [m.id for m in session.catalog.mirrors])
            raise UsageError(
                f"no mirror with id {mirror_id}" + (f" (did you mean {meant}?)" if meant else ""),
                "Run 'minstall mirrors' for the ids.",
            )
        return Ranking.forced_to(mirror_id, kinds)
    from mirrorinstall.bench.ranking import get_ranking

    return Ranking.from_report(
        get_ranking(session, kinds, None, timeout_s=timeout_s, refresh=refresh)
    )


def _names_a_page(cmd: Command, files: Mapping[str, str], tables: Tables) -> bool:
    """Does the command, or a file it names, name a find-links page built per torch?"""
    from mirrorinstall.cuda.findlinks import read_page

    words = [*cmd.args, *(w for text in files.values() for w in text.split())]
    return any(read_page(tables.pages, w.split("=", 1)[-1]) for w in words if "://" in w)


def gather(
    session: Session,
    cmd: Command,
    *,
    cuda_mode: str = "keep",
    mirror_id: str | None = None,
    platform: str | None = None,
    refresh: bool = False,
    timeout_s: float = QUICK_TIMEOUT_S,
) -> Facts:
    """The facts for ``cmd``: ranking, platform, CUDA (when the command could need it),
    named files and where their rewritten copies go, wheel listings, conda's own channels."""
    check_cuda_mode(cuda_mode)
    environ = session.environ
    here = current_subdir(environ)
    subdir = platform or here
    if subdir not in KNOWN_SUBDIRS:
        where = "--platform" if platform else "CONDA_SUBDIR"
        raise UsageError(
            f"{where} {subdir!r} is not a conda subdir",
            "Use one such as linux-64, linux-aarch64, win-64, osx-64 or osx-arm64.",
        )
    text = " ".join((*cmd.head, *cmd.args)).lower()
    kinds = list(cmd.kinds)
    if cmd.family == "pip" and "tensorflow" in text and environ.get("CONDA_PREFIX"):
        kinds.append("conda")  # the plan may put TensorFlow's CUDA libraries in with conda
    ranking = get_ranking_for(
        session, kinds, mirror_id=mirror_id, refresh=refresh, timeout_s=timeout_s
    )
    files, forms = named_files(
        cmd.args, positional=cmd.tool == "uv" and cmd.action in ("sync", "compile")
    )
    # the pins may be in the files (pip install -r requirements.txt): they are checked too
    text = " ".join([text, *files.values()]).lower()
    needs_cuda = (
        cuda_mode != "keep"
        or any(w in text for w in _CUDA_WORDS)
        or (cmd.tool == "uv" and bool(environ.get("UV_TORCH_BACKEND")))
        or cmd.origin == "mim"  # mmcv's page and range, chosen for the target's torch
    )
    host, windows_driver, tables, accel = None, False, None, None
    if needs_cuda:
        from mirrorinstall.cuda.packaged import load_tables

        tables = load_tables()
        foreign = platform and platform != here
        if foreign and not (
            environ.get("MINSTALL_CUDA_DRIVER") or "CONDA_OVERRIDE_CUDA" in environ
        ):
            host = HostCuda(
                how=f"planning for {platform}: set MINSTALL_CUDA_DRIVER to that "
                "machine's driver version"
            )
        else:
            from mirrorinstall.cuda.host import detect_cuda

            detected = detect_cuda(environ)
            host, windows_driver = detected.host, detected.windows_driver
        if (not host.has_driver and not foreign) or "MINSTALL_ACCELERATOR" in environ:
            from mirrorinstall.cuda.accelhost import detect_accelerators

            accel = detect_accelerators(environ)
        elif foreign and platform.startswith("osx-"):
            from mirrorinstall.cuda.accel import planned_mac

            accel = planned_mac(platform)
    installed_torch = installed_cuda = installed_abi = None
    target_python = f"{sys.version_info.major}.{sys.version_info.minor}"
    # mim picks mmcv's page from the target's torch and its CUDA; pages built per torch (PyG's,
    # mmcv's) must match the torch the target has when the command installs none; a
    # flash-attn wheel, that torch and the target's Python
    if cmd.origin == "mim" or (
        cmd.family == "pip"
        and tables is not None
        and (_names_a_page(cmd, files, tables) or "flash-attn" in text or "flash_attn" in text)
    ):
        from mirrorinstall.context.installed import ask_target, interpreter_of
        from mirrorinstall.cuda.verify import target_python as active_python

        found = ask_target(interpreter_of(cmd.head, cmd.args) or [active_python(environ)], environ)
        if found is not None:
            target_python = found.python
            installed_torch, installed_cuda = found.torch, found.cuda
            installed_abi = found.cxx11_abi
    out_dir = session.cache_dir / "rewritten"
    copies = {
        path: str(
            out_dir / f"{hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:8]}-"
            f"{Path(path).name}"
        )
        for path in files
    }
    wheels = None
    if cmd.family == "pip" and (needs_cuda or "torch" in text):
        from mirrorinstall.context.wheels import make_wheel_lister

        wheels = make_wheel_lister(session.catalog)
    conda: dict[str, object] = {}  # pip: the Facts defaults, never read
    if cmd.family == "conda" and "--override-channels" not in cmd.args:
        from mirrorinstall.context.condaconfig import detect_conda_channels
        from mirrorinstall.core.engines import find_engine

        channels, where = detect_conda_channels(find_engine("conda", environ), environ)
        conda = {"conda_channels": channels, "conda_channels_from": where}
    return Facts(
        catalog=session.catalog,
        ranking=ranking,
        platform=subdir,
        python=target_python,
        environ=environ,
        files=files,
        file_forms=forms,
        copies=copies,
        file_dirs={path: os.path.dirname(os.path.abspath(path)) for path in files},
        host=host,
        accel=accel,
        windows_driver=windows_driver,
        tables=tables,
        wheels=wheels,
        installed_torch=installed_torch,
        installed_torch_cuda=installed_cuda,
        installed_torch_abi=installed_abi,
        **conda,  # type: ignore[arg-type]
    )
