"""Circuit training baseline: greedy macro placement (each macro at the legal cell of least added wirelength)."""
