"""From an error text (or the machine's facts) to findings, each with the fix for this
machine. Pure: the text, the patterns and the gathered :class:`Machine` in, findings out.

The fix for a CUDA error is computed here, with the same choosers the rewrite uses: the
build this driver runs (and the driver the newest build needs), the build with kernels for
this GPU, TensorFlow's route to its CUDA libraries, the best measured mirror for a host
that timed out. Mirror faults the patterns do not name (a 404, a 403, HTML instead of
repodata, a checksum mismatch...) are read by the installer's own classifier.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from mirrorinstall.context.facts import Ranking
from mirrorinstall.core.catalog import Catalog
from mirrorinstall.core.urls import split_url
from mirrorinstall.cuda.accel import Accelerators
from mirrorinstall.cuda.choose import (
    CudaChoice,
    CudaMismatch,
    HostCuda,
    choose_tensorflow,
    choose_torch,
    driver_floor,
    unlock,
)
from mirrorinstall.cuda.packages import best_build, floor
from mirrorinstall.cuda.tables import Tables
from mirrorinstall.doctor.patterns import Match, Pattern, find
from mirrorinstall.run.classify import MIRROR, MISSING, OK, UNKNOWN, USER, classify

_OFFICIAL = {
    "conda.anaconda.org": "conda",
    "repo.anaconda.com": "conda",
    "pypi.org": "pypi",
    "files.pythonhosted.org": "pypi",
    "download.pytorch.org": "pytorch",
}


@dataclass(frozen=True)
class EnvCheck:
    """What ``minstall verify`` found for one framework in one Python environment."""

    python: str
    framework: str  # torch / tensorflow
    installed: bool
    ok: bool
    message: str
    cause: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class Source:
    """A configured channel or index and where it is set."""

    tool: str  # conda / pip
    value: str  # a URL, or a conda channel name
    where: str  # "condarc", "PIP_INDEX_URL", "pip config (global.index-url)", "pip's default"


@dataclass(frozen=True)
class Machine:
    host: HostCuda
    tables: Tables
    catalog: Catalog
    os: str = "linux"  # the platform the fixes are for
    driver_os: str = "linux"  # whose driver thresholds apply (windows under WSL2)
    python: str | None = None
    envs: tuple[EnvCheck, ...] = ()
    sources: tuple[Source, ...] = ()
    ranking: Ranking | None = None  # the cached bench result (None: never measured here)
    ranking_age: str | None = None
    accel: Accelerators | None = None  # AMD, Intel, Ascend, Apple (looked for without NVIDIA)


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str  # error | warning | info
    title: str
    cause: str
    fixes: tuple[str, ...] = ()
    evidence: str | None = None
    sources: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------ text


WINDOW_CHARS = 200_000  # the end of a log, where its error is
LINE_CHARS = 400  # a longer line is read as its first and last 200 characters


def scan_window(text: str) -> str:
    """The part of ``text`` the patterns read: its last WINDOW_CHARS characters, a run of one
    repeated line (blank ones too) once, each line cut to LINE_CHARS. Some patterns are
    ``A.*B``: Python's regular expressions try each A against the rest of the line, so their
    time grows with the square of a line's length (a 100 KB line of ReadTimeout took 64 s);
    cut this way the worst text takes well under a second, and no real error line is that
    long."""
    out: list[str] = []
    for line in text[-WINDOW_CHARS:].splitlines():
        if len(line) > LINE_CHARS:
            line = line[: LINE_CHARS // 2] + " ... " + line[-LINE_CHARS // 2 :]
        if not line.strip():
            line = ""  # a run of blank lines is one: a `^\s*X` pattern spans them all
        if not out or out[-1] != line:
            out.append(line)
    return "\n".join(out)


def diagnose_text(text: str, machine: Machine, patterns: tuple[Pattern, ...]) -> list[Finding]:
    """The findings a pasted message or log shows, each with this machine's fix."""
    text = scan_window(text)
    out = [_from_pattern(m, text, machine) for m in find(patterns, text)]
    if not out:
        fault = _from_classifier(text, machine)
        if fault:
            out.append(fault)
    return out


def _frameworks(text: str) -> list[str]:
    lowered = text.lower()
    tf = any(w in lowered for w in ("tensorflow", "tf.", "stream_executor", "cudagetdevice"))
    torch = "torch" in lowered
    if tf and not torch:
        return ["tensorflow"]
    if torch and not tf:
        return ["torch"]
    return ["torch", "tensorflow"]


def _from_pattern(match: Match, text: str, machine: Machine) -> Finding:
    pattern = match.pattern
    cause = pattern.cause
    data: dict[str, Any] = {}
    found = match.groups.get("found")
    if found and found.isdigit():
        supported = f"{int(found) // 1000}.{(int(found) % 1000) // 10}"
        cause += f" This driver reported CUDA {supported}."
        data["driver_cuda"] = supported
    fix = pattern.fix
    frameworks = _frameworks(text)
    if fix in ("build-for-driver", "build-for-gpu", "cpu-build"):
        fixes = _build_fixes(frameworks, machine)
    elif fix == "cuda-libs":
        fixes = [_tensorflow_fix(machine)]
    elif fix == "gpu-memory":
        fixes = _memory_fixes(pattern.id, frameworks, machine)
    elif fix == "conda-cuda":
        fixes = _conda_cuda_fixes(machine)
    elif fix == "as-written":
        fixes = [pattern.fix_text]
    elif fix == "build-for-accel":
        fixes = [_accel_fix(machine)]
    elif fix == "gpu-package":
        fixes = _package_fixes(pattern.package, machine)
    else:
        host = match.groups.get("host") or match.groups.get("host2") or ""
        fixes = _mirror_fixes(_OFFICIAL.get(host.lower(), "conda"), machine)
        data["host"] = host
    return Finding(
        pattern.id,
        "error",
        pattern.title,
        cause + " " + _machine_line(machine),
        tuple(fixes),
        match.evidence,
        pattern.sources,
        data,
    )


def _machine_line(machine: Machine) -> str:
    accel = machine.accel
    extra = f"; {accel.describe()}" if accel is not None and accel.devices else ""
    return f"This machine: {machine.host.describe()}{extra}."


def _accel_fix(machine: Machine) -> str:
    """The torch build for this machine's AMD, Intel or Ascend device (the choice --cuda auto
    makes), or why there is none."""
    accel = machine.accel
    if accel is None or not accel.devices:
        found = accel.describe() if accel is not None else "not looked for"
        return (
            f"No AMD, Intel or Ascend device was found here ({found}); on the machine that "
            "printed this, run minstall doctor there, or plan for it with "
            "MINSTALL_ACCELERATOR=amd:gfxXXXX."
        )
    try:
        choice = choose_torch(
            machine.tables, machine.host, os=machine.os, python=machine.python, accel=accel
        )
    except CudaMismatch as exc:
        return f"PyTorch: {exc.message}. {exc.hint}"
    notes = "; ".join(choice.notes)
    if choice.variant == "cpu":
        return f"PyTorch: {choice.reason}; only the CPU build runs" + (
            f" ({notes})" if notes else ""
        )
    return _install_line(choice, notes)


def _package_fixes(family: str, machine: Machine) -> list[str]:
    """The build of ``family`` (gpu_packages.toml) this driver runs, as a command."""
    pkg = next((p for p in machine.tables.packages if p.family == family), None)
    host = machine.host
    if pkg is None:
        return []
    if machine.os not in pkg.os:
        return [
            f"{pkg.project} has CUDA builds for {' and '.join(pkg.os)} only ({machine.os} here: "
            f"{pkg.source}); it runs on the CPU (or under WSL2 on Windows)."
        ]
    if not host.has_driver:
        return [
            f"No NVIDIA driver is working here ({host.describe()}): install or repair the "
            f"driver (nvidia-smi must work); {pkg.project} falls back to the CPU without it."
        ]
    best = best_build(machine.tables, host, pkg, machine.driver_os)
    if best is None:
        need = floor(machine.tables, pkg.builds[-1], machine.driver_os)
        return [f"Upgrade the NVIDIA driver to >= {need}: no {pkg.project} build runs on it."]
    fixes = []
    if pkg.cpu and pkg.cpu != pkg.project:
        # the CPU package installs the same module; beside the GPU one, it may be the one loaded
        fixes.append(
            f"pip uninstall -y {pkg.cpu} {pkg.project}  (the CPU package hides the GPU one)"
        )
    where = f" --extra-index-url {best.index}" if best.index else ""
    fixes.append(
        f'minstall pip install "{best.requirement}"{where}  (built for CUDA {best.cuda}, which '
        f"{host.describe()} runs: {best.source})"
    )
    return fixes


def _build_fixes(frameworks: list[str], machine: Machine) -> list[str]:
    host, tables = machine.host, machine.tables
    if not host.has_driver:
        return [
            f"No NVIDIA driver is working here ({host.describe()}): install or repair the "
            "driver (nvidia-smi must work), or use the CPU build (--cuda cpu)."
        ]
    fixes = []
    if "torch" in frameworks:
        fixes.append(_torch_fix(machine))
    if "tensorflow" in frameworks:
        fixes.append(_tensorflow_fix(machine))
        fixes += _tensorflow_conda_fix(machine)
    newest = tables.torch[-1] if tables.torch else None
    if "torch" in frameworks and newest is not None:
        release = newest.versions[-1]
        need = unlock(tables, host, release, newest.pip, machine.driver_os)
        if need and (host.driver is None or _newer(need[0], host.driver)):
            fixes.append(f"Or upgrade the NVIDIA driver to >= {need[0]} for torch {release}.")
    return fixes


def _newer(a: str, b: str) -> bool:
    from packaging.version import Version

    return Version(a) > Version(b)


def _install_line(choice: CudaChoice, notes: str = "") -> str:
    return (
        f"PyTorch: minstall pip install torch torchvision --cuda auto  "
        f"(torch {choice.build}: {choice.reason})" + (f"; {notes}" if notes else "")
    )


def _torch_fix(machine: Machine) -> str:
    try:
        choice = choose_torch(
            machine.tables, machine.host, os=machine.driver_os, python=machine.python
        )
    except CudaMismatch as exc:
        return f"PyTorch: {exc.message}. {exc.hint}"
    if choice.variant == "cpu":
        return f"PyTorch: {choice.reason}; only the CPU build runs (--cuda cpu)."
    return _install_line(choice)


def _tensorflow_fix(machine: Machine) -> str:
    choice = choose_tensorflow(
        machine.tables,
        machine.host,
        os=machine.os,
        python=machine.python,
        driver_os=machine.driver_os,
    )
    if choice is None or not choice.runnable:
        why = choice.reason if choice else "no TensorFlow release in minstall's table"
        return f"TensorFlow: {why}; only the CPU build runs here (--cuda cpu)."
    and_cuda = machine.tables.tf_packaging.and_cuda_since
    if machine.os == "windows":
        how = (
            f"inside an active conda environment: conda installs CUDA {choice.cuda} and cuDNN "
            f"{choice.cudnn}, then pip installs tensorflow {choice.series}"
        )
        line = "minstall pip install tensorflow --cuda auto"
    elif _newer(choice.version, and_cuda) or choice.version == and_cuda:
        how = f"tensorflow {choice.series} with its CUDA {choice.cuda} libraries as wheels"
        line = 'minstall pip install "tensorflow[and-cuda]" --cuda auto'
    else:
        how = (
            f"tensorflow {choice.series}; in an active conda environment CUDA {choice.cuda} and "
            f"cuDNN {choice.cudnn} come with it"
        )
        line = "minstall pip install tensorflow --cuda auto"
    return f"TensorFlow: {line}  ({how}; {choice.reason})"


def _tensorflow_conda_fix(machine: Machine) -> list[str]:
    """The conda route (Anaconda's defaults, GPU TensorFlow up to 2.4.1) where it runs."""
    last = machine.tables.tf_packaging.conda_defaults_last_gpu
    choice = choose_tensorflow(
        machine.tables,
        machine.host,
        os=machine.os,
        driver_os=machine.driver_os,
        newest_allowed=last,
    )
    if choice is None or not choice.runnable:
        return []
    return [
        f"TensorFlow with conda: minstall conda install tensorflow-gpu --cuda auto  (adds "
        f"cudatoolkit={choice.cuda}; the solver takes tensorflow-gpu {choice.series})"
    ]


def _memory_fixes(pattern_id: str, frameworks: list[str], machine: Machine) -> list[str]:
    fixes = [
        "Close the other processes and notebook kernels that hold GPU memory (nvidia-smi "
        "lists them), then run again."
    ]
    if "tensorflow" in frameworks:
        fixes.append(
            "TensorFlow: let it take GPU memory as needed instead of all at once: "
            "TF_FORCE_GPU_ALLOW_GROWTH=true, or tf.config.experimental.set_memory_growth(gpu, "
            "True) before any operation."
        )
    if pattern_id == "cuda-oom":
        fixes.append("Use a smaller batch or model.")
        if "torch" in frameworks:
            fixes.append(
                "PyTorch: PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True reduces fragmentation."
            )
    new_gpu = [g for g in machine.host.gpus if g.cc and _newer(g.cc, "7.9")]
    if pattern_id == "gemm-launch" and new_gpu and "tensorflow" in frameworks:
        fixes.append(
            f"{new_gpu[0].name} needs a TensorFlow built for CUDA 11 or newer: "
            + _tensorflow_fix(machine)
        )
    return fixes


def _conda_cuda_fixes(machine: Machine) -> list[str]:
    host = machine.host
    if not host.has_driver:
        return [
            f"conda sees no CUDA driver ({host.describe()}), so __cuda is absent: on a machine "
            "without the GPU set CONDA_OVERRIDE_CUDA to the target machine's CUDA version; "
            "otherwise install the NVIDIA driver, or ask for the CPU build (--cuda cpu)."
        ]
    cuda = host.cuda or _driver_cuda(machine)
    return [
        f"This driver gives __cuda={cuda or 'unknown'}: let minstall pick a build it runs, "
        "e.g. minstall conda install -c conda-forge pytorch --cuda auto (a pinned CUDA build, "
        "chosen by the solver within __cuda).",
        "Or upgrade the NVIDIA driver for the newer CUDA build.",
    ]


def _driver_cuda(machine: Machine) -> str | None:
    """The newest CUDA family the driver runs (from the minor-version floors)."""
    host, tables = machine.host, machine.tables
    if not host.driver:
        return None
    for row in sorted(tables.mvc, key=lambda r: int(r.cuda), reverse=True):
        floor = driver_floor(tables, f"{row.cuda}.1", machine.driver_os)
        if floor and not _newer(floor, host.driver):
            return f"{row.cuda}.x"
    return None


def _mirror_fixes(kind: str, machine: Machine) -> list[str]:
    tool = {"conda": "conda install", "pypi": "pip install", "pytorch": "pip install"}[kind]
    ranking = machine.ranking
    best = None
    if ranking is not None:
        best = next(
            (m for m in ranking.of(kind) if (c := machine.catalog.get(m)) and not c.upstream),
            None,
        )
    if best is None:
        return [
            f"minstall bench --kind {kind} measures the mirrors; then run the same command "
            f"through minstall (minstall {tool} ...), which uses the fastest and falls back "
            "when one fails."
        ]
    age = f", measured {machine.ranking_age}" if machine.ranking_age else ""
    return [
        f"Run the same command through minstall (minstall {tool} ...): it goes to mirror "
        f"{best}, the fastest for {kind} on this network{age}, and falls back if it fails."
    ]


def _tool_guess(text: str) -> list[str]:
    if re.search(r"conda|Collecting package metadata|repodata|PackagesNotFound", text, re.I):
        return ["conda", "pip", "uv"]
    if re.search(r"^\s*(?:×|╰─▶|Caused by:)|error: Failed to|\buv\b", text, re.M):
        return ["uv", "pip", "conda"]
    return ["pip", "uv", "conda"]


def _ambiguous_pip(text: str) -> bool:
    """pip's "from versions: none" with no line that says why (no status, retry or fetch
    error, which only -v or --log show)."""
    if not re.search(r"from versions: none\)", text):
        return False
    return not re.search(
        r"Retrying \(|HTTP error \d{3}|\b40[134]\b|Could not fetch URL|timed out|"
        r"ConnectTimeout|Skipping link|Fetched page|Getting page|Looking up",
        text,
    )


def _from_classifier(text: str, machine: Machine) -> Finding | None:
    for tool in _tool_guess(text):
        verdict = classify(tool, 1, text, text)
        if verdict.kind in (OK, UNKNOWN):
            continue
        if verdict.kind in (MIRROR, MISSING):
            kind = "conda" if tool == "conda" else "pypi"
            return Finding(
                "mirror-fault",
                "error",
                f"{tool}: {verdict.reason}",
                "The package server failed, not the request: another mirror of the same "
                "channel or index serves it. " + _machine_line(machine),
                (
                    *_mirror_fixes(kind, machine),
                    "minstall bench --refresh measures again and leaves the failing mirror out.",
                ),
                verdict.evidence,
                ("https://github.com/conda/conda", "https://pip.pypa.io/en/stable/"),
                {"tool": tool, "verdict": verdict.kind},
            )
        if verdict.kind == USER and tool == "pip" and _ambiguous_pip(text):
            return Finding(
                "pip-ambiguous",
                "error",
                f"pip: {verdict.reason}",
                "pip prints these same words when the project or version does not exist, when "
                "the index refused the request (403 Forbidden: a WAF or anti-abuse block, as "
                "TUNA's), when it answered with a page that is not an index (a captive portal "
                "or login page), and when every connection timed out: its console output cannot "
                "tell them apart, and this text has nothing else to go on.",
                (
                    "Run the command again with -v: pip then prints every page it fetched and "
                    "the HTTP status of each (a 403, an HTML login page, a timeout).",
                    "Or add --log pip.log and run 'minstall doctor --log pip.log': the log "
                    "holds those lines too.",
                    "minstall pip install ... reads pip's log itself: it names a mirror's "
                    "fault and moves to the next mirror.",
                ),
                verdict.evidence,
                ("https://pip.pypa.io/en/stable/cli/pip/#cmdoption-v",),
                {"tool": tool, "verdict": "ambiguous"},
            )
        if verdict.kind == USER:
            return Finding(
                "request",
                "error",
                f"{tool}: {verdict.reason}",
                "No server failed: what was asked for does not exist or does not fit together.",
                (
                    "Check the names and versions; minstall rewrite -- <the command> shows where "
                    "each would be fetched from.",
                ),
                verdict.evidence,
                ("https://pip.pypa.io/en/stable/",),
                {"tool": tool, "verdict": verdict.kind},
            )
    return None


# ------------------------------------------------------------------ machine


def diagnose_machine(machine: Machine) -> list[Finding]:
    """The machine's own state: driver and GPUs, each environment's framework build, the
    configured channels and indexes."""
    out = [_driver_finding(machine)]
    for env in machine.envs:
        out.append(_env_finding(env, machine))
    for source in machine.sources:
        finding = _source_finding(source, machine)
        if finding:
            out.append(finding)
    return out


def _driver_finding(machine: Machine) -> Finding:
    host, tables = machine.host, machine.tables
    gpus = [
        {"name": g.name, "cc": g.cc, "architecture": tables.architecture(g.cc)} for g in host.gpus
    ]
    data = {"driver": host.driver, "cuda": host.cuda, "how": host.how, "gpus": gpus}
    if host.error:
        return Finding(
            "driver",
            "warning",
            "driver detection failed",
            host.describe(),
            ("Check that nvidia-smi runs; set MINSTALL_CUDA_DRIVER to plan for a known driver.",),
            data=data,
        )
    if not host.has_driver:
        return Finding(
            "driver",
            "info",
            "no NVIDIA driver",
            f"{host.describe()}: only CPU builds run here.",
            data=data,
        )
    names = "; ".join(
        f"{g['name']} (sm {g['cc']}, {g['architecture']})" if g["cc"] else g["name"] for g in gpus
    )
    runs = _driver_cuda(machine) or host.cuda
    return Finding(
        "driver",
        "info",
        f"NVIDIA driver {host.driver or '?'}" + (f", CUDA {runs} builds" if runs else ""),
        (names or "GPUs not listed") + f" [{host.how}]",
        data=data,
    )


def _env_finding(env: EnvCheck, machine: Machine) -> Finding:
    title = f"{env.framework} in {env.python}"
    data = asdict(env)
    if not env.installed:
        return Finding(f"env-{env.framework}", "info", title, "not installed", data=data)
    if env.ok:
        return Finding(f"env-{env.framework}", "info", title, env.message, data=data)
    fix = _torch_fix(machine) if env.framework == "torch" else _tensorflow_fix(machine)
    return Finding(
        f"env-{env.framework}",
        "error",
        title + ": " + env.message,
        (env.cause or "") + " " + _machine_line(machine),
        (fix,),
        data=data,
    )


def _source_finding(source: Source, machine: Machine) -> Finding | None:
    value = source.value
    parts = split_url(value) if "://" in value else None
    host = parts.hostname if parts else None
    kind = "conda" if source.tool == "conda" else "pypi"
    official = (host in _OFFICIAL) if host else value in ("defaults", "conda-forge", "pytorch")
    mirror = _catalog_mirror(value, machine) if host else None
    ranking = machine.ranking
    data = {"tool": source.tool, "value": value, "where": source.where}
    if official:
        return Finding(
            f"{source.tool}-official",
            "warning",
            f"{source.tool} uses the official host: {value} ({source.where})",
            "Official hosts are slow or time out far from them; minstall routes the same "
            "requests to the fastest measured mirror.",
            tuple(_mirror_fixes(kind, machine)),
            data=data,
        )
    if mirror and ranking is not None:
        why = ranking.failed.get(kind, {}).get(mirror)
        if why:
            return Finding(
                f"{source.tool}-mirror-failed",
                "warning",
                f"{source.tool} uses mirror {mirror}, which failed the bench: {why}",
                f"Set in {source.where}.",
                tuple(_mirror_fixes(kind, machine)),
                data={**data, "mirror": mirror},
            )
        rank = ranking.rank(kind, mirror)
        if rank is not None:
            return Finding(
                f"{source.tool}-mirror",
                "info",
                f"{source.tool} uses mirror {mirror}, rank {rank} of "
                f"{ranking.ranked_count(kind)} for {kind}",
                f"Set in {source.where}.",
                data={**data, "mirror": mirror},
            )
    return None


def _catalog_mirror(url: str, machine: Machine) -> str | None:
    """The catalog mirror a configured URL belongs to (by its scheme, host and port)."""
    want = split_url(url)
    if want is None:
        return None
    for mirror in machine.catalog.enabled():
        for base in mirror.urls():
            have = split_url(base)
            if have is None:
                continue
            if (have.scheme, have.netloc) == (want.scheme, want.netloc):
                return mirror.id
    return None
