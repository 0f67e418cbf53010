"""Ray executor for A2Perf: ``a2perf sweep --executor ray`` (see the README)."""
