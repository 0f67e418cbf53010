"""Training fails on the first attempt (no marker in the run directory yet) and succeeds after."""
