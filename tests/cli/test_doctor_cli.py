"""`minstall doctor` end to end: on stand-in GPU hosts, on pasted messages, logs and stdin.

nvidia-smi cannot exist here (no NVIDIA driver), so the stand-in (tests/standins/nvidia-smi)
replays real recordings: ../shared/recorded/nvidia-smi excerpts and the H200 host's full
outputs (tests/data/recorded/gpu-h200). Expected drivers and GPUs are read off those
recordings by hand; architectures from NVIDIA's CUDA GPUs page.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from farm.content import shared_dir

from .test_cli import SCRIPT, minstall

STANDINS = Path(__file__).resolve().parents[1] / "standins"
H200 = Path(__file__).resolve().parents[1] / "data" / "recorded" / "gpu-h200"


def _h200(name: str) -> str:
    lines = (H200 / name).read_text().splitlines(keepends=True)
    return "".join(ln for ln in lines[1:] if not ln.startswith("[exit "))


def host_env(tmp_path: Path, plain: str, query: str | None = None) -> dict[str, str]:
    smi = tmp_path / "smi"
    smi.mkdir()
    (smi / "plain.txt").write_text(plain)
    if query is not None:
        (smi / "query.txt").write_text(query)
    return {
        "STANDIN_NVIDIA_SMI_DIR": str(smi),
        "PATH": f"{STANDINS}{os.pathsep}{os.environ['PATH']}",
        "MINSTALL_CACHE_DIR": str(tmp_path / "cache"),
        "PIP_CONFIG_FILE": os.devnull,
    }


def recorded_smi(name: str) -> str:
    return (shared_dir() / "recorded" / "nvidia-smi" / name).read_text()


HOSTS = [
    # recording, what doctor must say of the driver, of the GPUs
    ("r450-table.txt", "NVIDIA driver 450.57", "TITAN Xp"),
    ("r550-table.txt", "NVIDIA driver 550.40.07, CUDA 12.x builds", "NVIDIA GeForce RTX 4070"),
    ("r610-kmd-umd.txt", "NVIDIA driver 610.43.02, CUDA 13.x builds", "NVIDIA B200"),
    ("r410-header.txt", "NVIDIA driver 410.72", "nvidia-smi"),
]


@pytest.mark.parametrize(("name", "title", "gpus"), HOSTS, ids=[h[0] for h in HOSTS])
def test_doctor_on_recorded_hosts(tmp_path, name, title, gpus) -> None:
    proc = minstall("doctor", "--json", env=host_env(tmp_path, recorded_smi(name)))
    data = json.loads(proc.stdout)
    driver = data["findings"][0]
    assert data["mode"] == "machine" and driver["id"] == "driver"
    assert driver["title"].startswith(title) and gpus in driver["cause"], driver
    frameworks = {f["id"]: f for f in data["findings"] if f["id"].startswith("env-")}
    assert set(frameworks) == {"env-torch", "env-tensorflow"}  # checked, not installed here
    assert any(f["id"] == "pip-official" for f in data["findings"])  # pip's default index


def test_doctor_on_the_h200_host_names_hopper(tmp_path) -> None:
    env = host_env(tmp_path, _h200("nvidia-smi.txt"), _h200("nvidia-smi-query.txt"))
    proc = minstall("doctor", env=env)
    assert "info: NVIDIA driver 580.159.04, CUDA 13.x builds" in proc.stdout, proc.stdout
    assert "NVIDIA H200 (sm 9.0, Hopper)" in proc.stdout
    assert proc.returncode == 0  # nothing wrong: torch is simply not installed here


def test_the_seeds_two_messages_get_the_fix_for_this_driver(tmp_path) -> None:
    """R410 (410.72: CUDA 10.0 needs 410.48, 10.1 needs 418.39, NVIDIA): TensorFlow 2.0 was
    tested with CUDA 10.0 / cuDNN 7.4 (tensorflow.org); Anaconda's GPU TensorFlow goes to 2.4.1,
    so conda's route is tensorflow-gpu with cudatoolkit 10.0."""
    env = host_env(tmp_path, recorded_smi("r410-header.txt"))
    seed = (
        "2018-02-27 E tensorflow/core/common_runtime/direct_session.cc:167] Internal: "
        "cudaGetDevice() failed. Status: CUDA driver version is insufficient for CUDA runtime "
        "version"
    )
    proc = minstall("doctor", seed, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "error: CUDA driver version is insufficient for CUDA runtime version" in proc.stdout
    assert "tensorflow 2.0.0 was tested with CUDA 10.0" in proc.stdout
    assert "minstall conda install tensorflow-gpu --cuda auto  (adds cudatoolkit=10.0" in (
        proc.stdout
    )
    gemm = minstall("doctor", "tensorflow InternalError: Blas GEMM launch failed", env=env)
    assert gemm.returncode == 0
    assert "TF_FORCE_GPU_ALLOW_GROWTH=true" in gemm.stdout
    assert "Close the other processes" in gemm.stdout


def test_log_file_stdin_json_and_unknown_text(tmp_path) -> None:
    env = host_env(tmp_path, recorded_smi("r550-table.txt"))
    log = shared_dir() / "recorded" / "conda" / "channel-404.stderr"
    by_file = minstall("doctor", "--log", str(log), "--json", env=env)
    data = json.loads(by_file.stdout)
    assert by_file.returncode == 0 and data["recognised"] is True
    assert data["findings"][0]["id"] == "mirror-fault"
    piped = subprocess.run(
        [str(SCRIPT), "doctor", "-"],
        input=(shared_dir() / "recorded" / "pip" / "read-timeout.stderr").read_bytes(),
        capture_output=True,
        env={**os.environ, **env},
        timeout=60,
    )
    assert piped.returncode == 0 and b"error: pip:" in piped.stdout
    unknown = minstall("doctor", "Segmentation fault (core dumped)", env=env)
    assert unknown.returncode == 1 and "no known error" in unknown.stdout
    missing = minstall("doctor", "--log", str(tmp_path / "nope.log"), env=env)
    assert missing.returncode == 64 and "cannot read" in missing.stderr


def test_no_control_character_from_a_log_reaches_the_terminal(tmp_path) -> None:
    env = host_env(tmp_path, recorded_smi("r550-table.txt"))
    text = "\x1b[2J\x1b]0;pwned\x07RuntimeError: CUDA error: out of memory\x1b[0m"
    proc = minstall("doctor", text, env=env)
    assert proc.returncode == 0 and "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    assert "error: CUDA out of memory" in proc.stdout


WINERROR_126 = (
    'OSError: [WinError 126] 找不到指定的模块。 Error loading "D:\\conda\\envs\\lf\\Lib\\'
    'site-packages\\torch\\lib\\fbgemm.dll" or one of its dependencies.\r\n'
)  # pytorch/pytorch#131662 as a Chinese Windows prints it (hiyouga/LlamaFactory#5132)


@pytest.mark.parametrize(
    "saved",
    [
        # PowerShell 5.1's `python train.py 2>&1 > log.txt`: UTF-16 LE with its mark
        (
            b"\xff\xfe"
            + ("x" * 41 + "\r\n").encode("utf-16-le") * 2
            + WINERROR_126.encode("utf-16-le")
        ),
        # the same, so long that doctor reads only its tail, where no mark is
        (
            b"\xff\xfe"
            + "y".encode("utf-16-le") * (4 * 1024 * 1024 + 7)
            + WINERROR_126.encode("utf-16-le")
        ),
        # cmd's `> log.txt` on a Chinese Windows: code page 936
        ("Traceback:\r\n" + WINERROR_126).encode("cp936"),
    ],
    ids=["utf16", "utf16-tail", "cp936"],
)
def test_a_windows_log_is_read_in_its_encoding(tmp_path, saved) -> None:
    """Before, every log was read as UTF-8: a UTF-16 log from PowerShell matched nothing."""
    env = host_env(tmp_path, recorded_smi("r550-table.txt"))
    log = tmp_path / "log.txt"
    log.write_bytes(saved)
    proc = minstall("doctor", "--log", str(log), "--json", env={**env, "LC_ALL": "C.UTF-8"})
    found = json.loads(proc.stdout)["findings"]
    assert proc.returncode == 0 and found[0]["id"] == "torch-dll-winerror-126", proc.stdout
    if saved.startswith(b"\xff\xfe"):
        assert "找不到指定的模块" in found[0]["evidence"]


@pytest.mark.parametrize("fault", ["forbidden403", "html200", "missing"])
def test_pips_ambiguous_line_is_said_to_be_ambiguous_and_its_log_tells(
    make_farm, tmp_path, fault
) -> None:
    """Issue 19: real pip 26 prints the same two lines for a project that does not exist, a
    403 from the index and a captive portal's HTML page; doctor must not pick one from that
    text alone, and says how to tell (-v, --log). Given pip's log, it names the fault."""
    import sys

    from farm import Fault, MirrorSpec

    farm = make_farm(MirrorSpec("m", conda=()))
    mirror = farm["m"]
    if fault != "missing":
        mirror.set_faults(Fault(fault))
    log = tmp_path / "pip.log"
    pip = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--no-cache-dir",
            "--retries",
            "0",
            "--log",
            str(log),
            "-i",
            f"{mirror.url}/pypi/simple",
            "nosuchproject" if fault == "missing" else "alpha",
        ],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
        | {"PIP_CONFIG_FILE": os.devnull},
        timeout=60,
    )
    assert pip.returncode != 0
    assert "(from versions: none)" in pip.stderr
    said = subprocess.run(
        [str(SCRIPT), "doctor", "--json", "-"],
        input=pip.stderr,
        capture_output=True,
        text=True,
        env={**os.environ, "MINSTALL_CACHE_DIR": str(tmp_path / "cache")},
        timeout=60,
    )
    findings = json.loads(said.stdout)["findings"]
    assert [f["id"] for f in findings] == ["pip-ambiguous"], findings
    assert "-v" in " ".join(findings[0]["fixes"]) and "--log" in " ".join(findings[0]["fixes"])
    if fault == "forbidden403":
        logged = minstall("doctor", "--json", "--log", str(log))
        told = json.loads(logged.stdout)["findings"]
        assert told and told[0]["id"] != "pip-ambiguous" and "403" in json.dumps(told[0]), told


def test_a_conda_prefix_that_is_no_folder_is_said_not_a_crash() -> None:
    """Issue 21: CONDA_PREFIX=/dev/null made doctor crash (NotADirectoryError, exit 70)."""
    if not Path("/dev/null").exists():
        return
    proc = minstall("doctor", env={"CONDA_PREFIX": "/dev/null", "VIRTUAL_ENV": ""})
    assert proc.returncode != 70, proc.stderr
    assert "internal error" not in proc.stderr


def test_a_log_that_is_a_fifo_or_a_pipe_is_read_without_hanging(tmp_path) -> None:
    """Issue 21: `doctor --log FIFO` waited for a writer for ever. A named FIFO nobody writes
    to reads as empty; a pipe from process substitution (`--log <(cmd)`, /dev/fd/N) is read
    to its end. Windows has no FIFOs: the simulation runs the pipe case only."""
    import winsim

    env = host_env(tmp_path, recorded_smi("r550-table.txt"))
    if winsim.ENV_VAR not in os.environ:
        fifo = tmp_path / "log.fifo"
        os.mkfifo(fifo)
        proc = subprocess.run(
            [str(SCRIPT), "doctor", "--log", str(fifo)],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            timeout=30,
        )
        assert proc.returncode == 1 and "no known error" in proc.stdout, proc.stderr
    text = (shared_dir() / "recorded" / "pip" / "read-timeout.stderr").read_bytes()
    read, write = os.pipe()
    writer = subprocess.Popen(
        ["sh", "-c", "sleep 1; cat"], stdin=subprocess.PIPE, stdout=write, pass_fds=(write,)
    )
    os.close(write)
    assert writer.stdin is not None
    writer.stdin.write(text)  # small: it waits in the pipe while `sleep 1` runs
    writer.stdin.close()
    try:
        proc = subprocess.run(
            [str(SCRIPT), "doctor", "--log", f"/dev/fd/{read}"],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            timeout=30,
            pass_fds=(read,),
        )
        writer.wait(timeout=30)
    finally:
        os.close(read)
    assert proc.returncode == 0 and "error: pip:" in proc.stdout, proc.stderr
