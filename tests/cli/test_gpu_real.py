"""Issue 9 with the real tools: real pip resolving and installing the rewritten TensorFlow and
PyTorch commands from farm indexes that model the real ones (the and-cuda extra, nvidia-*
wheels, variant indexes with local versions), the real conda 26.7.1 solving the rewritten
conda commands against farm channels whose GPU builds depend on ``__cuda`` and
``cudatoolkit`` (``CONDA_OVERRIDE_CUDA`` stands for the driver, as conda documents it), and a
two-step plan (conda, then pip) run by the executor.

No GPU here: the driver is given with MINSTALL_CUDA_DRIVER / MINSTALL_CUDA_ARCH (minstall's
documented planning variables), never mocked inside minstall.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from farm import Fault
from realconda import linked

from .test_cli import minstall
from .test_conda_real import make_conda_farm
from .test_install_cli import farm_env  # noqa: F401  (a fixture)


def installed_dists(python: str) -> set[str]:
    """name==version of every distribution in the venv of ``python``."""
    site = next(Path(python).parent.parent.glob("lib/python3*/site-packages"))
    out = set()
    for info in site.glob("*.dist-info"):
        name, version = info.name.removesuffix(".dist-info").rsplit("-", 1)
        out.add(f"{name.lower().replace('_', '-')}=={version}")
    return out


@pytest.mark.parametrize(
    ("driver", "line", "expected", "absent"),
    [
        # 12.x runs from 525.60.13: TF 2.21 (CUDA 12.5) with its cu12 wheels
        ("535.104.05", ["tensorflow"], {"tensorflow==2.21.0", "nvidia-cudnn-cu12==9.3.0.75"}, ""),
        # R470 runs 11.x only: TF 2.14 (CUDA 11.8), the last with cu11 wheels
        ("470.82.01", ["tensorflow"], {"tensorflow==2.14.0", "nvidia-cudnn-cu11==8.6.0.163"}, ""),
        # the user's pin is kept; 2.12 has no and-cuda extra to ask for
        ("535.104.05", ["tensorflow-gpu==2.12.0"], {"tensorflow==2.12.0"}, "nvidia-"),
    ],
    ids=["R535", "R470", "tensorflow-gpu pin"],
)
def test_pip_tensorflow_installs_a_gpu_build_with_its_cuda_libraries(
    farm_env,  # noqa: F811
    driver,
    line,
    expected,
    absent,
) -> None:
    _farm, env, python = farm_env
    proc = minstall(
        "pip",
        "--cuda",
        "auto",
        "--python",
        python,
        "install",
        *line,
        env={**env, "MINSTALL_CUDA_DRIVER": driver},
    )
    assert proc.returncode == 0, proc.stderr
    got = installed_dists(python)
    assert expected <= got, (got, proc.stderr)
    assert not absent or not any(d.startswith(absent) for d in got)


def test_plain_tensorflow_gets_no_cuda_libraries_which_is_why_auto_exists(
    farm_env,  # noqa: F811
) -> None:
    _farm, env, python = farm_env
    proc = minstall("pip", "--python", python, "install", "tensorflow", env=env)
    assert proc.returncode == 0, proc.stderr
    assert not any(d.startswith("nvidia-") for d in installed_dists(python))


def test_torch_steps_down_to_the_newest_build_on_the_mirror_that_the_gpu_runs(
    farm_env,  # noqa: F811
) -> None:
    """A GTX 1080 Ti (sm 6.1) on R580: the table's newest (2.13 cu126) is not on the farm's
    mirror, whose newest is 2.5.1 (cu118/121/124, all with Pascal kernels): 2.5.1+cu124, not a
    CPU build."""
    _farm, env, python = farm_env
    proc = minstall(
        "pip",
        "--cuda",
        "auto",
        "--python",
        python,
        "install",
        "torch",
        env={**env, "MINSTALL_CUDA_DRIVER": "580.65.06", "MINSTALL_CUDA_ARCH": "6.1"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "torch==2.5.1+cu124" in installed_dists(python)


# ------------------------------------------------------------------ real conda


@pytest.fixture
def conda_farm(make_farm, conda_python, tmp_path: Path):
    """test_conda_real's farm, with no driver given (each test says which) and PyPI ranked
    too (the two-step plan needs both)."""
    return make_conda_farm(make_farm, conda_python, tmp_path, kinds=("conda", "pypi"))


def _solve(conda, argv: list[str], prefix: Path, env: dict[str, str]) -> set[str]:
    proc = conda.run(*argv[1:], "-p", str(prefix), "--dry-run", "--json", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return linked(proc.stdout)


def _rewritten(env: dict[str, str], *args: str) -> list[str]:
    proc = minstall("rewrite", "--json", "--cuda", "auto", "--", *args, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["argv"]


@pytest.mark.parametrize(
    ("spec", "pinned", "cuda_build", "cpu_build"),
    [
        (
            "pytorch=2.6.0",
            "pytorch=2.6.0[build=cuda*]",
            "pytorch-2.6.0-cuda126_generic_py311_201",
            "pytorch-2.6.0-cpu_generic_py311_1",
        ),
        # JAX: a command naming jax alone gets jaxlib's CUDA build pinned beside it
        ("jax", "jaxlib=*=cuda*", "jaxlib-0.4.35-cuda120_py311h_200", "jaxlib-0.4.35-cpu_py311h_0"),
    ],
    ids=["pytorch", "jax"],
)
def test_conda_forge_twins_on_a_gpu_host_are_a_cuda_build_or_a_loud_failure(
    conda_farm, spec: str, pinned: str, cuda_build: str, cpu_build: str
) -> None:
    _farm, conda, env = conda_farm
    line = ["install", "-c", "conda-forge", spec]
    prefix = conda.prefix("p")
    # a driver for CUDA 12.4: conda's __cuda is 12.4, the CUDA build is taken either way
    gpu = {**env, "CONDA_OVERRIDE_CUDA": "12.4"}
    argv = _rewritten(gpu, "conda", *line)
    assert pinned in argv
    assert cuda_build in _solve(conda, argv, prefix, gpu)
    # CUDA 11.8 (an R520 driver): conda alone quietly installs the CPU build ...
    old = {**env, "CONDA_OVERRIDE_CUDA": "11.8"}
    plain = _solve(conda, ["conda", *line], prefix, old)
    assert cpu_build in plain
    # ... minstall's command makes the solver say why there is no GPU build
    argv = _rewritten(old, "conda", *line)
    proc = conda.run(*argv[1:], "-p", str(prefix), "--dry-run", env=old)
    assert proc.returncode != 0 and "__cuda" in proc.stdout + proc.stderr
    # and doctor reads real conda's own words for it
    doctor = minstall("doctor", "--json", proc.stdout + proc.stderr, env=old)
    assert json.loads(doctor.stdout)["findings"][0]["id"] == "conda-cuda-unsatisfiable", (
        proc.stdout + proc.stderr
    )
    # minstall's own run stops at once: no mirror carries a virtual package, so no fallback
    run = minstall(
        "conda", "--cuda", "auto", "install", "-p", str(prefix), "-c", "conda-forge", spec,
        env=old,
    )  # fmt: skip
    verdict = run.stderr.strip().splitlines()[-1]
    assert run.returncode != 0 and "__cuda" in verdict, run.stderr
    assert "next:" not in run.stderr
    # CONDA_OVERRIDE_CUDA="" is "no CUDA" for conda and for minstall alike: no GPU pin
    none = {**env, "CONDA_OVERRIDE_CUDA": ""}
    assert pinned not in _rewritten(none, "conda", *line)


def test_paddles_conda_line_takes_its_channel_from_the_mirror_ranked_first(conda_farm) -> None:
    """PaddlePaddle's install page names TUNA's copy of its channel (``-c
    https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/Paddle/``); the slower farm mirror
    'second' stands for it here. minstall reads the URL as the Paddle channel and takes it from
    'first', ranked ahead; the real conda installs what the original command would, and
    nothing is asked of 'second' or of the official host."""
    farm, conda, env = conda_farm
    written = farm["second"].channel_url("Paddle") + "/"
    line = ["install", "paddlepaddle-gpu==2.2.1", "cudatoolkit=11.2", "-c", written]
    line += ["-c", "conda-forge"]
    driver = {**env, "MINSTALL_CUDA_DRIVER": "470.82.01"}  # runs CUDA 11.x (>= 450.80.02)
    prefix = conda.prefix("paddle")
    plain = _solve(conda, ["conda", *line], prefix, driver)
    assert {"paddlepaddle-gpu-2.2.1-py311_gpu_cuda11.2_many_linux_0"} <= plain
    for mirror in farm:
        mirror.reset_log()
    proc = minstall("conda", "install", "-p", str(prefix), *line[1:], env=driver)
    assert proc.returncode == 0, proc.stderr
    assert conda.installed(prefix) == plain
    assert [q.path for q in farm["second"].requests + farm["official"].requests] == []
    assert any(q.path.startswith("/conda/Paddle/") for q in farm["first"].requests)
    assert f"channel {written} (mirror second's copy of Paddle) ->" in proc.stderr


def test_the_seeds_conda_tensorflow_gpu_gets_the_cudatoolkit_its_driver_runs(conda_farm) -> None:
    """The seed's fix by hand, done up front: a driver for CUDA 9.0 at most (390.46: 9.0 needs
    384.81, 9.2 396.26) gets cudatoolkit 9.0, and the solver the tensorflow-gpu built for it;
    conda alone takes 2.4.1 with cudatoolkit 11.0, which that driver cannot run."""
    _farm, conda, env = conda_farm
    old = {**env, "MINSTALL_CUDA_DRIVER": "390.46"}
    prefix = conda.prefix("tf")
    plain = _solve(conda, ["conda", "install", "tensorflow-gpu"], prefix, old)
    assert {"tensorflow-gpu-2.4.1-h0d30ee6_0", "cudatoolkit-11.0.221-h6bb024c_0"} <= plain
    argv = _rewritten(old, "conda", "install", "tensorflow-gpu")
    assert "cudatoolkit=9.0" in argv
    got = _solve(conda, argv, prefix, old)
    assert {"tensorflow-gpu-1.12.0-h0d30ee6_0", "cudatoolkit-9.0-h6bb024c_0"} <= got


def test_a_two_step_plan_runs_conda_then_pip_each_with_its_own_fallback(
    conda_farm, tmp_path: Path
) -> None:
    """R418 (CUDA 10.1) on Linux, inside a conda environment: TF 2.3 was tested with CUDA
    10.1/cuDNN 7.6, which PyPI has no extra for; step 1 puts them in the environment with
    conda, step 2 installs TF with pip. The first mirror's conda channels block conda (403):
    conda's dry run (minstall's fetch ahead) fails there, and step 1 falls back to the second
    mirror at once; step 2 still takes PyPI from the first."""
    import venv

    farm, conda, env = conda_farm
    prefix = conda.prefix("tfenv")
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = str(target / "bin" / "python")
    farm["first"].set_faults(Fault("forbidden403", path="/conda/*", user_agent=r"^conda/"))
    run_env = {
        **env,
        "MINSTALL_CUDA_DRIVER": "418.39",
        "CONDA_PREFIX": str(prefix),
        "PIP_CONFIG_FILE": "/dev/null",
        "PIP_NO_CACHE_DIR": "1",
    }
    dry = minstall(
        "pip", "--cuda", "auto", "--json", "--dry-run", "--python", python, "install",
        "tensorflow", env=run_env,
    )  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout.splitlines()[0])
    assert [s["argv"][0] for s in plan["steps"]] == ["conda", "pip"]
    assert "cudatoolkit=10.1" in plan["steps"][0]["argv"]
    proc = minstall(
        "pip", "--cuda", "auto", "--python", python, "install", "tensorflow", env=run_env
    )
    assert proc.returncode == 0, proc.stderr
    assert {"cudatoolkit-10.1.243-h6bb024c_0", "cudnn-7.6.5-h_0"} <= conda.installed(prefix)
    assert "tensorflow==2.3.0" in installed_dists(python)
    assert "step 1/2: mirror first (" in proc.stderr, proc.stderr
    assert "next: conda:main: mirror second" in proc.stderr
    assert "minstall: step 2/2: attempt 1/3: pypi: mirror first" in proc.stderr


def test_a_failed_step_stops_the_plan_and_lists_what_was_done(conda_farm, tmp_path: Path) -> None:
    """R410 (CUDA 10.0 from 410.48, NVIDIA): TF 2.0 was tested with CUDA 10.0, whose
    cudatoolkit no farm channel has, so step 1 fails and pip never runs. R418 (10.1 from
    418.39) with TF 2.2 (CUDA 10.1, tensorflow.org), which the farm's PyPI lacks: step 1 puts
    cudatoolkit 10.1 in the environment, step 2 fails, and step 1 is listed as done."""
    import venv

    farm, conda, env = conda_farm
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = str(target / "bin" / "python")
    base = {**env, "PIP_CONFIG_FILE": "/dev/null"}
    first = minstall(
        "pip", "--cuda", "auto", "--python", python, "install", "tensorflow",
        env={**base, "MINSTALL_CUDA_DRIVER": "410.48", "CONDA_PREFIX": str(conda.prefix("a"))},
    )  # fmt: skip
    assert first.returncode != 0 and "not in the channels" in first.stderr, first.stderr
    assert not any(d.startswith("tensorflow") for d in installed_dists(python))
    assert not any(q.path.startswith("/pypi/simple/tensorflow") for q in farm["first"].requests)
    prefix = conda.prefix("b")
    second = minstall(
        "pip", "--cuda", "auto", "--python", python, "install", "tensorflow==2.2.*",
        env={**base, "MINSTALL_CUDA_DRIVER": "418.39", "CONDA_PREFIX": str(prefix)},
    )  # fmt: skip
    assert second.returncode != 0, second.stderr
    assert "cudatoolkit-10.1.243-h6bb024c_0" in conda.installed(prefix)  # step 1 was done
    assert "minstall: stopped at step 2 of 2; done before it: step 1: conda install" in (
        second.stderr
    )
