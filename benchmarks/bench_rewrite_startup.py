"""Cold start of `minstall rewrite`, end to end, next to `python -c pass`, in one run.

    .venv-test/bin/python benchmarks/bench_rewrite_startup.py

Each command runs 15 times as a fresh process; the medians are printed side by side. The
rewrite runs with a ranking already cached (made first by `minstall bench` against a farm
of 4 mirrors) and with --mirror, both with MINSTALL_CUDA_DRIVER set (the seed command).
Floor: the rewrite within 250 ms. Exits 1 if the floor fails.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from farm import MirrorFarm, MirrorSpec

RUNS = 15
SCRIPT = Path(sys.executable).parent / "minstall"
SEED = ["conda", "install", "pytorch", "torchvision", "cudatoolkit=10.1", "-c", "pytorch"]


def median_ms(cmd: list[str], env: dict[str, str]) -> float:
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        times.append((time.perf_counter() - t0) * 1000)
        if proc.returncode != 0:
            raise SystemExit(f"{cmd} failed: {proc.stderr}")
    return statistics.median(times)


def main() -> int:
    with (
        MirrorFarm([MirrorSpec(f"m{i}", latency_s=0.01 * i) for i in range(4)]) as farm,
        tempfile.TemporaryDirectory() as tmp,
    ):
        env = {
            **os.environ,
            "MINSTALL_CATALOG": str(farm.write_catalog(Path(tmp) / "f.toml")),
            "MINSTALL_CACHE_DIR": tmp,
            "MINSTALL_NETWORK_ID": "bench",
            "MINSTALL_CUDA_DRIVER": "535.104.05",
        }
        subprocess.run(
            [str(SCRIPT), "bench", "--kind", "conda"], env=env, capture_output=True, check=True
        )
        rows = [
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ("minstall --version", [str(SCRIPT), "--version"]),
            ("minstall rewrite (cached ranking)", [str(SCRIPT), "rewrite", "--", *SEED]),
            (
                "minstall rewrite --mirror m0",
                [str(SCRIPT), "rewrite", "--mirror", "m0", "--", *SEED],
            ),
        ]
        results = [(name, median_ms(cmd, env)) for name, cmd in rows]
    base = results[0][1]
    print(f"{'command':<36}{'median':>10}{'vs python -c pass':>20}   ({RUNS} runs each)")
    for name, ms in results:
        print(f"{name:<36}{ms:>8.0f} ms{ms / base:>19.1f}x")
    worst = max(ms for name, ms in results if "rewrite" in name)
    ok = worst <= 250
    print(
        f"\n{'PASS' if ok else 'FAIL'}  minstall rewrite cold start within 250 ms: {worst:.0f} ms"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
