"""`minstall serve`: one nginx cache for a lab or a CI fleet, fed by the ranked mirrors."""
