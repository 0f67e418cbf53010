"""Sweeps: a grid of submissions x tasks x seeds, each cell an ordinary run folder (``a2perf sweep``)."""
