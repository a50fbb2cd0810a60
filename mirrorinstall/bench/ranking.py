"""A ranking of the mirrors: the cached one of this network when fresh, else a new bench.
[edge: disk (cache), network (probes)]

Used by ``bench`` and, before they choose mirrors, by ``rewrite`` and ``install``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping

from mirrorinstall.core.defaults import (
    DEFAULT_BUDGET_BYTES,
    DEFAULT_MAX_LAG_S,
    DEFAULT_TTL_S,
    QUICK_TIMEOUT_S,
)
from mirrorinstall.core.errors import NoMirrorError
from mirrorinstall.core.settings import Session


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def cached_ranking(session: Session, *, max_age_s: float = 7 * 24 * 3600) -> dict | None:
    """This network's cached bench report however old (up to ``max_age_s``), without
    measuring anything; None when there is none."""
    import time

    from mirrorinstall.core import cache
    from mirrorinstall.core.netid import network_id

    network, _ = network_id(session.environ)
    from mirrorinstall.bench import report

    found, _ = cache.load_report(
        cache.ranking_path(session.cache_dir, network), now_s=time.time(), ttl_s=max_age_s
    )
    return None if found is None or report.problem(found) else found


def get_ranking(
    session: Session,
    kinds: list[str],
    mirrors: list[str] | None,
    *,
    timeout_s: float = QUICK_TIMEOUT_S,
    budget_bytes: int = DEFAULT_BUDGET_BYTES,
    max_lag_s: float = DEFAULT_MAX_LAG_S,
    ttl_s: float = DEFAULT_TTL_S,
    refresh: bool = False,
    say: Callable[[str], None] = _stderr,
) -> dict:
    """A fresh cached ranking of this network covering the request, else a new measurement."""
    import time

    from mirrorinstall.bench import report
    from mirrorinstall.bench.rank import rank_rows
    from mirrorinstall.bench.targets import plan_targets
    from mirrorinstall.core import cache
    from mirrorinstall.core.netid import network_id

    catalog = session.catalog
    fingerprint = catalog.fingerprint
    network, network_from = network_id(session.environ)
    path = cache.ranking_path(session.cache_dir, network)
    if not refresh:
        cached, why = cache.load_report(path, now_s=time.time(), ttl_s=ttl_s)
        broken = report.problem(cached) if cached is not None else None
        if broken:
            say(f"minstall: cached ranking {path} is not one ({broken}); measuring again")
            cached = None
        elif cached is None and why.endswith("measuring again"):
            say(f"minstall: {why}")  # a broken file: said once, then replaced
        if cached is not None and report.covers(
            cached, catalog=fingerprint, kinds=kinds, mirrors=mirrors, budget_bytes=budget_bytes
        ):
            say(
                f"minstall: using the ranking {why} on this network ({path}); "
                "--refresh measures again"
            )
            return {**report.select(cached, kinds, mirrors), "cached": True}
    targets = plan_targets(catalog, kinds=kinds, mirror_ids=mirrors or ())
    if not targets:
        raise NoMirrorError(
            "no enabled mirror carries " + " or ".join(kinds),
            "Check 'minstall mirrors', or your --kind/--mirror filters.",
        )
    started = time.time()
    rows = rank_rows(_run_probes(targets, timeout_s, budget_bytes, session.environ), max_lag_s)
    result = report.build_report(
        rows,
        created_at_s=started,
        elapsed_s=time.time() - started,
        network=network,
        network_from=network_from,
        catalog=fingerprint,
        kinds=kinds,
        mirrors=mirrors,
        timeout_s=timeout_s,
        budget_bytes=budget_bytes,
        max_lag_s=max_lag_s,
    )
    if any(r["ok"] for r in rows):
        # the other kinds this network measured stay (fresh ones only: load_report's TTL)
        previous, _ = cache.load_report(path, now_s=time.time(), ttl_s=ttl_s)
        ok = previous is not None and report.problem(previous) is None
        cache.save_report(path, report.merged(result, previous if ok else None))
    return result


def _run_probes(
    targets: list, timeout_s: float, budget_bytes: int, environ: Mapping[str, str]
) -> list[dict[str, object]]:
    """Probe with a progress bar on stderr (drawn only on a terminal)."""
    from tqdm import tqdm

    from mirrorinstall.bench.probe import result_row, run_probes

    with tqdm(
        total=len(targets),
        desc="probing mirrors",
        unit="probe",
        file=sys.stderr,
        disable=None,
        leave=False,
    ) as bar:
        results = run_probes(
            targets,
            timeout_s=timeout_s,
            budget_bytes=budget_bytes,
            environ=environ,
            on_done=lambda _r: bar.update(1),
        )
    return [result_row(r) for r in results]
