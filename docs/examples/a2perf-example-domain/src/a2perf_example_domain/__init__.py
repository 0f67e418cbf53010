"""A tiny third-party a2perf domain."""
