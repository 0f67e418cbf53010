"""Results across runs: the metric groups of A2Perf's tables (more lands here: the results database)."""
