"""``minstall verify``: does the GPU build in an environment really work?  [edge: process]

The check runs in the target environment's own Python (a child process): for torch, the
first device of ``torch.cuda`` (NVIDIA, and AMD under ROCm), ``torch.xpu``, ``torch.npu``
(torch-npu) or ``torch.backends.mps``, and a small tensor operation on it; for TensorFlow, the
GPUs it lists and a small matmul; for JAX, ``jax.devices()``; for PaddlePaddle, its CUDA
devices; for ONNX Runtime, whether it lists CUDAExecutionProvider. ``verdict`` (pure) turns
what the child reported into a verdict and, on failure, the likely cause and the next step.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mirrorinstall.core import capped, hostos
from mirrorinstall.core.errors import UsageError


def _script(framework: str, imports: str, setup: str, probe: str, head: str = "") -> str:
    """The script the target's Python runs: ``imports`` the framework (failing: its
    import_error), runs ``setup`` (its version and build), then ``probe`` (the device and a
    small operation; failing: its error), and prints the facts as one JSON line. ``head``:
    lines before the import (environment settings)."""

    def block(text: str) -> str:
        return textwrap.indent(textwrap.dedent(text).strip("\n") + "\n", "    ")

    return (
        "import importlib.util, json, os, sys\n"
        + textwrap.dedent(head).lstrip("\n")
        + f'facts = {{"framework": "{framework}", "python": sys.executable}}\n'
        + "try:\n"
        + block(imports)
        + "except Exception as exc:\n"
        + '    facts["import_error"] = f"{type(exc).__name__}: {exc}"\n'
        + "else:\n"
        + block(setup)
        + "    try:\n"
        + textwrap.indent(block(probe), "    ")
        + "    except Exception as exc:\n"
        + '        facts["error"] = f"{type(exc).__name__}: {exc}"\n'
        + 'print("MINSTALL-VERIFY " + json.dumps(facts))\n'
    )


TORCH_CHECK = _script(
    "torch",
    "import torch",
    """
    facts["version"] = torch.__version__
    facts["cuda"] = getattr(torch.version, "cuda", None)
    facts["hip"] = getattr(torch.version, "hip", None)  # ROCm builds answer through torch.cuda
    facts["xpu"] = getattr(torch.version, "xpu", None)
    try:
        import torch_npu  # Ascend: registers torch.npu
        facts["npu"] = getattr(torch_npu, "__version__", "?")
    except Exception:
        pass
    """,
    """
    kind = None
    if torch.cuda.is_available():
        kind = "cuda"
        facts["device"] = torch.cuda.get_device_name(0)
        facts["capability"] = list(torch.cuda.get_device_capability(0))
    elif getattr(torch, "xpu", None) is not None and torch.xpu.is_available():
        kind = "xpu"
        facts["device"] = torch.xpu.get_device_name(0)
    elif getattr(torch, "npu", None) is not None and torch.npu.is_available():
        kind = "npu"
        facts["device"] = torch.npu.get_device_name(0)
    else:
        mps = getattr(getattr(torch, "backends", None), "mps", None)
        if mps is not None and mps.is_available():
            kind = "mps"
            facts["device"] = "the Apple GPU (MPS)"
    facts["available"] = kind is not None
    facts["device_kind"] = kind
    if kind:
        x = torch.ones(64, 64, device=kind)
        facts["op_result"] = float((x @ x).sum().item())
    """,
)

JAX_CHECK = _script(
    "jax",
    "import jax\nimport jax.numpy as jnp",
    """
    facts["version"] = jax.__version__
    for major in ("13", "12"):
        if importlib.util.find_spec(f"jax_cuda{major}_plugin") is not None:
            facts["cuda"] = major
            break
    """,
    """
    devices = jax.devices()
    facts["devices"] = [f"{d.platform}: {getattr(d, 'device_kind', '')}" for d in devices]
    gpus = [d for d in devices if d.platform in ("gpu", "cuda", "rocm")]
    facts["available"] = bool(gpus)
    if gpus:
        facts["device"] = getattr(gpus[0], "device_kind", "the GPU")
        x = jax.device_put(jnp.ones((64, 64)), gpus[0])
        facts["op_result"] = float((x @ x).sum())
    """,
)

PADDLE_CHECK = _script(
    "paddle",
    "import paddle",
    'facts["version"] = paddle.__version__',
    """
    built = paddle.device.is_compiled_with_cuda()
    facts["cuda"] = str(paddle.version.cuda()) if built else None
    count = paddle.device.cuda.device_count() if built else 0
    facts["available"] = count > 0
    if count:
        facts["device"] = paddle.device.cuda.get_device_name(0)
        paddle.device.set_device("gpu:0")
        x = paddle.ones([64, 64])
        facts["op_result"] = float(paddle.matmul(x, x).sum())
    """,
)

# onnxruntime lists the providers it was built with; whether CUDA's libraries load shows only
# when a session on a model starts (microsoft/onnxruntime#27177), which needs a model
ORT_CHECK = _script(
    "onnxruntime",
    "import onnxruntime as ort",
    'facts["version"] = ort.__version__',
    """
    providers = list(ort.get_available_providers())
    facts["providers"] = providers
    facts["available"] = "CUDAExecutionProvider" in providers
    facts["cuda"] = "CUDAExecutionProvider" if facts["available"] else None
    if facts["available"]:
        facts["device"] = "CUDAExecutionProvider (built in; a model's session loads CUDA)"
    """,
)

TF_CHECK = _script(
    "tensorflow",
    "import tensorflow as tf",
    """
    facts["version"] = tf.__version__
    build = tf.sysconfig.get_build_info() if hasattr(tf.sysconfig, "get_build_info") else {}
    facts["cuda"] = build.get("cuda_version")
    """,
    """
    gpus = tf.config.list_physical_devices("GPU")
    facts["gpus"] = [g.name for g in gpus]
    facts["available"] = bool(gpus)
    if gpus:
        with tf.device("/GPU:0"):
            a = tf.ones((64, 64))
            facts["op_result"] = float(tf.reduce_sum(tf.matmul(a, a)).numpy())
    """,
    head='os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")\n',
)


CHECKS = {"jax": JAX_CHECK, "paddle": PADDLE_CHECK, "onnxruntime": ORT_CHECK}
REINSTALL = {
    "jax": 'Install the CUDA build: minstall pip install "jax[cuda12]" --cuda auto (Linux)',
    "paddle": "Install paddlepaddle-gpu from the index for your CUDA (minstall rewrite --cuda "
    "auto shows which)",
    "onnxruntime": "pip uninstall -y onnxruntime onnxruntime-gpu, then minstall pip install "
    "onnxruntime-gpu --cuda auto",
}


def _backend(facts: Mapping[str, object]) -> str:
    """What the framework ran on, in words: CUDA 12.4, ROCm 6.2, XPU, Ascend NPU, MPS."""
    if facts.get("hip"):
        return f"ROCm {facts['hip']}"
    kind = facts.get("device_kind")
    if kind in ("xpu", "npu", "mps"):
        return {
            "xpu": "Intel XPU",
            "npu": f"Ascend NPU, torch-npu {facts.get('npu')}",
            "mps": "MPS",
        }[str(kind)]
    return f"CUDA {facts.get('cuda')}"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str
    cause: str | None = None
    next_step: str | None = None


def verdict(facts: Mapping[str, object], driver: str | None = None) -> Verdict:
    """What the check in the environment showed (pure)."""
    name = str(facts.get("framework", "torch"))
    if "import_error" in facts:
        return Verdict(
            False,
            f"{name} cannot be imported in {facts.get('python')}",
            str(facts["import_error"]),
            f"Install it: minstall install {name} --cuda auto",
        )
    version = facts.get("version")
    # onnxruntime runs nothing without a model: the provider it lists is what can be told
    ran = facts.get("op_result") is not None or name == "onnxruntime"
    if facts.get("available") and "error" not in facts and ran:
        where = facts.get("device") or ", ".join(facts.get("gpus", [])) or "the GPU"
        if name == "onnxruntime":
            return Verdict(True, f"onnxruntime {version} lists {where}")
        return Verdict(
            True, f"{name} {version} uses {where} ({_backend(facts)}); a small GPU operation ran"
        )
    error = str(facts.get("error") or "")
    if "Blas GEMM launch failed" in error or "CUBLAS_STATUS" in error:
        return Verdict(
            False,
            f"{name} {version} sees a GPU but cuBLAS failed",
            error,
            "Another process probably holds the GPU's memory: close it, or set "
            "TF_FORCE_GPU_ALLOW_GROWTH=true",
        )
    if not any(facts.get(k) for k in ("cuda", "hip", "xpu", "npu")):
        return Verdict(
            False,
            f"{name} {version} is a CPU build",
            "the CPU build is installed"
            + (
                " (the onnxruntime package; onnxruntime-gpu has CUDA)"
                if name == "onnxruntime"
                else ""
            ),
            REINSTALL.get(
                name, f"Reinstall with the GPU build: minstall install {name} --cuda auto"
            ),
        )
    if error:
        return Verdict(
            False,
            f"{name} {version} failed on the GPU",
            error,
            "See the error above; minstall rewrite --cuda auto shows a build this driver runs",
        )
    cause = f"{name} was built for CUDA {facts.get('cuda')}; " + (
        f"the driver is {driver}" if driver else "no NVIDIA driver was found"
    )
    return Verdict(
        False,
        f"{name} {version} cannot use a GPU",
        cause,
        f"Install a build this driver runs: minstall install {name} --cuda auto"
        if driver
        else "Install the NVIDIA driver, or use the CPU build",
    )


def target_python(
    environ: Mapping[str, str],
    *,
    name: str | None = None,
    prefix: str | None = None,
    python: str | None = None,
) -> str:
    """The Python of the environment to check (-p PREFIX, -n NAME, --python, or the active)."""
    if python:
        return python
    if prefix:
        # -p names a conda environment or a venv: a venv has its own Scripts folder on Windows
        venv = (Path(prefix) / "pyvenv.cfg").is_file()
        return hostos.env_python(prefix, venv=venv)
    if name:
        for root in (
            environ.get("MAMBA_ROOT_PREFIX"),
            environ.get("CONDA_ROOT"),
            str(Path(environ["CONDA_EXE"]).parent.parent) if environ.get("CONDA_EXE") else None,
        ):
            if root and (Path(root) / "envs" / name).is_dir():
                return hostos.env_python(str(Path(root) / "envs" / name), venv=False)
        raise UsageError(
            f"no conda environment named {name} was found", "Give its path with -p PREFIX instead."
        )
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        if environ.get(var):
            return hostos.env_python(environ[var], venv=var == "VIRTUAL_ENV")
    return sys.executable


def run_check(
    python: str, framework: str, environ: Mapping[str, str], timeout_s: float = 300
) -> dict[str, object]:
    script = CHECKS.get(framework) or (TORCH_CHECK if framework == "torch" else TF_CHECK)
    try:
        proc = capped.run(
            [python, "-c", script],
            capture_output=True,
            text=True,
            env=dict(environ),
            timeout=timeout_s,
        )
    except (FileNotFoundError, NotADirectoryError, PermissionError) as exc:
        # CONDA_PREFIX=/dev/null: /dev/null/bin/python is "not a directory", not a crash
        why = "does not exist" if not isinstance(exc, PermissionError) else "cannot be run"
        raise UsageError(
            f"{python} {why} ({exc.strerror or exc})",
            "Check -p/-n/--python, and VIRTUAL_ENV or CONDA_PREFIX if they are set.",
        ) from None
    except subprocess.TimeoutExpired:
        return {
            "framework": framework,
            "python": python,
            "error": f"the check did not finish within {timeout_s:g} s",
        }
    except OSError as exc:  # capped.TooMuchOutput among them
        return {"framework": framework, "python": python, "error": f"the check failed: {exc}"}
    for line in proc.stdout.splitlines():
        if line.startswith("MINSTALL-VERIFY "):
            return json.loads(line[len("MINSTALL-VERIFY ") :])
    return {
        "framework": framework,
        "python": python,
        "error": (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1],
    }


def check(
    environ: Mapping[str, str],
    framework: str,
    *,
    name: str | None = None,
    prefix: str | None = None,
    python: str | None = None,
    driver: str | None = None,
) -> tuple[dict[str, object], Verdict]:
    """Run the check in the target environment and judge it (``driver``: the detected one)."""
    target = target_python(environ, name=name, prefix=prefix, python=python)
    facts = run_check(target, framework, environ)
    return facts, verdict(facts, driver)
