"""Random baseline: uniformly random legal actions, on every task."""
