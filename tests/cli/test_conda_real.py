"""minstall with the real conda 26.7.1 (../shared/tools/conda) against the farm.

The farm's ``official`` mirror stands for the official hosts (conda's channel_alias and
default_channels point at it, and the catalog marks it upstream), so the original command
run by conda itself and the rewritten one resolve against the same content, and every
request that would have gone to an official host shows in ``official``'s request log.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from farm import Fault, MirrorSpec, RecordingProxy
from realconda import linked, make_home

from .test_cli import SCRIPT, interrupted, minstall
from .test_cli import farm_env as env_for

DRIVER = "535.104.05"
SEED = ["install", "pytorch", "torchvision", "cudatoolkit=10.1", "-c", "pytorch"]
# the seed as its user meant it: a CUDA build of pytorch (minstall pins the build, issue 19)
MEANT = [SEED[0], "pytorch=*=*cuda*", *SEED[2:]]


def make_conda_farm(make_farm, conda_python, tmp_path: Path, kinds=("conda",), **extra: str):
    """Three mirrors (the third the official hosts), a conda home whose defaults point at the
    official one, the environment for minstall, and a ranking of ``kinds`` measured."""
    farm = make_farm(
        MirrorSpec("first", latency_s=0.005),
        # capped, so the ranking puts first ahead even when a loaded machine blurs latency
        MirrorSpec("second", latency_s=0.05, bandwidth_bps=8e6),
        MirrorSpec("official", latency_s=0.15, upstream=True),
    )
    conda = make_home(conda_python, tmp_path / "conda", farm["official"].url, ("defaults",))
    env = env_for(farm, tmp_path, **conda.env, CI="true", **extra)
    bench = ["bench", *(a for kind in kinds for a in ("--kind", kind))]
    assert minstall(*bench, env=env).returncode == 0
    for mirror in farm:
        mirror.reset_log()  # what follows is minstall and conda alone
    return farm, conda, env


@pytest.fixture
def conda_farm(make_farm, conda_python, tmp_path: Path):
    return make_conda_farm(make_farm, conda_python, tmp_path, MINSTALL_CUDA_DRIVER=DRIVER)


def official_requests(farm) -> list[str]:
    return [q.path for q in farm["official"].requests]


def rewritten(env: dict[str, str], *conda_args: str) -> list[str]:
    return rewrite_plan(env, *conda_args)["argv"]


def rewrite_plan(env: dict[str, str], *conda_args: str) -> dict:
    proc = minstall("rewrite", "--json", "--", "conda", *conda_args, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_the_seed_command_installs_what_conda_alone_would_through_the_best_mirror(
    conda_farm,
) -> None:
    farm, conda, env = conda_farm
    original = conda.run(*SEED, "-p", str(conda.prefix("plain")), "--dry-run", "--json")
    assert original.returncode == 0, original.stdout + original.stderr
    # conda alone takes the newest pytorch, a CPU build, beside cudatoolkit 10.1 (the farm's
    # pytorch channel does not down-weight it); what the user meant is the CUDA build
    assert "pytorch-2.5.1-py3.11_cpu_0" in linked(original.stdout)
    meant = conda.run(*MEANT, "-p", str(conda.prefix("plain")), "--dry-run", "--json")
    expected = linked(meant.stdout)
    assert "cudatoolkit-10.1.243-h6bb024c_0" in expected  # from defaults (main), not -c pytorch
    assert "pytorch-1.7.1-py3.11_cuda10.1_cudnn7.6.3_0" in expected
    farm["official"].reset_log()
    prefix = conda.prefix("seed")
    proc = minstall("conda", *SEED[:1], "-p", str(prefix), *SEED[1:], env=env)
    assert proc.returncode == 0, proc.stderr
    assert conda.installed(prefix) == expected
    assert official_requests(farm) == []
    assert any(q.path.endswith(".conda") for q in farm["first"].requests)
    assert "CUDA: cudatoolkit=10.1 needs driver >= 418.39" in proc.stderr


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param(["install", "-p", "{P}", "pkga", "-c", "conda-forge"], id="install -c"),
        pytest.param(["create", "-p", "{NEW}", "conda-forge::pkga"], id="create X::pkg"),
        pytest.param(["install", "-n", "ml", "zlib"], id="-n, defaults"),
        pytest.param(["create", "-n", "fresh", "r-base", "--channel=defaults"], id="create r"),
        pytest.param(["install", "-p", "{P}", "--file", "{SPECS}"], id="--file X::pkg"),
        pytest.param(
            ["install", "-p", "{P}", "pytorch=2.5.1", "-c", "pytorch", "-c", "nvidia"],
            id="pytorch -c nvidia",
        ),
        pytest.param(["install", "-p", "{P}", *SEED[1:]], id="seed"),
        pytest.param(["env", "create", "-f", "{ENV}", "-p", "{NEW}"], id="env create"),
    ],
)
def test_each_rewritten_shape_resolves_to_what_the_original_resolves(
    conda_farm, tmp_path: Path, shape
) -> None:
    farm, conda, env = conda_farm
    conda.prefix("../envs/ml")
    specs = tmp_path / "specs.txt"
    specs.write_text("# the file form\nconda-forge::pkga\n")
    env_yml = tmp_path / "environment.yml"
    env_yml.write_text("channels:\n  - conda-forge\ndependencies:\n  - pkga\n  - zlib\n")
    values = {
        "{P}": str(conda.prefix("p")),
        "{NEW}": str(tmp_path / "new"),
        "{SPECS}": str(specs),
        "{ENV}": str(env_yml),
    }
    args = [values.get(a, a) for a in shape]
    # with a CUDA pin, pytorch is held to a CUDA build (issue 19): compared with the command
    # written that way by hand, as conda alone takes the CPU build here
    pinned = "cudatoolkit=10.1" in args
    meant = [
        "pytorch=*=*cuda*" if a == "pytorch" and pinned and args[k - 1] != "-c" else a
        for k, a in enumerate(args)
    ]
    original = conda.run(*meant, "--dry-run", "--json")
    assert original.returncode == 0, original.stdout + original.stderr
    plan = rewrite_plan(env, *args)
    farm["official"].reset_log()
    again = conda.run(*plan["argv"][1:], "--dry-run", "--json", env=plan["env"])
    assert again.returncode == 0, again.stdout + again.stderr
    assert linked(again.stdout) == linked(original.stdout)
    if args[0] != "env":
        assert official_requests(farm) == []
    # (env create: this condarc names the official defaults itself, and conda merges a
    # condarc's default_channels with CONDA_DEFAULT_CHANNELS; the RecordingProxy test below
    # holds "nothing to an official host" with a normal condarc)


def test_pytorch_cuda_brings_the_nvidia_channel_it_depends_on(conda_farm) -> None:
    """pytorch-cuda (pytorch channel) depends on the nvidia channel's runtime: without
    -c nvidia conda cannot solve it, so the rewrite adds that channel."""
    farm, conda, env = conda_farm
    args = ["install", "-p", str(conda.prefix("p")), "pytorch=2.5.1", "pytorch-cuda=12.1"]
    plain = conda.run(*args, "-c", "pytorch", "--dry-run", "--json")
    assert plain.returncode != 0  # as PyTorch's docs say: it needs -c nvidia
    documented = conda.run(*args, "-c", "pytorch", "-c", "nvidia", "--dry-run", "--json")
    assert "pytorch-2.5.1-py3.11_cpu_0" in linked(documented.stdout)  # conda alone: the trap
    args[3] = "pytorch=2.5.1[build=*cuda*]"  # as minstall holds it (issue 19)
    documented = conda.run(*args, "-c", "pytorch", "-c", "nvidia", "--dry-run", "--json")
    argv = rewritten(env, *args[:3], "pytorch=2.5.1", *args[4:], "-c", "pytorch")
    assert farm["first"].channel_url("nvidia") in argv
    again = conda.run(*argv[1:], "--dry-run", "--json")
    assert again.returncode == 0, again.stdout
    assert linked(again.stdout) == linked(documented.stdout)
    assert "cuda-runtime-12.1.0-0" in linked(again.stdout)
    keep = rewritten(env, "install", "-p", str(conda.prefix("q")), "pytorch=2.5.1", "-c", "pytorch")
    assert "pytorch-cuda" not in " ".join(keep)  # --cuda keep adds no pin
    chosen = minstall(
        "rewrite",
        "--json",
        "--cuda",
        "auto",
        "--",
        "conda",
        "install",
        "-p",
        str(conda.prefix("q")),
        "pytorch=2.5.1",
        "-c",
        "pytorch",
        env=env,
    )
    data = json.loads(chosen.stdout)
    # driver 535 runs CUDA 12.4 (needs >= 525.60.13, the CUDA 12 minor-version floor)
    assert "pytorch-cuda=12.4" in data["argv"]
    solved = conda.run(*data["argv"][1:], "--dry-run", "--json")
    assert solved.returncode == 0 and "cuda-runtime-12.4.1-0" in linked(solved.stdout)


def test_env_create_with_a_normal_condarc_sends_nothing_to_an_official_host(
    make_farm, conda_python, tmp_path: Path
) -> None:
    """A normal user's condarc (channels: [defaults], conda's own default_channels), and the
    internet replaced by a proxy that records and refuses: the original command reaches for
    conda.anaconda.org and repo.anaconda.com; minstall's reaches for nothing but the mirror."""
    farm = make_farm(MirrorSpec("first", latency_s=0.005), MirrorSpec("second", latency_s=0.05))
    proxy = RecordingProxy()
    try:
        conda = make_home(conda_python, tmp_path / "conda", None, ("defaults",))
        env = env_for(farm, tmp_path, **conda.env, **proxy.env(), CI="true")
        assert minstall("bench", env=env).returncode == 0
        env_yml = tmp_path / "environment.yml"
        env_yml.write_text(
            "name: ml\nchannels:\n  - conda-forge\ndependencies:\n  - pkga\n  - zlib\n"
        )
        plain = conda.run(
            "env",
            "create",
            "-f",
            str(env_yml),
            "-p",
            str(tmp_path / "plain"),
            env={**proxy.env(), "CONDA_REMOTE_MAX_RETRIES": "0"},
        )
        assert plain.returncode != 0
        assert "repo.anaconda.com" in proxy.hosts(), proxy.requests  # defaults, from conda
        before = len(proxy.requests)
        prefix = tmp_path / "viaminstall"
        proc = minstall("conda", "env", "create", "-f", str(env_yml), "-p", str(prefix), env=env)
        assert proc.returncode == 0, proc.stderr
        assert proxy.requests[before:] == []
        assert {"pkga-1.0-0", "zlib-1.2.13-h5eee18b_0"} <= conda.installed(prefix)
        assert "CONDA_DEFAULT_CHANNELS" in proc.stderr  # how defaults went to the mirror
    finally:
        proxy.close()


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault("refuse"), "connection failed"),
        (Fault("html200", path="*/repodata.json*"), "HTML page where repodata.json"),
        (Fault("forbidden403"), "HTTP 403"),
        (Fault("out-of-sync", path="*.conda"), "answers 404 (out of sync)"),
        (Fault("corrupt", path="*.conda"), "did not match its checksum"),
        (Fault("error500", path="*/current_repodata.json*"), "HTTP 500"),
        (Fault("stale"), "not in this mirror's copy"),
    ],
    ids=["refuse", "portal", "403", "out-of-sync", "corrupt", "5xx", "stale-missing-package"],
)
def test_real_conda_falls_back_after_each_fault_mode(conda_farm, fault, reason) -> None:
    farm, conda, env = conda_farm
    farm["first"].set_faults(fault)
    prefix = conda.prefix("p")
    # pkgb 1.1 is the newest pkgb: a stale copy lacks it (PackagesNotFoundInChannelsError);
    # conda downloads by itself here (--no-fetch), so its own failure is read
    proc = minstall(
        "conda",
        "--no-fetch",
        "install",
        "-p",
        str(prefix),
        "pkgb=1.1",
        "-c",
        "conda-forge",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "pkgb-1.1-0" in conda.installed(prefix)
    # the failed mirror is dropped for every channel (one kind, conda), the culprit named first
    failed = re.search(r"minstall: mirror first \(([^)]*)\) failed: ([^\n]*)", proc.stderr)
    assert failed, proc.stderr
    assert set(failed.group(1).split(", ")) == {"conda:conda-forge", "conda:main", "conda:r"}
    assert reason in failed.group(2)
    assert "; next: conda:conda-forge: mirror second, rank 2 of 3 for conda" in proc.stderr
    assert official_requests(farm) == []


@pytest.mark.parametrize(
    "fault", [None, Fault("corrupt", path="*.conda")], ids=["clean", "corrupt"]
)
def test_conda_installs_what_minstall_fetched_into_its_package_cache(conda_farm, fault) -> None:
    """conda's dry run names the packages; minstall fetches them (ranges, every mirror with
    the channel, verified) into conda's package cache with their URLs in urls.txt, and the
    real conda installs them without downloading one itself."""
    farm, conda, env = conda_farm
    if fault is not None:
        farm["first"].set_faults(fault)
    prefix = conda.prefix("fetched")
    proc = minstall("conda", "install", "-p", str(prefix), "pkga", "-c", "conda-forge", env=env)
    assert proc.returncode == 0, proc.stderr
    installed = set(conda.installed(prefix))
    assert {"pkga-1.0-0", "pkgb-1.1-0"} <= installed, installed
    assert f"minstall: fetched {len(installed)} files (0 already in the store)" in proc.stderr
    packages = [q for m in farm for q in m.requests if q.path.endswith(".conda")]
    assert packages and all(q.user_agent.startswith("minstall") for q in packages), [
        (q.path, q.user_agent) for q in packages
    ]
    assert "minstall: mirror first" not in proc.stderr  # no fallback: nothing failed conda
    assert official_requests(farm) == [] or fault is None
    # issue 20: the dry run and the install share each channel's repodata (the install's
    # conda revalidates it: 304, no body), so each index crosses the network once
    bodies: dict[str, int] = {}
    for q in (q for m in farm for q in m.requests):
        if "repodata" in q.path and q.status == 200 and q.bytes_sent:
            bodies[q.path] = bodies.get(q.path, 0) + 1
    assert bodies and max(bodies.values()) == 1, bodies


def test_fetch_of_a_conda_command_puts_its_packages_in_dest(conda_farm, tmp_path) -> None:
    _farm, _conda, env = conda_farm
    dest = tmp_path / "pkgs"
    proc = minstall(
        "fetch",
        "--dest",
        str(dest),
        "--",
        "conda",
        "create",
        "-p",
        str(tmp_path / "new"),
        "pkga",
        "-c",
        "conda-forge",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in dest.iterdir())
    assert names[:2] == ["pkga-1.0-0.conda", "pkgb-1.1-0.conda"], names
    assert all(n.endswith((".conda", ".tar.bz2")) for n in names)
    assert not (tmp_path / "new").exists()  # fetched, not installed


def test_a_channel_missing_on_the_mirror_goes_to_the_next_one_carrying_it(
    make_farm, conda_python, tmp_path: Path
) -> None:
    farm = make_farm(
        MirrorSpec("first", latency_s=0.005, conda=["conda-forge", "main", "r"]),
        MirrorSpec("second", latency_s=0.05),
        MirrorSpec("official", latency_s=0.15, upstream=True),
    )
    conda = make_home(conda_python, tmp_path / "conda", farm["official"].url, ("defaults",))
    # the catalog claims first carries bioconda; the mirror answers 404 for it
    catalog = farm.catalog_toml().replace(
        "[mirror.first.conda]",
        f'[mirror.first.conda]\nbioconda = "{farm["first"].channel_url("bioconda")}"',
    )
    env = env_for(farm, tmp_path, **conda.env, CI="true")  # writes farm.toml: ours after it
    (tmp_path / "claims.toml").write_text(catalog)
    env["MINSTALL_CATALOG"] = str(tmp_path / "claims.toml")
    assert minstall("bench", "--kind", "conda", env=env).returncode == 0
    prefix = conda.prefix("p")
    proc = minstall("conda", "install", "-p", str(prefix), "samtools", "-c", "bioconda", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "minstall: mirror first (conda:bioconda, " in proc.stderr
    assert "failed: the mirror does not carry bioconda (404 on its repodata)" in proc.stderr
    assert "samtools-1.21-h50ea8bc_0" in conda.installed(prefix)


def test_a_package_missing_everywhere_fails_with_condas_own_exit_code(conda_farm) -> None:
    _, conda, env = conda_farm
    proc = minstall(
        "conda", "install", "-p", str(conda.prefix("p")), "nosuchpkg", "-c", "conda-forge", env=env
    )
    assert proc.returncode == 1
    assert "PackagesNotFoundInChannelsError" in proc.stderr
    assert "a requested package is not in the channels (on any mirror tried)" in proc.stderr
    assert "attempt 3/3" in proc.stderr  # the next mirror, then the official host, were asked


def test_a_hanging_mirror_is_abandoned_within_30_seconds(conda_farm) -> None:
    farm, conda, env = conda_farm
    farm["first"].set_faults(Fault("hang", hold_s=120))
    started = time.monotonic()
    proc = minstall(
        "conda",
        "--json",  # minstall's events (before the tool's own arguments)
        "install",
        "-p",
        str(conda.prefix("p")),
        "pkga",
        "-c",
        "conda-forge",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    fallback = next(e for e in events if e["event"] == "fallback")
    assert fallback["mirror"] == "first"
    plan = events[0]
    assert plan["env"]["CONDA_REMOTE_READ_TIMEOUT_SECS"] == "8"
    assert plan["env"]["CONDA_REMOTE_MAX_RETRIES"] == "0"
    assert fallback["elapsed_s"] < 30, fallback  # conda alone: 60 s x 3 retries
    assert time.monotonic() - started < 60


def test_condas_own_json_keeps_stdout_one_document(conda_farm) -> None:
    farm, conda, env = conda_farm
    farm["first"].set_faults(Fault("refuse"))
    proc = minstall(
        "conda",
        "install",
        "-p",
        str(conda.prefix("p")),
        "pkga",
        "-c",
        "conda-forge",
        "--json",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)  # one document: the final attempt's
    assert document["success"] is True
    assert '"exception_name": "CondaHTTPError"' in proc.stderr  # the first attempt's, moved
    assert re.search(r"minstall: mirror first \([^)]*\) failed: connection failed", proc.stderr)
    events = minstall(
        "--debug",
        "conda",
        "--json",
        "install",
        "-p",
        str(conda.prefix("q")),
        "pkgc",
        "-c",
        "conda-forge",
        env=env,
    )
    assert events.returncode == 0, events.stderr
    kinds = [json.loads(line)["event"] for line in events.stdout.splitlines()]
    assert kinds[0] == "plan" and kinds[-1] == "result"


def _pty_run(
    argv: list[str], env: dict[str, str], answer: bytes, wait_for: bytes
) -> tuple[int, str]:
    """Run argv on a pseudo-terminal (as a person would), answer its prompt once."""
    import pty
    import select

    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    seen, answered = b"", False
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            seen += data
            if not answered and wait_for in seen:
                os.write(master, answer)
                answered = True
        elif proc.poll() is not None:
            break
    code = proc.wait(timeout=30)
    os.close(master)
    return code, seen.decode(errors="replace")


def test_no_at_condas_prompt_is_reported_as_nothing_installed(conda_farm) -> None:
    _, conda, env = conda_farm
    prefix = conda.prefix("p")
    quiet = {k: v for k, v in {**os.environ, **env}.items() if k != "CI"}
    code, seen = _pty_run(
        [str(SCRIPT), "conda", "install", "-p", str(prefix), "pkga", "-c", "conda-forge"],
        quiet,
        b"n\n",
        b"Proceed ([y]/n)?",
    )
    assert code == 0, seen
    assert "nothing was installed: the prompt was answered no" in seen
    assert "done in" not in seen
    assert not any(p.startswith("pkga") for p in conda.installed(prefix))


def test_ctrl_c_stops_conda_and_exits_130(conda_farm) -> None:
    farm, conda, env = conda_farm
    farm["first"].set_faults(Fault("hang", hold_s=60))
    prefix = str(conda.prefix("p"))
    code, err = interrupted(
        ["conda", "install", "-p", prefix, "pkga", "-c", "conda-forge"], env, after_s=4.0
    )
    assert code == 130, err
    assert "interrupted" in err


def test_conda_is_found_through_conda_exe_alone(conda_farm) -> None:
    """No conda on PATH (the fixture puts none there): `minstall conda` uses CONDA_EXE."""
    _, conda, env = conda_farm
    path = os.environ.get("PATH", "")
    assert not any(Path(d, "conda").exists() for d in path.split(os.pathsep) if d)
    proc = minstall(
        "conda", "install", "-p", str(conda.prefix("p")), "pkgc", "-c", "conda-forge", env=env
    )
    assert proc.returncode == 0, proc.stderr
    gone = minstall(
        "conda", "install", "-p", str(conda.prefix("q")), "pkgc", env={**env, "CONDA_EXE": ""}
    )
    assert gone.returncode == 127 and "conda was not found on PATH" in gone.stderr


def test_a_channel_that_wants_a_token_gets_it_from_token_env(
    make_farm, conda_python, tmp_path: Path
) -> None:
    """The real conda, a mirror answering 401 without its token: conda gets the token in the
    channel URLs minstall gives it (user:token@), and the official host never sees it."""
    import base64

    farm = make_farm(MirrorSpec("first"), MirrorSpec("official", latency_s=0.15, upstream=True))
    conda = make_home(conda_python, tmp_path / "conda", farm["official"].url, ("defaults",))
    token = "conda-canary-5521"
    want = "Basic " + base64.b64encode(f"__token__:{token}".encode()).decode()
    env = env_for(farm, tmp_path, **conda.env, CI="true", FIRST_TOKEN=token)
    env["MINSTALL_CATALOG"] = str(
        farm.write_catalog(tmp_path / "auth.toml", token_env={"first": "FIRST_TOKEN"})
    )
    farm["first"].set_faults(Fault("auth-required", path="/conda/*", auth=want))
    prefix = conda.prefix("authed")
    proc = minstall(
        "conda", "--mirror", "first", "create", "-p", str(prefix), "conda-forge::pkga", env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert token not in proc.stdout + proc.stderr
    by_conda = [q for q in farm["first"].requests if q.user_agent.startswith("conda/")]
    # conda asks for its channel notices without credentials, by its own design (a 401 there
    # only means no notices); everything it installs from came with the token
    needed = [q for q in by_conda if not q.path.endswith("/notices.json")]
    assert needed and {q.authorization for q in needed} == {want}
    assert {q.authorization for q in by_conda} <= {want, None}
    assert not [q for q in farm["official"].requests if q.authorization]


def test_the_pytorch_channels_cpu_build_is_not_taken_beside_pytorch_cuda(conda_farm) -> None:
    """Issue 19: on a channel where the CPU build is not down-weighted (the farm's pytorch
    channel: CPU and CUDA builds differ only in build string and pytorch-mutex), conda alone
    takes the newest version, a CPU build, next to pytorch-cuda=12.1, while minstall's note
    says the CUDA build runs. The rewrite holds pytorch to a CUDA build; real conda solves it."""
    _, conda, env = conda_farm
    args = ["install", "-p", str(conda.prefix("p")), "pytorch", "pytorch-cuda=12.1"]
    args += ["-c", "pytorch", "-c", "nvidia"]
    plain = conda.run(*args, "--dry-run", "--json")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "pytorch-2.5.1-py3.11_cpu_0" in linked(plain.stdout)  # the trap, by conda itself
    plan = rewrite_plan(env, *args)
    assert "pytorch=*=*cuda*" in plan["argv"]
    again = conda.run(*plan["argv"][1:], "--dry-run", "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    got = linked(again.stdout)
    assert "pytorch-2.5.1-py311_cuda12.1_cudnn9_0" in got and "pytorch-mutex-1.0-cuda" in got


def test_conda_offline_runs_as_typed_and_remove_solves_on_the_mirror(conda_farm) -> None:
    """Issue 19. conda --offline must not be sent to URLs its package cache does not know: it
    runs as typed, with no bench and no request. conda remove solves again against the
    channels, and an environment minstall installed names the mirror's: conda alone, on its
    own channels, cannot find them (ResolvePackageNotFound), so minstall gives it the
    mirror's, as for an install."""
    farm, conda, env = conda_farm
    prefix = str(conda.prefix("rm"))
    assert minstall("conda", "create", "-p", prefix, "zlib", "-y", env=env).returncode == 0
    for mirror in farm:
        mirror.reset_log()
    offline = minstall("conda", "install", "--offline", "-p", prefix, "zlib", "-y", env=env)
    assert offline.returncode == 0, offline.stderr
    assert "run as typed: --offline" in offline.stderr
    assert all(not m.requests for m in farm)
    alone = conda.run("remove", "-p", prefix, "zlib", "-y", "--dry-run")
    assert alone.returncode != 0 and "ResolvePackageNotFound" in alone.stdout + alone.stderr
    farm["official"].reset_log()
    removed = minstall("conda", "remove", "-p", prefix, "zlib", "-y", env=env)
    assert removed.returncode == 0, removed.stderr
    assert not any(p.startswith("zlib-") for p in conda.installed(Path(prefix)))
    assert official_requests(farm) == [], removed.stderr


def test_an_explicit_spec_file_installs_the_same_files_from_the_mirror(
    conda_farm, tmp_path
) -> None:
    """Issue 19: an @EXPLICIT file (conda list --explicit --md5: a URL per package, which conda
    downloads as it is) names the official hosts; the rewrite points each URL at the same file
    on the best mirror carrying its channel, md5 kept, and the real conda installs the same
    packages without a request to an official host."""
    farm, conda, env = conda_farm
    source = conda.prefix("source")
    made = conda.run("install", "-p", str(source), "zlib", "-y")
    assert made.returncode == 0, made.stdout + made.stderr
    listed = conda.run("list", "--explicit", "--md5", "-p", str(source))
    assert listed.returncode == 0 and "@EXPLICIT" in listed.stdout
    official = farm["official"].url
    assert f"{official}/conda/main/linux-64/zlib-1.2.13-h5eee18b_0" in listed.stdout
    spec = tmp_path / "explicit.txt"
    spec.write_text(listed.stdout)
    farm["official"].reset_log()
    target = conda.prefix("copy")
    proc = minstall("conda", "install", "-p", str(target), "--file", str(spec), "-y", env=env)
    assert proc.returncode == 0, proc.stderr
    assert conda.installed(target) == conda.installed(source)
    assert official_requests(farm) == []
    assert any("zlib-1.2.13" in q.path for q in farm["first"].requests)
    assert "@EXPLICIT: 2 package URL(s) of channel main -> the same files on mirror first" in (
        proc.stderr
    )
    assert spec.read_text() == listed.stdout  # the user's file untouched
