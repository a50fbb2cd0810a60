"""The executor against the mirror farm, side by side in one run.

    .venv-test/bin/python benchmarks/bench_install.py

1. Wrapper overhead on a no-op install: `minstall pip --python V install six` (six already
   there; the ranking cached) against plain `pip --python V install --index-url <best> six`,
   median of 7 runs each. Floor: within 10% + 150 ms.
2. End to end: installing bigwheel (4 MiB) into a fresh venv with the mirror picked
   automatically (cached ranking), straight from the best mirror, and straight from the
   slowest, median of 3 runs each. Floors: within 1.15x of the best, 3x faster than the
   slowest.

Prints PASS/FAIL per floor; exits 1 if one fails.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from farm import MirrorFarm, MirrorSpec
from farmenv import farm_env, fresh_venv, timed

BIN = Path(sys.executable).parent
MINSTALL, PIP = str(BIN / "minstall"), str(BIN / "pip")
MIRRORS = [
    MirrorSpec("best", latency_s=0.01, bandwidth_bps=8e6),
    MirrorSpec("mid", latency_s=0.05, bandwidth_bps=2e6),
    MirrorSpec("thin", latency_s=0.1, bandwidth_bps=0.6e6),
    MirrorSpec("slowest", latency_s=0.2, bandwidth_bps=0.25e6),
]


def main() -> int:
    floors = []
    with MirrorFarm(MIRRORS) as farm, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = farm_env(farm, root)
        timed([MINSTALL, "bench"], env)  # the ranking later commands reuse
        best = farm["best"].simple_url

        # 1. wrapper overhead, no-op install
        target = fresh_venv(root, "noop")
        timed([PIP, "--python", target, "install", "--index-url", best, "six"], env)
        plain = [
            timed([PIP, "--python", target, "install", "--index-url", best, "six"], env)
            for _ in range(7)
        ]
        wrapped = [
            timed([MINSTALL, "pip", "--python", target, "install", "six"], env) for _ in range(7)
        ]
        p, w = statistics.median(plain), statistics.median(wrapped)
        print(f"{'no-op install (six already there)':<44}{'median':>10}")
        print(f"{'  plain pip --index-url <best>':<44}{p * 1000:>8.0f} ms")
        print(
            f"{'  minstall pip install (ranking cached)':<44}{w * 1000:>8.0f} ms   "
            f"overhead {(w - p) * 1000:+.0f} ms ({w / p:.2f}x)"
        )
        floors.append(
            (
                "wrapper overhead within 10% + 150 ms",
                w <= p * 1.10 + 0.150,
                f"{w * 1000:.0f} ms vs {p * 1000:.0f} ms",
            )
        )

        # 2. end to end, bigwheel (4 MiB) into fresh venvs
        runs: dict[str, list[float]] = {"auto": [], "best": [], "slowest": []}
        for i in range(3):
            runs["auto"].append(
                timed(
                    [MINSTALL, "pip", "--python", fresh_venv(root, f"a{i}"), "install", "bigwheel"],
                    env,
                )
            )
            for name in ("best", "slowest"):
                runs[name].append(
                    timed(
                        [
                            PIP,
                            "--python",
                            fresh_venv(root, f"{name}{i}"),
                            "install",
                            "--index-url",
                            farm[name].simple_url,
                            "bigwheel",
                        ],
                        env,
                    )
                )
        med = {k: statistics.median(v) for k, v in runs.items()}
        print(f"\n{'install bigwheel (4 MiB), fresh venv':<44}{'median':>10}")
        print(
            f"{'  minstall, mirror picked automatically':<44}{med['auto']:>8.2f} s   "
            f"{med['auto'] / med['best']:.2f}x the best"
        )
        print(f"{'  pip straight from the best mirror':<44}{med['best']:>8.2f} s")
        print(
            f"{'  pip straight from the slowest mirror':<44}{med['slowest']:>8.2f} s   "
            f"{med['slowest'] / med['auto']:.1f}x minstall"
        )
        floors.append(
            (
                "auto within 1.15x of the best mirror",
                med["auto"] <= 1.15 * med["best"],
                f"{med['auto']:.2f} s vs {med['best']:.2f} s",
            )
        )
        floors.append(
            (
                "auto at least 3x faster than the slowest",
                med["slowest"] >= 3 * med["auto"],
                f"{med['slowest']:.2f} s vs {med['auto']:.2f} s",
            )
        )
    print()
    failed = 0
    for name, ok, detail in floors:
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
