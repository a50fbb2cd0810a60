"""minstall against pip and uv on mirrors as they really serve, side by side in one run.

    .venv-test/bin/python benchmarks/bench_profiles.py

minstall is installed exactly as the README says (``python3 -m venv .venv && .venv/bin/pip
install .``, so with the pip that Python bundles), into a folder of this run; pip and uv are
this checkout's test venv's (pip 26, uv). The farm: three loopback mirrors capping each
connection at 1.5 MB/s and each mirror's connections together at 8, 6 and 4 MB/s, 20 ms away;
the official hosts 200 ms away at 1 MB/s (never used by minstall's plans here). Each
command installs into a fresh venv with empty caches. Profiles
(../shared/research/real-mirrors-and-fleets.md):

- ``html``: every mirror serves PyPI as TUNA does today: HTML pages with ``#sha256=``, no
  PEP 658 ``.metadata`` files. ``pip install app`` (app needs four 16 MiB wheels, 64 MiB as
  in the issue's measurement).
- ``json``: PEP 691 JSON + HTML pages with ``.metadata`` (PyPI itself, a lab's proxy).
- ``flat``: PyTorch from Aliyun-style flat listings without hashes or metadata (two mirrors),
  and an NJU-like copy in the index layout further away (the real catalog has both):
  ``pip install torch==2.5.1 --index-url https://download.pytorch.org/whl/cu121`` (torch is
  a 64 MiB wheel here).

Printed per profile: seconds for pip and uv from the best mirror, minstall (pip and uv
commands, start to end: minstall's and pip's own start-up, the resolve, the transfer, the
install), the all-mirror limit (payload over the three mirrors' total caps), minstall's
transfer alone (its summary: the first file wanted to the last one done), and the bytes the
mirrors sent during minstall's pip install over the payload. Floors (issue 20): minstall
at least 3x faster than pip and 1.5x faster than uv, within 1.5x of the limit, at most 1.05x
the payload's bytes. PASS/FAIL per floor; the run exits 1 if one fails.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from farm import MirrorFarm, MirrorSpec
from farm.content import build_content
from farm.packages import WheelSpec
from farmenv import farm_env, report

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
PIP, UV = str(BIN / "pip"), str(BIN / "uv")
PER_CONNECTION = 1.5e6
TOTALS = {"best": 8e6, "mid": 6e6, "low": 4e6}
MIB16 = 16 * 1024 * 1024
PARTS = [WheelSpec(f"part{i}", "1.0", payload_bytes=MIB16) for i in range(4)]
APP = WheelSpec("app", "1.0", requires=tuple(p.name for p in PARTS))
TORCH_BYTES = 64 * 1024 * 1024
TORCH = ["torch==2.5.1", "--index-url", "https://download.pytorch.org/whl/cu121"]


def readme_install(root: Path) -> str:
    """minstall as the README installs it; its console script."""
    target = root / ".venv"
    proc = subprocess.run(
        f"python3 -m venv {target} && {target}/bin/pip install --quiet {ROOT}",
        shell=True,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"the README's install failed:\n{proc.stdout}\n{proc.stderr}")
    return str(target / "bin" / "minstall")


LAST = {"stderr": ""}


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}")
    LAST["stderr"] = proc.stderr
    took = time.perf_counter() - t0
    for line in proc.stderr.splitlines():  # minstall's own account of where the time went
        if line.startswith("minstall: ") and any(w in line for w in ("fetched", "done in")):
            print(f"    [{took:.1f} s] {line[10:]}", flush=True)
    return took


def transfer_s() -> float:
    """The transfer's own time, from minstall's summary (the first file wanted to the last
    one done), for the last command run."""
    found = re.search(r"minstall: fetched .* MiB in ([0-9.]+) s", LAST["stderr"])
    return float(found.group(1)) if found else float("nan")


def target(root: Path, name: str) -> str:
    venv.EnvBuilder(with_pip=False).create(root / name)
    return str(root / name / "bin" / "python")


def fresh(env: dict[str, str]) -> None:
    shutil.rmtree(Path(env["MINSTALL_CACHE_DIR"]) / "store", ignore_errors=True)


def profile(name: str, minstall: str, content, floors: list) -> None:
    pages = "html" if name in ("html", "flat") else "json"
    specs = [
        MirrorSpec(
            m,
            # flat: the third mirror is NJU-like (PyTorch in the index layout, with hashes),
            # further away, as the real catalog has it beside Aliyun and SJTU
            latency_s=0.06 if name == "flat" and m == "low" else 0.02,
            bandwidth_bps=PER_CONNECTION,
            shared_bandwidth_bps=total,
            pages=pages,
            pytorch="index" if name == "flat" and m == "low" else "find-links",
        )
        for m, total in TOTALS.items()
    ]
    specs.append(MirrorSpec("official", latency_s=0.2, bandwidth_bps=1e6, upstream=True))
    with MirrorFarm(specs, content=content) as farm, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = farm_env(farm, root)
        timed([minstall, "bench"], env)  # the ranking every later command reuses
        if name == "flat":
            request = TORCH
            best = ["--index-url", f"{farm['best'].torch_base('find-links')}/cu121/"]
            direct = ["torch==2.5.1", "--no-index", "--find-links", best[1]]
            marker = "/torch-2.5.1"
        else:
            request, direct, marker = (
                ["app"],
                ["--index-url", farm["best"].simple_url, "app"],
                "/part",
            )
        tag = content.facts["torch_local_tag"]
        payload = sum(
            len(r.body)
            for p, r in content.resources.items()
            if p.endswith(".whl")
            and (
                p.startswith("/pypi/packages/part")
                if marker == "/part"
                else p.startswith("/pytorch-wheels/cu121/torch-2.5.1") and tag in p
            )
        )
        pip_s = timed([PIP, "--python", target(root, "p"), "install", *direct], env)
        uv_s = timed([UV, "pip", "install", "--python", target(root, "u"), *direct], env)
        for m in farm:
            m.reset_log()
        fresh(env)
        m_s = timed([minstall, "pip", "--python", target(root, "m"), "install", *request], env)
        moved_s = transfer_s()
        sent = sum(
            r.bytes_sent for m in farm for r in m.requests if marker in r.path and ".whl" in r.path
        )
        fresh(env)
        mu_s = timed(
            [minstall, "uv", "pip", "install", "--python", target(root, "mu"), *request], env
        )
        limit = payload / sum(TOTALS.values())
        print(f"\nprofile {name}: {payload / 2**20:.0f} MiB of wheels")
        for label, s in (
            ("pip (best mirror)", pip_s),
            ("uv (best mirror)", uv_s),
            ("minstall pip install", m_s),
            ("minstall uv pip install", mu_s),
            ("limit (all mirrors)", limit),
            ("  minstall's transfer alone", moved_s),
        ):
            print(f"  {label:<28}{s:>7.1f} s")
        print(f"  mirrors sent {sent / payload:.3f}x the payload during minstall pip install")
        floors += [
            (f"{name}: minstall >= 3x faster than pip ({pip_s / m_s:.1f}x)", pip_s / m_s >= 3),
            (f"{name}: minstall >= 1.5x faster than uv ({uv_s / m_s:.1f}x)", uv_s / m_s >= 1.5),
            (
                f"{name}: minstall uv >= 1.5x faster than uv ({uv_s / mu_s:.1f}x)",
                uv_s / mu_s >= 1.5,
            ),
            (f"{name}: within 1.5x of the limit ({m_s / limit:.2f}x)", m_s / limit <= 1.5),
            (f"{name}: bytes <= 1.05x the payload ({sent / payload:.3f}x)", sent / payload <= 1.05),
        ]


def main() -> int:
    content = build_content(extra_wheels=(*PARTS, APP), torch_payload=(("cu121", TORCH_BYTES),))
    floors: list[tuple[str, bool]] = []
    with tempfile.TemporaryDirectory() as tmp:
        minstall = readme_install(Path(tmp))
        for name in sys.argv[1:] or ("html", "json", "flat"):
            profile(name, minstall, content, floors)
    return report(floors)


if __name__ == "__main__":
    sys.exit(main())
