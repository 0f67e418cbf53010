"""A2Perf's import name, kept so that A2Perf gin files and submissions run unchanged on a2perf."""
