"""Stage 3, run: plan a command over the gathered facts, run the installer as a child, read
its failure, and fall back to the next mirror."""
