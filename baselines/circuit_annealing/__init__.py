"""Circuit training baseline: simulated annealing over hard-macro positions, started from the greedy placement."""
