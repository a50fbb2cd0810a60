"""JAX, CuPy, ONNX Runtime and PaddlePaddle builds matched to the driver (rewrite/gpupkg.py),
as hand-written cases: a machine and a command in, the command (or a refusal) out.

Expected values come from the pages each case cites, read by hand, never from the table the
code reads: NVIDIA's minor-version-compatibility floors (CUDA 11.x needs driver >= 450.80.02,
12.x >= 525.60.13 on Linux, 528.33 on Windows; CUDA 13 needs >= 580:
https://docs.nvidia.com/deploy/cuda-compatibility/), and each package's install page."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirrorinstall.context.facts import Facts, Ranking
from mirrorinstall.core.argv import parse_command
from mirrorinstall.core.catalog import build_catalog
from mirrorinstall.cuda.choose import CudaMismatch, HostCuda
from mirrorinstall.cuda.packaged import load_tables
from mirrorinstall.rewrite import Context, rewrite

ROOT = Path(__file__).resolve().parents[2]
CATALOG = build_catalog([("mirrors.toml", (ROOT / "mirrors.toml").read_text())])
ORDER = Ranking(order={"pypi": ("tuna",), "conda": ("tuna",), "pytorch": ("nju",)})
JAX = "https://docs.jax.dev/en/latest/installation.html"
CUPY = "https://docs.cupy.dev/en/stable/install.html"
ORT = "https://onnxruntime.ai/docs/execution-providers/CUDA-ExecutionProvider.html"
PADDLE = "https://www.paddlepaddle.org.cn/documentation/docs/en/install/pip/linux-pip_en.html"
PI = "https://www.paddlepaddle.org.cn/packages/stable"  # PaddlePaddle's per-CUDA indexes
ORT11 = "https://aiinfra.pkgs.visualstudio.com/PublicPackages/_packaging/onnxruntime-cuda-11/pypi/simple/"

MACHINES = {
    "linux-550": (HostCuda(driver="550.54.14"), "linux-64"),  # runs 12.x, not 13
    "linux-580": (HostCuda(driver="580.65.06"), "linux-64"),  # runs 13.x
    "linux-470": (HostCuda(driver="470.82.01"), "linux-64"),  # runs 11.x only
    "linux-418": (HostCuda(driver="418.67"), "linux-64"),  # below every 11.x floor
    "linux-none": (HostCuda(how="no NVIDIA driver"), "linux-64"),
    "win-560": (HostCuda(driver="560.94"), "win-64"),  # runs 12.x (>= 528.33)
    "mac-arm": (HostCuda(how="no NVIDIA driver"), "osx-arm64"),
}


def plan(machine: str, line: str, mode: str = "auto"):
    host, platform = MACHINES[machine]
    facts = Facts(
        catalog=CATALOG,
        ranking=ORDER,
        tables=load_tables(),
        host=host,
        platform=platform,
        python="3.11",
    )
    return rewrite(parse_command(line.split()), Context(facts, mode, False))


# (machine, command, mode, expected requirement or index token, a note must contain, source)
CASES = [
    ("linux-550", "pip install jax[cuda13]", "auto", "jax[cuda12]", "needs driver >= 580", JAX),
    ("linux-580", "pip install jax[cuda13]", "auto", "jax[cuda13]", None, JAX),
    ("linux-550", "pip install jax[cuda12]==0.6.1", "auto", "jax[cuda12]==0.6.1", None, JAX),
    ("linux-550", "pip install jax[cuda13]", "keep", "jax[cuda13]", "--cuda auto picks jax[cuda12]", JAX),  # noqa: E501
    ("win-560", "pip install jax[cuda12]", "auto", "jax", "for linux only", JAX),
    ("win-560", "pip install jax[cuda12]", "keep", "jax[cuda12]", "no CUDA build for windows", JAX),
    ("mac-arm", "pip install jax[cuda12]==0.4.30", "auto", "jax==0.4.30", "linux only", JAX),
    ("linux-none", "pip install jax[cuda12]", "keep", "jax[cuda12]", "will not run here", JAX),
    ("linux-550", "pip install jax[cuda12]", "cpu", "jax", "--cuda cpu", JAX),
    ("linux-470", "pip install cupy-cuda12x", "auto", "cupy-cuda11x", "runs CUDA 11", CUPY),
    ("linux-470", "pip install cupy-cuda12x==13.3.0", "keep", "cupy-cuda12x==13.3.0", ">= 525.60.13", CUPY),  # noqa: E501
    ("linux-550", "pip install cupy-cuda12x", "auto", "cupy-cuda12x", None, CUPY),
    ("linux-550", "pip install cupy-cuda13x", "auto", "cupy-cuda12x", "needs driver >= 580", CUPY),
    ("linux-580", "pip install cupy", "auto", "cupy-cuda13x", "compiled on install", CUPY),
    ("linux-550", "pip install cupy", "keep", "cupy", "cupy-cuda12x is the prebuilt wheel", CUPY),
    ("linux-none", "pip install cupy-cuda12x", "auto", "cupy-cuda12x", "will not run here", CUPY),
    ("win-560", "pip install cupy-cuda12x", "auto", "cupy-cuda12x", None, CUPY),
    ("linux-470", "pip install onnxruntime-gpu", "auto", "onnxruntime-gpu", ORT11, ORT),
    ("linux-550", "pip install onnxruntime-gpu==1.20.1", "auto", "onnxruntime-gpu==1.20.1", None, ORT),  # noqa: E501
    ("linux-470", f"pip install paddlepaddle-gpu==3.0.0 -i {PI}/cu126/", "auto", f"{PI}/cu118/", "runs CUDA 11", PADDLE),  # noqa: E501
    ("linux-470", f"pip install paddlepaddle-gpu==3.0.0 -i {PI}/cu126/", "keep", f"{PI}/cu126/", ">= 525.60.13", PADDLE),  # noqa: E501
    ("linux-550", f"pip install paddlepaddle-gpu==3.0.0 -i {PI}/cu126/", "auto", f"{PI}/cu126/", "own host", PADDLE),  # noqa: E501
    ("linux-none", f"pip install paddlepaddle-gpu -i {PI}/cu118/", "keep", f"{PI}/cu118/", "will not run here", PADDLE),  # noqa: E501
]  # fmt: skip


@pytest.mark.parametrize(("machine", "line", "mode", "token", "note", "source"), CASES)
def test_case(machine: str, line: str, mode: str, token: str, note: str | None, source: str):
    """``source``: the page the expected outcome was read from (kept with the case)."""
    got = plan(machine, line, mode)
    assert token in got.argv, (got.argv, got.notes)
    cuda_notes = [n for n in got.notes if n.startswith("CUDA")]
    if note is None:
        assert not cuda_notes, cuda_notes
    else:
        assert any(note in n for n in got.notes), got.notes


def test_a_marker_and_a_version_are_kept_when_the_build_changes() -> None:
    got = plan("linux-550", "pip install jax[cuda13]==0.7.2;sys_platform=='linux'")
    assert 'jax[cuda12]==0.7.2; sys_platform == "linux"' in got.argv, got.argv


@pytest.mark.parametrize(
    ("machine", "line", "floor"),
    [
        ("linux-470", "pip install jax[cuda12]", "525.60.13"),  # JAX has no CUDA 11 build left
        ("linux-418", f"pip install paddlepaddle-gpu -i {PI}/cu118/", "450.80.02"),
        ("linux-418", "pip install cupy-cuda11x", "450.80.02"),
    ],
)
def test_no_build_the_driver_runs_is_refused_with_the_driver_that_would(
    machine: str, line: str, floor: str
) -> None:
    with pytest.raises(CudaMismatch) as caught:
        plan(machine, line)
    assert floor in caught.value.message + caught.value.hint


def test_the_onnxruntime_cuda_11_feed_in_the_command_is_judged_as_its_build() -> None:
    # the feed's builds are CUDA 11.8 (onnxruntime.ai install page): 470 runs them, 418 runs
    # no CUDA 11 build at all (floor 450.80.02)
    line = f"pip install onnxruntime-gpu --extra-index-url {ORT11}"
    on_470 = plan("linux-470", line)
    assert ORT11 in on_470.argv
    assert not [n for n in on_470.notes if n.startswith("CUDA")], on_470.notes
    with pytest.raises(CudaMismatch) as caught:
        plan("linux-418", line)
    assert "450.80.02" in caught.value.message


def test_a_broken_package_row_names_the_file_row_and_key() -> None:
    from mirrorinstall.cuda.packages import parse_packages

    text = '[[package]]\nfamily = "x"\nspell = "name"\nproject = "x"\nos = ["linux"]\n'
    text += 'source = "https://example.org/"\nbuilds = [{ cuda = "12" }]\n'
    with pytest.raises(
        ValueError, match=r"gpu_packages.toml: package 1 \(x\): missing builds.requirement"
    ):
        parse_packages(text)
