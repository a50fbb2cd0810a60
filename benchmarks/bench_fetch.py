"""minstall fetch against pip and uv, side by side in one run, on mirrors that cap each
connection (as TUNA, USTC and most CDNs do).

    .venv-test/bin/python benchmarks/bench_fetch.py

The farm: three mirrors, each capping every connection at 1.5 MB/s and all its connections
together at 8, 6 and 4 MB/s; the payload: four 16 MiB wheels plus small ones (alpha's
dependencies), 64+ MiB in all. Measured once each, in this order, with empty caches:

- `pip download` from the best mirror (one connection at a time),
- `uv pip install` from the best mirror into a fresh venv (parallel files, one connection each),
- `minstall fetch` (ranges over 4 connections per mirror, all three mirrors),
- the physical limits: the payload over the best mirror's total cap, and over all three.

Floors (issue 10's): minstall at least 5x faster than pip and 2x faster than uv from the best
mirror, and at most 1.3x the all-mirror limit (whole command, resolution included). Prints
PASS/FAIL per floor, and the transfer's own ratio to the limit; exits 1 if one fails.
"""

from __future__ import annotations

import json
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
from farmenv import farm_env

BIN = Path(sys.executable).parent
MINSTALL, PIP, UV = str(BIN / "minstall"), str(BIN / "pip"), str(BIN / "uv")
PER_CONNECTION = 1.5e6
TOTALS = {"best": 8e6, "mid": 6e6, "low": 4e6}
BIG = [WheelSpec(f"payload{i}", "1.0", payload_bytes=16 * 1024 * 1024) for i in range(4)]


LAST: dict[str, str] = {}


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}")
    LAST["stdout"] = proc.stdout
    return time.perf_counter() - t0


def main() -> int:
    content = build_content(extra_wheels=tuple(BIG))
    specs = [
        MirrorSpec(m, latency_s=0.02, bandwidth_bps=PER_CONNECTION, shared_bandwidth_bps=total)
        for m, total in TOTALS.items()
    ]
    packages = [w.name for w in BIG]
    with MirrorFarm(specs, content=content) as farm, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = farm_env(farm, root)
        timed([MINSTALL, "bench", "--kind", "pypi"], env)
        best = farm["best"].simple_url
        payload = sum(len(r.body) for p, r in content.resources.items() if "/payload" in p)
        pip_s = timed(
            [PIP, "download", "--no-deps", "-d", str(root / "pip"), "--index-url", best, *packages],
            env,
        )
        venv.EnvBuilder(with_pip=False).create(root / "uvenv")
        uv_python = str(root / "uvenv" / "bin" / "python")
        uv = [UV, "pip", "install", "--no-deps", "--python", uv_python, "--index-url", best]
        uv_s = timed([*uv, *packages], env)
        fetch = [MINSTALL, "fetch", "--json", "--dest", str(root / "m"), "--"]
        minstall_s = timed([*fetch, "pip", "install", "--no-deps", *packages], env)
        transfer_s = json.loads(LAST["stdout"])["elapsed_s"]
        limit_best = payload / TOTALS["best"]
        limit_all = payload / sum(TOTALS.values())
        mib = payload / 1024 / 1024
        print(f"fetch {mib:.0f} MiB (4 wheels), per-connection cap 1.5 MB/s, mirrors 8/6/4 MB/s")
        rows = [
            ("pip download, best mirror", pip_s),
            ("uv pip install, best mirror", uv_s),
            ("minstall fetch, all mirrors", minstall_s),
            ("  of which the transfer itself", transfer_s),
            ("limit: best mirror's total cap", limit_best),
            ("limit: all three mirrors' caps", limit_all),
        ]
        for name, seconds in rows:
            print(f"  {name:<34}{seconds:>7.1f} s   {seconds / minstall_s:5.2f}x minstall")
    floors = [
        ("minstall at least 5x faster than pip", pip_s >= 5 * minstall_s),
        ("minstall at least 2x faster than uv", uv_s >= 2 * minstall_s),
        ("minstall at most 1.3x the all-mirror limit", minstall_s <= 1.3 * limit_all),
    ]
    print(f"\ntransfer alone: {transfer_s / limit_all:.2f}x the all-mirror limit")
    print()
    for name, ok in floors:
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    return 0 if all(ok for _, ok in floors) else 1


if __name__ == "__main__":
    raise SystemExit(main())
