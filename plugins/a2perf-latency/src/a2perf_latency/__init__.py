"""Inference latency metric for A2Perf: percentiles of the runner's per-call ``infer_once`` timings."""
