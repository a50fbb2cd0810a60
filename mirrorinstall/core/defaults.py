"""Defaults shared by bench, rewrite and install (one place, so they cannot drift apart). Pure."""

DEFAULT_TIMEOUT_S = 6.0  # one deadline for a whole bench, whatever the number of mirrors
QUICK_TIMEOUT_S = 4.0  # the quick bench rewrite/install run when no fresh ranking is cached
DEFAULT_BUDGET_BYTES = 2 * 1024 * 1024  # bytes downloaded from each mirror by a bench
DEFAULT_MAX_LAG_S = 24 * 3600  # mirrors lagging the newest copy by more rank below fresh ones
DEFAULT_TTL_S = 6 * 3600  # a cached ranking of this network is reused while younger
