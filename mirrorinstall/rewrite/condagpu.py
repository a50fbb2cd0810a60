"""GPU builds of PyTorch and TensorFlow from conda channels other than ``pytorch``. Pure.

- conda-forge (PyTorch and TensorFlow): its CUDA builds depend on ``__cuda`` and its CPU
  builds do not, so a solver that cannot take a CUDA build quietly takes the CPU one. On a
  GPU host with ``--cuda auto`` the spec is pinned to a CUDA build (``pytorch=*=cuda*``), so
  the solver takes one or fails loudly; ``--cuda cpu`` pins a CPU build. conda itself decides
  which CUDA build the driver runs from ``__cuda``, which honours ``CONDA_OVERRIDE_CUDA`` (an
  empty value: no CUDA, so no GPU pin, as host detection reads it the same way).
- Anaconda's defaults (``main``): GPU TensorFlow (``tensorflow-gpu``, ``tensorflow``) up to
  2.4.1 takes CUDA from ``cudatoolkit``. The newest TensorFlow there whose tested CUDA the
  driver runs decides a ``cudatoolkit=X.Y`` pin added to the same command (the fix the seed's
  user made by hand, ``conda install cudatoolkit==9.0``); the solver picks the TF build.
"""

from __future__ import annotations

import re

from mirrorinstall.cuda.choose import CudaMismatch, choose_tensorflow
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
        return
    build = "cuda*" if gpu else "cpu*"
    if "conda-forge" in channels:
        frameworks = ["pytorch"] if "pytorch" not in channels else []
        frameworks += [n for n in _TF if n in names]
        for name in frameworks:
            if name not in names or name == "tensorflow-gpu":
                continue  # conda-forge's tensorflow-gpu is itself the CUDA build
            i, token = names[name]
            if gpu and name == "tensorflow" and ctx.facts.os == "windows":
                raise CudaMismatch(
                    "conda-forge has no Windows GPU build of TensorFlow, so this would "
                    "install a CPU build",
                    "Use 'minstall pip install tensorflow --cuda auto' (TensorFlow 2.10 with "
                    "CUDA from conda), or WSL2, or --cuda cpu for the CPU build on purpose.",
                )
            new = build_pinned(out.get(i, token), build)
            if new != out.get(i, token):
                out[i] = new
                plan.notes.append(
                    f"{token} -> {new}: conda-forge's "
                    + (
                        "CUDA builds need __cuda; pinned so the solver takes one or says why "
                        "not, instead of quietly taking the CPU build"
                        if gpu
                        else "CPU build (--cuda cpu)"
                    )
                )
        return
    tf = next((n for n in _TF if n in names), None)
    if not gpu or tf is None or "cudatoolkit" in pinned or not channels & set(_DEFAULTS):
        return
    _tf_defaults(tf, names[tf][1], ctx, plan, out)


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
