"""`minstall rewrite` end to end: the console script, the farm's ranking, and real pip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from farm import Fault, MirrorSpec

from .test_cli import farm_env as env_for
from .test_cli import minstall

SEED = ["conda", "install", "pytorch", "torchvision", "cudatoolkit=10.1", "-c", "pytorch"]


@pytest.fixture
def farm_env(make_farm, tmp_path: Path):
    farm = make_farm(
        MirrorSpec("slow", latency_s=0.1, bandwidth_bps=1e6),
        MirrorSpec("fast", latency_s=0.005, bandwidth_bps=16e6),
        MirrorSpec("broken", faults=[Fault("html200")]),
    )
    return farm, env_for(farm, tmp_path, MINSTALL_CUDA_DRIVER="535.104.05")


def rewrite_json(env: dict[str, str], *args: str) -> dict:
    proc = minstall("rewrite", "--json", *args, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_seed_command_json(farm_env) -> None:
    farm, env = farm_env
    proc = minstall("rewrite", "--json", "--", *SEED, env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["argv"] == [
        "conda",
        "install",
        "pytorch=*=*cuda*",  # held to a CUDA build beside the cudatoolkit pin
        "torchvision",
        "cudatoolkit=10.1",
        "-c",
        farm["fast"].channel_url("pytorch"),
        "-c",
        farm["fast"].channel_url("main"),
        "-c",
        farm["fast"].channel_url("r"),
        "--override-channels",
    ]
    assert data["mirrors"]["conda:pytorch"]["mirror"] == "fast"
    assert data["cuda"]["checked"] == "cudatoolkit=10.1"
    assert data["cuda"]["how"] == "MINSTALL_CUDA_DRIVER" and data["cuda"]["driver"] == "535.104.05"
    assert "needs driver >= 418.39" in data["cuda"]["reason"]
    assert data["ranking"]["source"] == "quick bench" and data["input"] == SEED
    assert any("publishes nothing after PyTorch 2.5" in n for n in data["notes"])
    again = json.loads(minstall("rewrite", "--json", "--", *SEED, env=env).stdout)
    assert again["ranking"]["source"] == "cached ranking"


def test_driver_too_old_exits_65_with_the_fixed_command(farm_env) -> None:
    _, env = farm_env
    proc = minstall("rewrite", "--", *SEED, env={**env, "MINSTALL_CUDA_DRIVER": "410.48"})
    assert proc.returncode == 65
    assert "cudatoolkit=10.1 needs NVIDIA driver >= 418.39" in proc.stderr
    # quoted: the build pin's brackets are shell syntax
    assert (
        "Fixed command: conda install 'pytorch=1.7.1[build=*cuda*]' torchvision cudatoolkit=9.2"
        in proc.stderr
    )
    auto = minstall(
        "rewrite", "--cuda", "auto", "--", *SEED, env={**env, "MINSTALL_CUDA_DRIVER": "410.48"}
    )
    assert auto.returncode == 0 and "cudatoolkit=9.2" in auto.stdout
    assert "# cudatoolkit=10.1 replaced by cudatoolkit=9.2 (--cuda auto)" in auto.stderr


def test_env_file_copy_leaves_the_original_alone(farm_env, tmp_path: Path) -> None:
    farm, env = farm_env
    original = tmp_path / "environment.yml"
    text = "name: ml\nchannels:\n  - conda-forge\ndependencies:\n  - numpy\n"
    original.write_text(text)
    data = json.loads(
        minstall(
            "rewrite", "--json", "--", "conda", "env", "create", "-f", str(original), env=env
        ).stdout
    )
    copy = Path(data["argv"][-1])
    assert original.read_text() == text and copy != original
    fast = farm["fast"]
    assert copy.read_text() == text.replace("- conda-forge", f"- {fast.channel_url('conda-forge')}")
    # the channels conda adds by itself (defaults) go to the mirror through conda's settings
    assert data["env"] == {
        "CONDA_DEFAULT_CHANNELS": f"{fast.channel_url('main')},{fast.channel_url('r')}"
    }


def test_rewritten_pip_command_installs_from_the_fastest_mirror(farm_env, run_pip) -> None:
    """The rewritten command, run by a real pip, installs torch+cu121 from the farm's best mirror
    instead of download.pytorch.org and PyPI."""
    farm, env = farm_env
    proc = minstall(
        "rewrite",
        "--json",
        "--",
        "pip",
        "install",
        "torch==2.5.1",
        "torchvision",
        "--index-url",
        "https://download.pytorch.org/whl/cu121",
        env=env,
    )
    data = json.loads(proc.stdout)
    fast = farm["fast"].url
    # the variant index was the only index: its copy on the mirror keeps that role
    assert data["argv"][-2:] == ["--index-url", f"{fast}/whl/cu121"]
    for mirror in farm:
        mirror.reset_log()  # forget the bench's probes; what follows is pip alone
    result = run_pip(*data["argv"][2:], "--timeout", "5")
    assert result.returncode == 0, result.output
    assert "Successfully installed torch-2.5.1+cu121 torchvision-0.20.1+cu121" in result.stdout
    assert any(q.path.endswith(".whl") for q in farm["fast"].requests)
    assert not any(q.path.endswith(".whl") for q in farm["slow"].requests)


def test_cuda_auto_picks_the_variant_and_the_mirror_layout(farm_env) -> None:
    _, env = farm_env
    auto = ("--cuda", "auto", "--mirror", "slow", "--", "pip", "install")
    data = rewrite_json(env, *auto, "torch==2.5.1")
    assert data["cuda"]["variant"] == "cu124" and data["argv"][2] == "torch==2.5.1+cu124"
    assert data["ranking"] == {"source": "--mirror slow"}
    # the farm has no torch 2.13.0 at all: every variant is ruled out, each with its reason
    newest = rewrite_json(env, *auto, "torch")
    assert any("lists no torch 2.13.0+cu126 wheel" in n for n in newest["cuda"]["notes"])


def test_bad_input(farm_env) -> None:
    _, env = farm_env
    assert minstall("rewrite", "--", "npm", "install", "x", env=env).returncode == 64
    assert (
        minstall("rewrite", "--cuda", "fast", "--", "pip", "install", "x", env=env).returncode == 64
    )
    assert minstall("rewrite", env=env).returncode == 64


def test_cuda_auto_steps_down_when_the_mirror_lacks_the_wheel(make_farm, tmp_path: Path) -> None:
    """The farm mirror's cu124 listing is gone (404): minstall reads the listing, sees no
    wheel for this Python and platform, and steps down to cu121, saying why."""
    farm = make_farm(MirrorSpec("m", faults=[Fault("out-of-sync", path="/whl/cu124/*")]))
    env = env_for(farm, tmp_path, MINSTALL_CUDA_DRIVER="535.104.05")
    auto = ("--mirror", "m", "--cuda", "auto", "--", "pip", "install")
    data = rewrite_json(env, *auto, "torch==2.5.1")
    assert data["cuda"]["variant"] == "cu121"
    assert data["argv"][2] == "torch==2.5.1+cu121"
    assert any(
        "cu124: mirror m lists no torch 2.5.1+cu124 wheel for Python" in n
        for n in data["cuda"]["notes"]
    )
    healthy = rewrite_json(env, *auto, "torch==2.4.1")
    assert healthy["cuda"]["variant"] == "cu121"  # 2.4.1's cu124 listing is gone as well


def test_bad_platform_and_arch_are_clear_errors(farm_env) -> None:
    _, env = farm_env
    line = ("--mirror", "fast", "--", "pip", "install", "torch")
    bad = minstall("rewrite", "--platform", "linux64", *line, env=env)
    assert bad.returncode == 64
    assert "minstall: error: --platform 'linux64' is not a conda subdir" in bad.stderr
    arch = minstall("rewrite", *line, env={**env, "MINSTALL_CUDA_ARCH": "sm86"})
    assert arch.returncode == 78 and "Traceback" not in arch.stderr
    assert "MINSTALL_CUDA_ARCH='sm86': 'sm86' is not a compute capability" in arch.stderr


@pytest.mark.parametrize(
    ("platform", "torch"),
    # PyPI's Mac wheels (no "+cpu" tag); Intel Macs stop at 2.2.2 (pytorch#114602), which
    # pairs torchvision 0.17.2 (PyTorch's previous-versions page)
    [("osx-arm64", None), ("osx-64", "torch==2.2.2")],
)
def test_planning_for_a_mac_takes_its_processor_from_the_platform(farm_env, platform, torch):
    _, env = farm_env
    got = rewrite_json(
        env, "--cuda", "auto", "--platform", platform, "--", "pip", "install", "torch"
    )
    argv = got["argv"]
    assert not [t for t in argv if "+cpu" in t or "/whl/cpu" in t], argv
    if torch:
        assert torch in argv and "torchvision" not in " ".join(argv), argv
    else:
        assert any(t.startswith("torch==2.") and "+" not in t for t in argv), argv
