"""The shared core: errors, defaults, the mirror catalog, settings and their sources, the
command-line recogniser, and the on-disk cache. Every stage builds on it; it imports none."""
