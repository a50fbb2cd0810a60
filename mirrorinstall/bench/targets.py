"""What ``minstall bench`` probes: one target per mirror and kind it carries. Pure.

conda: the channel's ``noarch/repodata.json`` (every channel has noarch). The channel
is conda-forge where the mirror carries it, else ``main``, else pytorch, else the first
one listed, so most mirrors are compared on the same channel.
pypi: the simple page of a reference project (default ``pip``: on every index, and
released often, so a lagging copy shows).
pytorch: the ``cpu`` variant's page (every copy has it): ``<base>/cpu/torch/`` in the
index layout, ``<base>/cpu/<listing>`` in the find-links layout.

``group`` names what results are compared on for freshness: the same channel/subdir,
the same project, the same variant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mirrorinstall.core.catalog import KINDS, Catalog, Mirror

CHANNEL_PREFERENCE = ("conda-forge", "main", "pytorch")
DEFAULT_PYPI_PROJECT = "pip"
DEFAULT_TORCH_VARIANT = "cpu"


@dataclass(frozen=True)
class Target:
    mirror: str
    kind: str
    url: str
    group: str
    channel: str | None = None
    upstream: bool = False
    token_env: str | None = None
    token_user: str = "__token__"
    project: str = ""  # pypi/pytorch: the project whose files are listed


def conda_channel_for(mirror: Mirror) -> str | None:
    for name in CHANNEL_PREFERENCE:
        if mirror.channel_url(name) is not None:
            return name
    return next(iter(mirror.conda), None)


def target_for(
    mirror: Mirror,
    kind: str,
    *,
    pypi_project: str = DEFAULT_PYPI_PROJECT,
    torch_variant: str = DEFAULT_TORCH_VARIANT,
) -> Target | None:
    common = {
        "mirror": mirror.id,
        "kind": kind,
        "upstream": mirror.upstream,
        "token_env": mirror.token_env,
        "token_user": mirror.token_user,
    }
    if kind == "conda":
        channel = conda_channel_for(mirror)
        url = mirror.channel_url(channel) if channel else None
        if url is None:
            return None
        return Target(
            url=f"{url}/noarch/repodata.json",
            group=f"conda:{channel}/noarch",
            channel=channel,
            **common,
        )
    if kind == "pypi" and mirror.pypi is not None:
        return Target(
            url=f"{mirror.pypi.simple.rstrip('/')}/{pypi_project}/",
            group=f"pypi:{pypi_project}",
            project=pypi_project,
            **common,
        )
    if kind == "pytorch" and mirror.pytorch is not None:
        wheels = mirror.pytorch
        url = (
            f"{wheels.base}/{torch_variant}/torch/"
            if wheels.layout == "index"
            else wheels.variant_url(torch_variant)
        )
        return Target(url=url, group=f"pytorch:{torch_variant}", project="torch", **common)
    return None


def plan_targets(
    catalog: Catalog,
    *,
    kinds: Iterable[str] = KINDS,
    mirror_ids: Iterable[str] = (),
    pypi_project: str = DEFAULT_PYPI_PROJECT,
    torch_variant: str = DEFAULT_TORCH_VARIANT,
) -> list[Target]:
    """Targets for the enabled mirrors (all of ``mirror_ids`` if given, enabled or not)."""
    wanted = list(dict.fromkeys(mirror_ids))
    mirrors = [catalog.get(i) for i in wanted] if wanted else list(catalog.enabled())
    out = []
    for mirror in mirrors:
        if mirror is None:
            continue
        for kind in kinds:
            target = target_for(
                mirror, kind, pypi_project=pypi_project, torch_variant=torch_variant
            )
            if target is not None:
                out.append(target)
    return out
