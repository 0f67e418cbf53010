"""Memory metric for A2Perf: RSS of the participant's whole process tree, polled from the harness."""
