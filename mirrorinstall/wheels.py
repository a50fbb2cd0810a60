"""Does a mirror really list a torch wheel of this variant for this Python and platform?
[edge: network]

Reads the mirror's listing for the variant (``<base>/<variant>/torch/`` in the index layout,
``<base>/<variant>/<listing>`` in the find-links layout) once per variant.
"""

from __future__ import annotations

from collections.abc import Callable

from mirrorinstall.catalog import Catalog
from mirrorinstall.pages import SIMPLE_ACCEPT, listed_wheels, wheel_fits
from mirrorinstall.probe import USER_AGENT


def make_wheel_check(
    catalog: Catalog, python: str, subdir: str, timeout_s: float = 5.0
) -> Callable[[str, str, str], str | None]:
    import httpx

    pages: dict[tuple[str, str], list[str] | None] = {}

    def listing(mirror_id: str, variant: str) -> list[str] | None:
        key = (mirror_id, variant)
        if key not in pages:
            wheels = catalog.get(mirror_id).pytorch  # type: ignore[union-attr]
            url = (
                f"{wheels.base}/{variant}/torch/"
                if wheels.layout == "index"
                else wheels.variant_url(variant)
            )
            try:
                r = httpx.get(
                    url,
                    headers={"User-Agent": USER_AGENT, "Accept": SIMPLE_ACCEPT},
                    timeout=timeout_s,
                    follow_redirects=True,
                )
                pages[key] = (
                    listed_wheels(r.content, r.headers.get("content-type", ""))
                    if r.status_code == 200
                    else []
                )
            except httpx.HTTPError:
                pages[key] = None  # unknown: do not rule the variant out on a network hiccup
        return pages[key]

    def check(mirror_id: str, variant: str, release: str) -> str | None:
        names = listing(mirror_id, variant)
        if names is None:
            return None
        wanted = {f"{release}+{variant}", release} if variant == "cpu" else {f"{release}+{variant}"}
        for name in names:
            parts = name.split("-")
            if (
                len(parts) >= 2
                and parts[0] == "torch"
                and parts[1] in wanted
                and wheel_fits(name, python, subdir)
            ):
                return None
        return (
            f"mirror {mirror_id} lists no torch {release}+{variant} wheel for Python "
            f"{python} on {subdir}"
        )

    return check
