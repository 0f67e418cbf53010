"""Energy metric for A2Perf: codecarbon's offline tracker around each phase, with its method stated."""
