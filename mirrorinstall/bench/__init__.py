"""Stage 1, bench: time every mirror in parallel, check what it serves, rank, remember."""
