"""Reading a small answer (a page, a metadata file, a range) with bounds on its size and its
pace.  [edge: network]

A read timeout catches a mirror that falls silent, not one that sends a byte every second: such
a "dripping" mirror kept the whole fetch waiting for ever. An answer must average at least
MIN_RATE once SLOW_AFTER_S have passed, and end within LONGEST_S; else it is abandoned with
the reason, and the caller goes on without that mirror.
"""

from __future__ import annotations

import io
import time

import httpx

SLOW_AFTER_S = 10.0
MIN_RATE = 16 * 1024  # bytes/s: a 16 MiB page on a 200 KB/s link still passes
LONGEST_S = 300.0


class Unfit(Exception):
    """The answer was too big or too slow; ``slow`` tells which."""

    def __init__(self, reason: str, slow: bool) -> None:
        super().__init__(reason)
        self.slow = slow


def body(response: httpx.Response, limit: int, what: str = "answer") -> bytes:
    """The streamed ``response``'s body, at most ``limit`` bytes, arriving at a useful pace."""
    out = io.BytesIO()
    started = time.monotonic()
    for block in response.iter_bytes():
        out.write(block)
        if out.tell() > limit:
            raise Unfit(f"sent a {what} bigger than {limit} bytes", slow=False)
        _check_pace(out.tell(), time.monotonic() - started, what)
    return out.getvalue()


def _check_pace(got: int, elapsed: float, what: str) -> None:
    if elapsed > LONGEST_S or (elapsed > SLOW_AFTER_S and got / elapsed < MIN_RATE):
        raise Unfit(
            f"dripped its {what}: {got} bytes in {elapsed:.0f} s (a read timeout never fires "
            "on a mirror that sends a byte now and then)",
            slow=True,
        )
