"""Stage 5, doctor: the seed's errors diagnosed, from a pasted message, a log, or the machine
itself, each with the fix for this machine as a minstall command."""
