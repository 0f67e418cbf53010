"""A2Perf's results as a report people would rather look at than read: table, plots, provenance."""
