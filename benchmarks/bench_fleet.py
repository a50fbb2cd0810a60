"""A second machine's install through a warm `minstall serve` cache, against the same install
through the capped mirrors, side by side in one run (issue 22).

    .venv-test/bin/python benchmarks/bench_fleet.py

Needs nginx (``apt install nginx-light``). The farm: two loopback mirrors capping each
connection at 1.5 MB/s and each mirror at 8 and 6 MB/s (the slow link of a lab far from its
mirrors); ``pip install app``, where app needs four 16 MiB wheels (64 MiB). The cache runs on
loopback (a LAN stands in for it at well over 100 MB/s). Steps, each timed:

1. ``minstall warm`` on the cache host: every file crosses the link once;
2. a "second machine": plain pip through the warm cache (``--index-url <cache>/pypi/simple``);
3. the same install without the cache: pip from the best mirror, and minstall (every mirror
   at once, so the best a single machine can do over the link).

Printed: seconds for each, the link's limit (payload over both mirrors' caps), the ratios of
2 against 3, and the bytes the mirrors sent during 2 (0: nothing crossed the link). Floor:
the cached install at least 3x faster than minstall over the link. PASS/FAIL; exit 1 on FAIL.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from farm import MirrorFarm, MirrorSpec
from farm.content import build_content
from farm.packages import WheelSpec
from farmenv import farm_env, fresh_venv, report, timed

BIN = Path(sys.executable).parent
PIP, MINSTALL = str(BIN / "pip"), str(BIN / "minstall")
PER_CONNECTION = 1.5e6
TOTALS = {"best": 8e6, "next": 6e6}
PARTS = [WheelSpec(f"part{i}", "1.0", payload_bytes=16 * 1024 * 1024) for i in range(4)]
APP = WheelSpec("app", "1.0", requires=tuple(p.name for p in PARTS))


def sent(farm) -> int:
    return sum(r.bytes_sent for m in farm for r in m.requests if "/part" in r.path)


def main() -> int:
    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        raise SystemExit("nginx is not installed: apt install nginx-light")
    content = build_content(extra_wheels=(*PARTS, APP))
    payload = sum(len(r.body) for p, r in content.resources.items() if "/pypi/packages/part" in p)
    specs = [
        MirrorSpec(m, latency_s=0.02, bandwidth_bps=PER_CONNECTION, shared_bandwidth_bps=total)
        for m, total in TOTALS.items()
    ]
    with MirrorFarm(specs, content=content) as farm, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = farm_env(farm, root)
        timed([MINSTALL, "bench"], env)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        cache = ["serve", "--listen", f"127.0.0.1:{port}", "--cache-dir", str(root / "cache")]
        server = subprocess.Popen(
            [MINSTALL, *cache], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            for _ in range(150):
                try:
                    if httpx.get(url + "/minstall-serve", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            warm_s = timed([MINSTALL, "warm", "--cache", url, "app"], env)
            for m in farm:
                m.reset_log()
            cached = ["--index-url", f"{url}/pypi/simple", "app"]
            cached_s = timed([PIP, "--python", fresh_venv(root, "c"), "install", *cached], env)
            crossed = sent(farm)
            direct = ["--index-url", farm["best"].simple_url, "app"]
            pip_s = timed([PIP, "--python", fresh_venv(root, "p"), "install", *direct], env)
            m_s = timed([MINSTALL, "pip", "--python", fresh_venv(root, "m"), "install", "app"], env)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(30)
    limit = payload / sum(TOTALS.values())
    print(f"\nfleet cache: {payload / 2**20:.0f} MiB of wheels, link capped at 14 MB/s in all")
    for label, s in (
        ("minstall warm (cache host, once)", warm_s),
        ("pip through the warm cache", cached_s),
        ("pip from the best mirror", pip_s),
        ("minstall over the link", m_s),
        ("limit of the link", limit),
    ):
        print(f"  {label:<36}{s:>7.1f} s")
    print(f"  mirrors sent {crossed} bytes during the install through the warm cache")
    print(f"  cached install vs pip from the best mirror: {pip_s / cached_s:.1f}x faster")
    print(f"  cached install vs minstall over the link:   {m_s / cached_s:.1f}x faster")
    floors = [
        (
            f"cached >= 3x faster than minstall over the link ({m_s / cached_s:.1f}x)",
            m_s / cached_s >= 3,
        ),
        (f"nothing crossed the link during the cached install ({crossed} bytes)", crossed == 0),
    ]
    return report(floors)


if __name__ == "__main__":
    sys.exit(main())
