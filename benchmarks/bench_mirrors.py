"""Benchmark `minstall bench` against the mirror farm, side by side in one run.

Run from the repository root with the test environment (README, "Benchmarks"):

    .venv-test/bin/python benchmarks/bench_mirrors.py

It starts 18 farm mirrors on 127.0.0.1 (8 healthy ones with known latency and
bandwidth, one stale, nine faulty), then measures, in the same run:

- the wall time of one `minstall bench` over all of them, against each mirror benched
  alone, one after another (the parallel speedup), and against the slowest single
  healthy probe;
- how well the ranking agrees with the ground truth (Kendall tau over healthy mirrors,
  per kind, under the workload that kind is ranked by), and whether every pair whose
  true scores differ by 30% or more is in the right order;
- whether every faulty mirror is excluded with the right reason, and the stale one
  ranked below the fresh ones;
- the bytes each mirror sent, against the byte budget.

It prints a PASS/FAIL line per floor and exits 1 if any floor fails.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from farm import Fault, MirrorFarm, MirrorSpec

from mirrorinstall.bench.rank import DEFAULT_WORKLOAD, WORKLOADS

BUDGET = 2 * 1024 * 1024
KINDS = ("conda", "pypi", "pytorch")
SCRIPT = Path(sys.executable).parent / "minstall"

# id: (latency per request in s, bandwidth per connection in bytes/s)
HEALTHY = {
    "h1-near-fat": (0.010, 16e6),
    "h2": (0.030, 8e6),
    "h3": (0.060, 4e6),
    "h4": (0.120, 2e6),
    "h5-far-thin": (0.250, 1e6),
    "h6-near-thin": (0.020, 1.5e6),
    "h7-far-fat": (0.200, 12e6),
    "upstream": (0.300, 0.5e6),
}
STALE = {"stale": (0.015, 10e6)}
FAULTY = {
    # id: (faults, kinds where it must fail, phrase its reason must hold)
    "f-refuse": ([Fault("refuse")], KINDS, "connection refused"),
    "f-hang": ([Fault("hang", hold_s=30)], KINDS, "went silent"),
    "f-portal": ([Fault("html200")], KINDS, "served an HTML page"),
    "f-waf": ([Fault("forbidden403")], KINDS, "403 Forbidden"),
    "f-outofsync": ([Fault("out-of-sync")], KINDS, "out of sync"),
    "f-corrupt": ([Fault("corrupt")], ("conda", "pypi"), "does not match the sha256"),
    "f-truncate": (
        [Fault("truncate", path=p) for p in ("/conda/*", "/pypi/*", "/whl/*")],
        KINDS,
        "closed the connection mid-answer",
    ),
    "f-stall": (
        [Fault("stall", path=p, hold_s=30) for p in ("*.whl", "*.conda", "*.bz2")],
        KINDS,
        "went silent",
    ),
    "f-redirect": ([], KINDS, "(another host)"),
}


def true_score(mirror: str, kind: str) -> float:
    latency, bandwidth = {**HEALTHY, **STALE}[mirror]
    w = WORKLOADS[DEFAULT_WORKLOAD[kind]]
    return w.requests * latency + w.bytes / bandwidth


def kendall_tau(order_a: list[str], order_b: list[str]) -> float:
    pos_a = {m: i for i, m in enumerate(order_a)}
    pos_b = {m: i for i, m in enumerate(order_b)}
    pairs = list(itertools.combinations(order_a, 2))
    s = sum(1 if (pos_a[x] - pos_a[y]) * (pos_b[x] - pos_b[y]) > 0 else -1 for x, y in pairs)
    return s / len(pairs)


def run_bench(env: dict[str, str], *args: str) -> tuple[dict, float]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(SCRIPT), "bench", "--refresh", "--json", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 69):
        raise SystemExit(f"minstall bench failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout), wall


def main() -> int:
    specs = [
        MirrorSpec(m, latency_s=lat, bandwidth_bps=bw, upstream=(m == "upstream"))
        for m, (lat, bw) in HEALTHY.items()
    ]
    specs += [
        MirrorSpec(m, latency_s=lat, bandwidth_bps=bw, faults=[Fault("stale")])
        for m, (lat, bw) in STALE.items()
    ]
    specs += [MirrorSpec(m, faults=faults) for m, (faults, _, _) in FAULTY.items()]
    floors: list[tuple[str, bool, str]] = []
    with MirrorFarm(specs) as farm, tempfile.TemporaryDirectory() as tmp:
        farm["f-redirect"].set_faults(Fault("redirect", target=farm["upstream"].url))
        catalog = farm.write_catalog(Path(tmp) / "farm.toml")
        env = {
            **os.environ,
            "MINSTALL_CATALOG": str(catalog),
            "MINSTALL_CACHE_DIR": tmp,
            "MINSTALL_NETWORK_ID": "benchmark",
        }
        # --- each mirror alone, one after another
        alone: dict[str, float] = {}
        for spec in specs:
            report, _ = run_bench(env, "--mirror", spec.id)
            alone[spec.id] = report["elapsed_s"]
        for m in farm:
            m.reset_log()
        # --- all at once
        report, wall = run_bench(env)
        rows = {(r["mirror"], r["kind"]): r for r in report["results"]}
        sent = {m.id: m.bytes_sent() for m in farm}

    print(
        f"minstall bench over {len(specs)} farm mirrors x {len(KINDS)} kinds "
        f"(budget {BUDGET // 1024} KiB a mirror, deadline {report['timeout_s']:g} s)\n"
    )
    slowest_healthy = max(alone[m] for m in HEALTHY)
    serial = sum(alone.values())
    parallel = report["elapsed_s"]
    print(f"{'wall time, all mirrors at once':<44}{parallel:8.2f} s   (process: {wall:.2f} s)")
    print(
        f"{'sum of single-mirror benches, one by one':<44}{serial:8.2f} s   "
        f"speedup {serial / parallel:.1f}x"
    )
    print(
        f"{'slowest single healthy mirror':<44}{slowest_healthy:8.2f} s   "
        f"ratio {parallel / slowest_healthy:.2f}x"
    )
    floors.append(
        (
            "wall time within 1.5x the slowest single healthy probe",
            parallel <= 1.5 * slowest_healthy,
            f"{parallel:.2f} s vs 1.5 x {slowest_healthy:.2f} s",
        )
    )

    print(f"\n{'kind':<9}{'workload':<10}{'Kendall tau':>12}  ground truth -> measured order")
    for kind in KINDS:
        truth = sorted(HEALTHY, key=lambda m: true_score(m, kind))
        ok_rows = [rows[(m, kind)] for m in HEALTHY if rows[(m, kind)]["ok"]]
        measured = [r["mirror"] for r in sorted(ok_rows, key=lambda r: r["rank"])]
        missing = set(HEALTHY) - set(measured)
        tau = kendall_tau(truth, measured) if not missing else float("nan")
        print(f"{kind:<9}{DEFAULT_WORKLOAD[kind]:<10}{tau:>12.3f}  {' '.join(truth)}")
        print(f"{'':<33}{' '.join(measured)}")
        wrong = [
            (a, b)
            for a, b in itertools.combinations(truth, 2)
            if true_score(b, kind) >= 1.3 * true_score(a, kind)
            and a in measured
            and b in measured
            and measured.index(a) > measured.index(b)
        ]
        floors.append(
            (
                f"{kind}: healthy mirrors all ranked",
                not missing,
                f"missing {missing}" if missing else "all 8",
            )
        )
        floors.append(
            (
                f"{kind}: exact order for pairs 30%+ apart",
                not wrong,
                f"misordered {wrong}" if wrong else f"tau {tau:.3f}",
            )
        )
        stale = rows[("stale", kind)]
        worst_fresh = max(rows[(m, kind)]["rank"] or 0 for m in HEALTHY)
        floors.append(
            (
                f"{kind}: stale mirror ranked below fresh ones",
                stale["ok"] and stale["fresh"] is False and stale["rank"] > worst_fresh,
                stale.get("stale_reason") or stale.get("error") or "",
            )
        )

    print(f"\n{'faulty mirror':<14}{'kind':<9}reason")
    for mirror, (_, kinds, phrase) in FAULTY.items():
        for kind in kinds:
            r = rows[(mirror, kind)]
            good = not r["ok"] and phrase in (r["error"] or "")
            print(f"{mirror:<14}{kind:<9}{'ok  ' if good else 'BAD '}{r['error']}")
            floors.append((f"{mirror} {kind} excluded with its reason", good, r["error"] or ""))

    print(f"\n{'mirror':<14}{'bytes sent':>12}  (budget {BUDGET})")
    for mirror, size in sent.items():
        print(f"{mirror:<14}{size:>12}")
    over = {m: s for m, s in sent.items() if s > BUDGET}
    floors.append(
        (
            "at most the byte budget per mirror",
            not over,
            f"over: {over}" if over else f"max {max(sent.values())} B",
        )
    )

    print()
    failed = 0
    for name, good, detail in floors:
        failed += not good
        print(f"{'PASS' if good else 'FAIL'}  {name}: {detail}")
    print(f"\n{len(floors) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
