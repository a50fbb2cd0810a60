"""TensorFlow in a pip/uv command: the name per release, the GPU route per platform, the
version the driver runs. Pure. See ``rewrite`` for the inputs and the plan.

The routes (tensorflow.toml, with sources):
- Linux/WSL2, TF >= 2.14: ``tensorflow[and-cuda]``, whose extra brings CUDA and cuDNN as
  nvidia-* wheels.
- Linux, older TF: no extra exists; the CUDA/cuDNN it was tested with come from conda (a step
  before pip, into the active conda environment) where conda carries them, else a note says
  what to install.
- Native Windows: GPU builds end at 2.10; CUDA and cuDNN come from conda in a first step, then
  pip installs the TF the driver runs.
- Before 2.1 the GPU build is the separate ``tensorflow-gpu`` project; from 2.12 on
  ``tensorflow-gpu`` is an empty package that fails, so the name is mapped per release and the
  user's version is always kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version

from mirrorinstall.core.argv import parse_command
from mirrorinstall.cuda.choose import (
    CudaMismatch,
    TfChoice,
    choose_tensorflow,
    driver_floor,
    py_in,
)
from mirrorinstall.cuda.tables import Tables
from mirrorinstall.rewrite.common import Context, Plan


@dataclass(frozen=True)
class _Asked:
    name: str  # tensorflow / tensorflow-gpu
    extras: frozenset[str]
    spec: str  # "==2.10.*", "" when unpinned
    marker: str  # "; python_version < '3.12'" or ""

    @property
    def exact(self) -> str | None:
        """The version of an exact ``==X.Y.Z`` pin (None for ranges and wildcards)."""
        items = list(Requirement(f"x{self.spec}").specifier) if self.spec else []
        if len(items) == 1 and items[0].operator in ("==", "===") and "*" not in items[0].version:
            return items[0].version
        return None


def rewrite_tensorflow(token: str, ctx: Context, plan: Plan) -> str:
    """The requirement to use instead of ``token``; may add a conda step to ``plan.before``.
    Raises :class:`CudaMismatch` when nothing in the asked range runs on this GPU."""
    tables, host = ctx.facts.tables, ctx.facts.host
    try:
        req = Requirement(token)
    except InvalidRequirement:
        return token
    if req.url:  # a direct reference is the user's exact choice
        return token
    asked = _Asked(
        req.name.lower(),
        frozenset(e.lower() for e in req.extras),
        str(req.specifier),
        f"; {req.marker}" if req.marker else "",
    )
    if tables is None:
        return token
    if ctx.cuda_mode != "auto" or host is None or not host.has_driver:
        new = (
            _renamed(asked, tables, ctx, plan, gpu=ctx.cuda_mode != "cpu")
            if asked.name == "tensorflow-gpu"
            else token  # kept verbatim: nothing to choose
        )
        if host is not None and host.has_driver and ctx.cuda_mode == "keep":
            _check_pin(asked, tables, ctx, plan)
        elif host is not None and not host.has_driver and asked.name == "tensorflow-gpu":
            plan.notes.append(f"CUDA: {token} will run on the CPU here: {host.describe()}")
        return new
    return _auto(asked, tables, ctx, plan)


def _gpu_name(version: str, tables: Tables) -> str:
    """The project whose ``version`` has GPU support."""
    since = tables.tf_packaging.gpu_in_tensorflow_since
    return "tensorflow" if Version(version) >= Version(since) else "tensorflow-gpu"


def _requirement(name: str, extras: frozenset[str], spec: str, marker: str) -> str:
    inside = f"[{','.join(sorted(extras))}]" if extras else ""
    return f"{name}{inside}{spec}{marker}"


def _renamed(asked: _Asked, tables: Tables, ctx: Context, plan: Plan, *, gpu: bool) -> str:
    """``tensorflow-gpu`` under the name that has the asked version (the pin kept), for keep,
    cpu and no-GPU: the and-cuda extra only where it exists and a GPU build is wanted."""
    packaging = tables.tf_packaging
    version = asked.exact
    if version is not None and Version(version) < Version(packaging.gpu_in_tensorflow_since):
        name = "tensorflow-gpu" if gpu else "tensorflow"
        return _requirement(name, asked.extras, asked.spec, asked.marker)
    if ctx.facts.os == "windows":
        last = tables.tf_windows_last_gpu
        spec = asked.spec or f"<{_next_minor(last)}"
        new = _requirement("tensorflow", asked.extras, spec, asked.marker)
        plan.notes.append(
            f"tensorflow-gpu -> {new}: {last} is the last TensorFlow with GPU support on native "
            "Windows; it also needs CUDA and cuDNN (--cuda auto installs them with conda, or "
            "use WSL2 for newer releases)"
        )
        return new
    extras = set(asked.extras)
    if gpu and (version is None or Version(version) >= Version(packaging.and_cuda_since)):
        extras.add("and-cuda")
    new = _requirement("tensorflow", frozenset(extras), asked.spec, asked.marker)
    plan.notes.append(
        f"tensorflow-gpu -> {new}: from {packaging.gpu_in_tensorflow_since} tensorflow is the "
        f"GPU build too, and tensorflow-gpu is an empty package that fails from "
        f"{packaging.tensorflow_gpu_empty_since}"
    )
    return new


def _next_minor(version: str) -> str:
    major, minor = version.split(".")[:2]
    return f"{major}.{int(minor) + 1}"


def _record(choice: TfChoice, ctx: Context, plan: Plan) -> None:
    host = ctx.facts.host
    assert host is not None
    plan.cuda = {
        **(plan.cuda or {}),
        "tensorflow": {
            "version": choice.version,
            "cuda": choice.cuda,
            "cudnn": choice.cudnn,
            "runnable": choice.runnable,
            "reason": choice.reason,
            "driver": host.driver,
            "how": host.how,
        },
    }
    plan.notes.append(f"CUDA: {choice.reason}")
    plan.notes += [f"CUDA: {n}" for n in choice.notes]


def _choose(tables: Tables, ctx: Context, spec: str | None) -> TfChoice | None:
    """The TF table's answer for this platform, driver and Python."""
    assert ctx.facts.host is not None
    return choose_tensorflow(
        tables,
        ctx.facts.host,
        spec=spec,
        os=ctx.facts.os,
        python=ctx.facts.python,
        driver_os=ctx.facts.driver_os,
    )


def _check_pin(asked: _Asked, tables: Tables, ctx: Context, plan: Plan) -> None:
    """--cuda keep: an exact pin the driver cannot run is an error; anything else a note."""
    host = ctx.facts.host
    assert host is not None
    choice = _choose(tables, ctx, asked.spec)
    if choice is None:
        return
    _record(choice, ctx, plan)
    if asked.exact and not choice.runnable:
        raise CudaMismatch(
            f"tensorflow {asked.exact} was built for CUDA {choice.cuda}, which "
            f"{host.describe()} cannot run: its GPU would fail with 'CUDA driver version is "
            "insufficient for CUDA runtime version'",
            "Upgrade the driver, or use --cuda auto for the newest TensorFlow it runs.",
        )


def _auto(asked: _Asked, tables: Tables, ctx: Context, plan: Plan) -> str:
    """--cuda auto on a GPU host: the newest TF in the asked range the driver runs, by the
    route its platform and release need."""
    host = ctx.facts.host
    assert host is not None
    windows = ctx.facts.os == "windows"
    choice = _choose(tables, ctx, asked.spec)
    if choice is None and not windows:
        # tensorflow-gpu==1.4 (CUDA 8): a real release the table lacks; nothing says it cannot
        # run, so the user's pin stays, and the note says it was not checked
        token = _requirement(asked.name, asked.extras, asked.spec, asked.marker)
        plan.notes.append(
            f"CUDA: {token} is not in minstall's table of TensorFlow releases, so --cuda auto "
            "cannot check which CUDA it needs; kept as written"
        )
        return token
    if choice is None or not choice.runnable:
        raise _nothing_runs(asked, choice, tables, ctx)
    _record(choice, ctx, plan)
    if choice.python and ctx.facts.python and not py_in(ctx.facts.python, choice.python):
        plan.notes.append(
            f"CUDA: tensorflow {choice.series} was built for Python {choice.python}; this "
            f"Python is {ctx.facts.python}, so pip may find no wheel: use a Python in that range"
        )
    packaging = tables.tf_packaging
    name = _gpu_name(choice.version, tables)
    spec = (
        asked.spec
        if asked.exact and Version(asked.exact).release[:2] == Version(choice.version).release[:2]
        else f"=={choice.series}.*"
    )
    extras = set(asked.extras)
    needs_libs = True
    if not windows and Version(choice.version) >= Version(packaging.and_cuda_since):
        extras.add("and-cuda")
        needs_libs = False
    else:
        extras.discard("and-cuda")
    new = _requirement(name, frozenset(extras), spec, asked.marker)
    if windows:
        plan.notes.append(
            f"CUDA: TensorFlow {tables.tf_windows_last_gpu} is the last GPU release on native "
            "Windows; 2.11 and newer need WSL2 for the GPU"
        )
    if needs_libs:
        _cuda_libs_step(choice, tables, ctx, plan, required=windows)
    return new


def _nothing_runs(
    asked: _Asked, choice: TfChoice | None, tables: Tables, ctx: Context
) -> CudaMismatch:
    host = ctx.facts.host
    assert host is not None
    best = _choose(tables, ctx, None)
    fixes = []
    instead = None
    if best is not None and best.runnable:
        name = _gpu_name(best.version, tables)
        fixes.append(f"use {name}=={best.series}.*, the newest TensorFlow this driver runs")
        instead = (asked.name, f"{name}=={best.series}.*")
    if choice is None and ctx.facts.os == "windows":
        why = (
            f"native Windows has no GPU build of {asked.name}{asked.spec}: "
            f"{tables.tf_windows_last_gpu} is the last TensorFlow with GPU support there"
        )
        fixes.append("use WSL2 for newer releases")
    elif choice is None:
        why = f"minstall's table has no TensorFlow release matching {asked.spec!r}"
    else:
        why = choice.reason
    fixes.append("--cuda cpu installs the CPU build on purpose")
    hint = "; or ".join(fixes)
    return CudaMismatch(why, hint[:1].upper() + hint[1:] + ".", instead=instead)


def _cuda_libs_step(
    choice: TfChoice, tables: Tables, ctx: Context, plan: Plan, *, required: bool
) -> None:
    """CUDA and cuDNN for a TF that finds none on PyPI: a conda step into the active conda
    environment, before pip. Without one (or without a conda package for that CUDA) a note
    says what is needed; on native Windows, where nothing else brings them, an error."""
    libs = next((r for r in tables.tf_packaging.conda_cuda_libs if r.cuda == choice.cuda), None)
    prefix = ctx.facts.environ.get("CONDA_PREFIX")
    what = f"CUDA {choice.cuda} and cuDNN {choice.cudnn}"
    if libs is None or not prefix:
        if required:
            raise CudaMismatch(
                f"tensorflow {choice.series} on native Windows needs {what} in its "
                "environment; minstall installs them with conda into the active conda "
                "environment, and no conda environment is active (CONDA_PREFIX is unset)",
                f"Create and activate one (conda create -n tf python="
                f"{choice.python.split('-')[-1] or '3.10'}; conda activate tf) and run the same "
                "minstall command there; or use WSL2; or --cuda cpu.",
            )
        how = (
            f"conda install -c {libs.channel} cudatoolkit={libs.cudatoolkit} cudnn={libs.cudnn} "
            "in a conda environment (minstall does it when one is active)"
            if libs
            else f"tensorflow[and-cuda]>={tables.tf_packaging.and_cuda_since} brings them as wheels"
        )
        plan.notes.append(
            f"CUDA: tensorflow {choice.series} finds no CUDA libraries on PyPI: it needs {what} "
            f"installed ({how}); without them it runs on the CPU"
        )
        return
    from mirrorinstall.rewrite.conda import rewrite_conda

    line = [
        "conda",
        "install",
        "--prefix",
        prefix,
        "-c",
        libs.channel,
        f"cudatoolkit={libs.cudatoolkit}",
        f"cudnn={libs.cudnn}",
        "--override-channels",
    ]
    step = rewrite_conda(parse_command(line), ctx)
    step.step = (
        f"{what} for tensorflow {choice.series}, from conda ({libs.channel}) into the active "
        f"environment {prefix}"
    )
    plan.before.append(step)
    plan.notes.append(f"step 1 of 2: {step.step}; step 2: pip")
    floor = driver_floor(tables, choice.cuda, ctx.facts.driver_os)
    plan.notes.append(f"CUDA: {what} need driver >= {floor}")
