"""GPU builds of PyTorch, TensorFlow and JAX from conda channels other than ``pytorch``. Pure.

- conda-forge (the ``conda_forge_twin`` rows of data/gpu_packages.toml: pytorch, tensorflow,
  jaxlib): its CUDA builds depend on ``__cuda`` and its CPU builds do not, so a solver that
  cannot take a CUDA build quietly takes the CPU one. On a GPU host with ``--cuda auto`` the
  spec is pinned to a CUDA build (``pytorch=*=cuda*``; ``jax`` alone gets ``jaxlib=*=cuda*``
  beside it), so the solver takes one or fails loudly; ``--cuda cpu`` pins a CPU build. With
  no driver, a spec that asks for a CUDA build itself gets a note. conda itself decides
  which CUDA build the driver runs from ``__cuda``, which honours ``CONDA_OVERRIDE_CUDA`` (an
  empty value: no CUDA, so no GPU pin, as host detection reads it the same way).
- Anaconda's defaults (``main``): GPU TensorFlow (``tensorflow-gpu``, ``tensorflow``) up to
  2.4.1 takes CUDA from ``cudatoolkit``. The newest TensorFlow there whose tested CUDA the
  driver runs decides a ``cudatoolkit=X.Y`` pin added to the same command (the fix the seed's
  user made by hand, ``conda install cudatoolkit==9.0``); the solver picks the TF build.
"""

from __future__ import annotations

import re

from mirrorinstall.cuda.choose import CudaMismatch, HostCuda, choose_tensorflow
from mirrorinstall.cuda.packages import CondaTwin
from mirrorinstall.rewrite.common import Context, Plan, spec_name

_DEFAULTS = ("defaults", "main", "anaconda")
_TF = ("tensorflow", "tensorflow-gpu")


def build_pinned(token: str, build: str) -> str:
    """``token`` restricted to builds matching ``build`` (``cuda*``); a spec that already
    names a build (or uses brackets) is the user's choice and stays."""
    prefix, sep, spec = token.rpartition("::")
    name = spec_name(spec)
    rest = spec[len(name) :]
    if "[" in rest or " " in rest.strip() or re.match(r"^=[^=]+=.+", rest):
        return token
    if not rest:
        return f"{prefix}{sep}{name}=*={build}"
    return f"{prefix}{sep}{spec}[build={build}]"


def gpu_pins(
    positionals: list[tuple[int, str]],
    pinned: set[str],
    channels: set[str],
    ctx: Context,
    plan: Plan,
    out: dict,
) -> None:
    """Add to ``out`` ({arg index: new token}, -1: specs to add) the GPU pins above.
    ``pinned``: the CUDA packages the command pins itself (left to the pin checks)."""
    tables, host = ctx.facts.tables, ctx.facts.host
    if tables is None or host is None:
        return
    names = {spec_name(t): (i, t) for i, t in positionals}
    gpu = ctx.cuda_mode == "auto" and host.has_driver and ctx.facts.os != "macos"
    if not gpu and ctx.cuda_mode != "cpu":
        if "tensorflow-gpu" in names and not host.has_driver:
            plan.notes.append(f"CUDA: tensorflow-gpu will run on the CPU here: {host.describe()}")
        if not host.has_driver and "conda-forge" in channels:
            _cuda_build_without_driver(names, tables.conda_twins, host, plan)
        return
    if "conda-forge" in channels:
        for twin in tables.conda_twins:
            _pin_twin(twin, names, channels, gpu, ctx, plan, out)
        return
    tf = next((n for n in _TF if n in names), None)
    if not gpu or tf is None or "cudatoolkit" in pinned or not channels & set(_DEFAULTS):
        return
    _tf_defaults(tf, names[tf][1], ctx, plan, out)


def _pin_twin(
    twin: CondaTwin,
    names: dict[str, tuple[int, str]],
    channels: set[str],
    gpu: bool,
    ctx: Context,
    plan: Plan,
    out: dict,
) -> None:
    """``twin`` pinned to its CUDA build (``--cuda auto`` on a GPU host) or its CPU build
    (``--cuda cpu``), added when the command names a package it comes with (``jax``)."""
    if twin.name == "pytorch" and "pytorch" in channels:
        return  # the pytorch channel's own builds: its pins are checked elsewhere
    if twin.name in names:
        i, token = names[twin.name]
    elif any(n in names for n in twin.added_for):
        i, token = -1, twin.name
    else:
        return
    if gpu and ctx.facts.os not in twin.cuda_os:
        if twin.name == "tensorflow" and ctx.facts.os == "windows":
            raise CudaMismatch(
                "conda-forge has no Windows GPU build of TensorFlow, so this would "
                "install a CPU build",
                "Use 'minstall pip install tensorflow --cuda auto' (TensorFlow 2.10 with "
                "CUDA from conda), or WSL2, or --cuda cpu for the CPU build on purpose.",
            )
        plan.notes.append(
            f"CUDA: conda-forge has no {ctx.facts.os} CUDA build of {twin.name}; left as "
            "written (WSL2 runs the Linux builds)"
        )
        return
    current = out.get(i, token) if i != -1 else token
    new = build_pinned(current, twin.cuda_build if gpu else twin.cpu_build)
    if new == current:
        return
    why = (
        "CUDA builds need __cuda; pinned so the solver takes one or says why not, instead of "
        "quietly taking the CPU build"
        if gpu
        else "CPU build (--cuda cpu)"
    )
    if i == -1:
        out.setdefault(-1, []).append(new)
        plan.notes.append(f"added {new}: conda-forge's {why}")
    else:
        out[i] = new
        plan.notes.append(f"{token} -> {new}: conda-forge's {why}")


def _cuda_build_without_driver(
    names: dict[str, tuple[int, str]], twins: tuple[CondaTwin, ...], host: HostCuda, plan: Plan
) -> None:
    """A note for each conda-forge twin the command pins to a CUDA build on a machine with no
    driver: conda sees no __cuda there, so it cannot install it."""
    for twin in twins:
        token = names.get(twin.name, (0, ""))[1]
        build = build_of(token) or _bracket_build(token)
        if build and "cuda" in build:
            plan.notes.append(
                f"CUDA: {token} asks for a CUDA build, which needs __cuda, and this machine "
                f"has {host.describe()}: conda will say it cannot install it (set "
                "CONDA_OVERRIDE_CUDA only to install for another machine)"
            )


def _bracket_build(token: str) -> str | None:
    """The build of a ``name[build=...]`` spec, or None."""
    found = re.search(r"\[\s*build\s*=\s*['\"]?([^'\"\],]+)", token)
    return found.group(1) if found else None


def build_of(token: str) -> str | None:
    """The build string of a ``name=version=build`` spec (``gpu_py38h8a7d6ce_0``), or None."""
    rest = token.split("::", 1)[-1][len(spec_name(token)) :].strip()
    found = re.match(r"^==?[^=\s\[]+=([^=\s\[]+)$", rest)
    return found.group(1) if found else None


def _as_pip_spec(token: str) -> str | None:
    """conda's ``=2.4``/``==2.4.1``/``>=2.0`` version part as a pip specifier (None: any); a
    ``=2.4.1=build`` spec names version 2.4.1 exactly."""
    rest = token.split("::", 1)[-1][len(spec_name(token)) :].strip()
    if build_of(token) is not None:
        return "==" + rest.lstrip("=").split("=", 1)[0]
    fuzzy = re.match(r"^=?=?\s*(\d[\w.]*?)(\.\*)?$", rest)
    if fuzzy:
        return f"=={fuzzy.group(1)}.*"
    return rest if re.match(r"^[<>!=~]", rest) else None


def _tf_defaults(name: str, token: str, ctx: Context, plan: Plan, out: dict) -> None:
    tables, host = ctx.facts.tables, ctx.facts.host
    assert tables is not None and host is not None
    last = tables.tf_packaging.conda_defaults_last_gpu
    build = build_of(token)
    if build is not None and name == "tensorflow" and build.startswith(("mkl", "eigen")):
        # Anaconda's TensorFlow builds are named gpu_*, mkl_* or eigen_*: the user chose one
        plan.notes.append(
            f"CUDA: {token} names the {build.split('_')[0]} build (a CPU build) itself; "
            "kept as written, no CUDA added"
        )
        return
    spec = _as_pip_spec(token)
    choice = choose_tensorflow(
        tables,
        host,
        spec=spec,
        os=ctx.facts.os,
        driver_os=ctx.facts.driver_os,
        newest_allowed=last,
    )
    if choice is None or not choice.runnable:
        best = choose_tensorflow(
            tables, host, os=ctx.facts.os, driver_os=ctx.facts.driver_os, newest_allowed=last
        )
        why = (
            choice.reason
            if choice
            else f"Anaconda's defaults have GPU TensorFlow only up to {last}, not {token}"
        )
        fix = (
            f"Use {name}={best.series} (with cudatoolkit={best.cuda}), the newest there this "
            "driver runs; or"
            if best is not None and best.runnable
            else "Use"
        )
        raise CudaMismatch(
            why,
            f"{fix} 'minstall pip install tensorflow --cuda auto'; or -c conda-forge; or "
            "--cuda cpu for the CPU build on purpose.",
            instead=(name, f"{name}={best.series}") if best is not None and best.runnable else None,
        )
    out.setdefault(-1, []).append(f"cudatoolkit={choice.cuda}")
    plan.notes.append(
        f"added cudatoolkit={choice.cuda}: {choice.reason}; the solver picks the {name} build "
        f"made for it (Anaconda's defaults have GPU TensorFlow up to {last})"
    )
    plan.notes += [f"CUDA: {n}" for n in choice.notes]
    plan.cuda = {
        "framework": "tensorflow",
        "release": choice.version,
        "conda_pin": f"cudatoolkit={choice.cuda}",
        "cudnn": choice.cudnn,
        "driver": host.driver,
        "how": host.how,
    }
