"""Which torch-family wheels a mirror lists for a CUDA variant.  [edge: network]

Reads the mirror's listing for the variant at most once per run, through one HTTP client; the
rewriter asks it through the gathered facts. In the index layout that is torch's project page
(``<base>/<variant>/torch/``: enough to tell whether a build exists, and an index copy needs no
pins); in the find-links layout the whole flat page (``<base>/<variant>/<listing>``), which
lists torchvision and torchaudio too, for the pins a flat copy needs.
"""

from __future__ import annotations

from mirrorinstall.bench.pages import SIMPLE_ACCEPT, listed_wheels
from mirrorinstall.bench.probe import USER_AGENT
from mirrorinstall.context.facts import WheelLister
from mirrorinstall.core.catalog import Catalog


def make_wheel_lister(catalog: Catalog, timeout_s: float = 5.0) -> WheelLister:
    """A memoizing lister; a page that cannot be read is ``None`` (unknown), never a guess."""
    import httpx

    pages: dict[tuple[str, str], tuple[str, ...] | None] = {}
    client: list[httpx.Client] = []

    def get(url: str) -> list[str] | None:
        if not client:
            client.append(
                httpx.Client(
                    headers={"User-Agent": USER_AGENT, "Accept": SIMPLE_ACCEPT},
                    timeout=timeout_s,
                    follow_redirects=True,
                )
            )
        try:
            r = client[0].get(url)
        except httpx.HTTPError:
            return None  # unknown: do not rule the variant out on a network hiccup
        if r.status_code == 404:
            return []
        if r.status_code != 200:
            return None
        return listed_wheels(r.content, r.headers.get("content-type", ""))

    def listing(mirror_id: str, variant: str) -> tuple[str, ...] | None:
        key = (mirror_id, variant)
        if key in pages:
            return pages[key]
        mirror = catalog.get(mirror_id)
        wheels = mirror.pytorch if mirror is not None else None
        if wheels is None:
            pages[key] = None
            return None
        url = (
            f"{wheels.base}/{variant}/torch/"
            if wheels.layout == "index"
            else wheels.variant_url(variant)
        )
        found = get(url)
        pages[key] = tuple(found) if found is not None else None
        return pages[key]

    return listing
