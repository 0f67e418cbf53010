"""The ``latency`` metric: statistics of the runner's per-call ``infer_once`` timings.

The runner times each call itself (``perf_counter_ns`` around ``infer_once`` on the observations the
environment really produced) and writes the samples to the run directory; this metric only reads
them, so its own cost never enters a measurement.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import gin
import numpy as np

from a2perf_core.metrics import Metric, MetricValue, RunRecords
from a2perf_latency.percentiles import (
    DEFAULT_PERCENTILES,
    NS_PER_MS,
    LatencySummary,
    min_samples_for_percentile,
    percentile_label,
    summarize_latencies,
)
from a2perf_latency.plot import write_latency_plot

PHASE = "inference"
SUMMARY_CSV = "latency_summary_ms.csv"
PLOT_SVG = "latency_inference.svg"
METHOD = "perf_counter_ns around each infer_once call on real observations; percentile = sorted[floor(n*p)]"
ROUNDTRIP_METHOD = (
    "--untrusted: perf_counter_ns in the harness from sending the observation to the policy process to the "
    "action decoded and checked; percentile = sorted[floor(n*p)]"
)


@gin.configurable(module="a2perf_latency")
class LatencyMetric(Metric):
    """Per-call inference latency in milliseconds, LoadGen percentiles, warm-up reported apart."""

    def __init__(
        self,
        percentiles: Sequence[float] = DEFAULT_PERCENTILES,
        confidence: float = 0.99,
        plot: bool = True,
        histogram_bins: int = 60,
    ) -> None:
        self.percentiles = tuple(float(p) for p in percentiles)
        self.confidence = float(confidence)
        self.plot = plot
        self.histogram_bins = int(histogram_bins)

    def analyze(self, run: RunRecords) -> list[MetricValue]:
        latencies = run.latencies_ns()
        warmup = run.warmup_latencies_ns()
        phase_info = run.info.get("phases", {}).get(PHASE, {})
        if latencies.size == 0 and warmup.size == 0 and not phase_info:
            return []
        values: list[MetricValue] = []
        summary = summarize_latencies(latencies, self.percentiles) if latencies.size else None
        values += self._timed_values(summary)
        values += self._warmup_values(warmup)
        overhead_ns = phase_info.get("harness_overhead_ns_per_call")
        if overhead_ns is not None:
            values.append(
                _ms(
                    "latency.harness_overhead",
                    float(overhead_ns) / NS_PER_MS,
                    "harness's own cost per timed call (measured by the runner, not subtracted)",
                )
            )
        roundtrip = run.latencies_roundtrip_ns()
        if roundtrip.size:
            values = [_reported_by_policy(v) for v in values]
            values += self._roundtrip_values(roundtrip, phase_info.get("transport_floor_ns"))
        self._write_summary(run.run_dir, summary, warmup)
        if self.plot and summary is not None:
            write_latency_plot(run.run_dir / PLOT_SVG, latencies, summary, self.histogram_bins)
        return values

    def _timed_values(self, summary: LatencySummary | None) -> list[MetricValue]:
        count = 0 if summary is None else summary.count
        values = [
            MetricValue(
                "latency.count",
                count,
                "calls",
                "none",
                PHASE,
                "timed infer_once calls (warm-up excluded)",
                {"method": METHOD},
            )
        ]
        if summary is None:
            return values
        values += [
            _ms("latency.mean", summary.mean_ms, "mean per-call latency"),
            _ms("latency.std", summary.std_ms, "sample standard deviation (ddof=1) of per-call latency"),
            _ms("latency.min", summary.min_ms, "fastest call"),
        ]
        for p in self.percentiles:
            label = percentile_label(p)
            needed = min_samples_for_percentile(p, self.confidence)
            details = {
                "method": METHOD,
                "samples": summary.count,
                "min_samples_for_claim": needed,
                "trustworthy": summary.count >= needed,
            }
            description = f"{label} of per-call latency"
            if summary.count < needed:
                note = (
                    f"only {summary.count} samples; at least {needed} are needed for a {label} claim at "
                    f"{self.confidence:.0%} confidence (LoadGen early-stopping bound)"
                )
                details["note"] = note
                description += f" ({note})"
            values.append(
                MetricValue(
                    f"latency.{label}", summary.percentiles_ms[label], "ms", "lower", PHASE, description, details
                )
            )
        values += [
            _ms("latency.max", summary.max_ms, "slowest call"),
            MetricValue(
                "latency.throughput",
                summary.throughput_per_s,
                "calls/s",
                "higher",
                PHASE,
                "calls per second if calls ran back to back (count / summed latency)",
                {"method": METHOD},
            ),
        ]
        return values

    def _roundtrip_values(self, roundtrip_ns: np.ndarray, floor_ns: float | None) -> list[MetricValue]:
        """``latency.roundtrip.*``: the harness-observed round trips of the timed calls (untrusted mode), which
        the policy process cannot forge, and the transport floor they include."""
        summary = summarize_latencies(roundtrip_ns, self.percentiles)
        floor_ms = None if floor_ns is None else float(floor_ns) / NS_PER_MS
        details = {"method": ROUNDTRIP_METHOD, "measured_by": "harness", "transport_floor_ms": floor_ms}
        values = [
            MetricValue(
                "latency.roundtrip.count", summary.count, "calls", "none", PHASE, "timed calls' round trips", details
            )
        ]
        figures = {"mean": summary.mean_ms, "min": summary.min_ms, "max": summary.max_ms, **summary.percentiles_ms}
        for label, value in figures.items():
            entry = dict(details)
            description = f"{label} of the harness-observed round trip per call (transport floor included)"
            if label.startswith("p"):
                needed = min_samples_for_percentile(float(label[1:]) / 100, self.confidence)
                entry.update(samples=summary.count, min_samples_for_claim=needed, trustworthy=summary.count >= needed)
            values.append(MetricValue(f"latency.roundtrip.{label}", value, "ms", "lower", PHASE, description, entry))
        if floor_ms is not None:
            values.append(
                MetricValue(
                    "latency.transport_floor",
                    floor_ms,
                    "ms",
                    "lower",
                    PHASE,
                    "median round trip of a no-op request as large as an observation (the pipe's share)",
                    details,
                )
            )
        return values

    def _warmup_values(self, warmup: np.ndarray) -> list[MetricValue]:
        values = [
            MetricValue(
                "latency.warmup.count",
                int(warmup.size),
                "calls",
                "none",
                PHASE,
                "warm-up infer_once calls, timed but excluded from the statistics above",
            )
        ]
        if warmup.size:
            ms = warmup.astype(float) / NS_PER_MS
            values += [
                _ms("latency.warmup.first", float(ms[0]), "first call (compilation, lazy allocation, caches)"),
                _ms("latency.warmup.mean", float(ms.mean()), "mean of warm-up calls"),
                _ms("latency.warmup.max", float(ms.max()), "slowest warm-up call"),
            ]
        return values

    def _write_summary(self, run_dir: Path, summary: LatencySummary | None, warmup: np.ndarray) -> None:
        rows: list[tuple[str, float, int]] = []
        if summary is not None:
            rows += [
                ("mean", summary.mean_ms, summary.count),
                ("std", summary.std_ms, summary.count),
                ("min", summary.min_ms, summary.count),
            ]
            rows += [(label, value, summary.count) for label, value in summary.percentiles_ms.items()]
            rows.append(("max", summary.max_ms, summary.count))
        if warmup.size:
            ms = warmup.astype(float) / NS_PER_MS
            rows += [
                ("warmup_first", float(ms[0]), int(warmup.size)),
                ("warmup_mean", float(ms.mean()), int(warmup.size)),
            ]
        with (run_dir / SUMMARY_CSV).open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["statistic", "value_ms", "samples"])
            writer.writerows((name, repr(value), n) for name, value, n in rows)


def _reported_by_policy(value: MetricValue) -> MetricValue:
    """A value timed inside the untrusted policy process: the participant reports it."""
    details = {**value.details, "reported_by": "participant (policy process)"}
    return MetricValue(value.name, value.value, value.unit, value.direction, value.phase, value.description, details)


def _ms(name: str, value: float, description: str) -> MetricValue:
    return MetricValue(name, value, "ms", "lower", PHASE, description, {"method": METHOD})
