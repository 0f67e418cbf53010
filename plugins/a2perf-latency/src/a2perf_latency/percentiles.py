"""Latency statistics defined as MLPerf Inference LoadGen defines them.

LoadGen sorts the per-query latencies and reports the sample at index ``floor(n * p)`` (clipped to
``n - 1``), with no interpolation, so a reported percentile is always a latency that was observed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs
import numpy as np

#: percentiles reported by default (LoadGen reports these and a few more)
DEFAULT_PERCENTILES = (0.5, 0.9, 0.95, 0.99)
NS_PER_MS = 1_000_000


def loadgen_index(n: int, p: float) -> int:
    """Index into ``n`` sorted samples that LoadGen reports as percentile ``p`` (0 <= p <= 1).

    ``n * p`` is rounded to 9 decimals before the floor so that, e.g., ``100 * 0.29`` (which is
    28.999999999999996 in binary floating point) gives index 29 as the written definition says.
    """
    if n <= 0:
        raise ValueError("no samples")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"percentile {p!r} must be a fraction in [0, 1], e.g. 0.99 for p99")
    return min(math.floor(round(n * p, 9)), n - 1)


def loadgen_percentile(samples: Sequence[float] | np.ndarray, p: float) -> float:
    """The ``p`` percentile of ``samples``: the sorted value at ``floor(n * p)``, no interpolation."""
    values = np.sort(np.asarray(samples, dtype=float).ravel())
    return float(values[loadgen_index(values.size, p)])


def min_samples_for_percentile(p: float, confidence: float = 0.99, allowed_over: int = 1) -> int:
    """Fewest samples for which a ``p`` percentile claim holds at ``confidence``.

    This is LoadGen's early-stopping bound: the smallest ``n`` with
    ``P[Binomial(n, 1 - p) <= allowed_over] <= 1 - confidence``. With its defaults it gives the
    numbers LoadGen prints: 64 samples for p90 and 662 for p99.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"percentile {p!r} must be strictly between 0 and 1")
    miss = 1.0 - confidence
    q = 1.0 - p
    n = allowed_over + 1
    while True:
        tail = sum(math.comb(n, k) * q**k * p ** (n - k) for k in range(allowed_over + 1))
        if tail <= miss:
            return n
        n += 1


def percentile_label(p: float) -> str:
    """``0.5 -> "p50"``, ``0.999 -> "p99.9"``."""
    return "p" + f"{p * 100:.6f}".rstrip("0").rstrip(".")


@attrs.frozen
class LatencySummary:
    """Summary of per-call latencies, every time in milliseconds."""

    count: int
    mean_ms: float
    #: sample standard deviation (ddof=1); 0 for a single sample
    std_ms: float
    min_ms: float
    max_ms: float
    #: percentile label (``"p99"``) -> milliseconds
    percentiles_ms: dict[str, float]
    #: calls per second if calls ran back to back: ``count / sum(latency)``
    throughput_per_s: float


def summarize_latencies(
    latencies_ns: Sequence[int] | np.ndarray, percentiles: Sequence[float] = DEFAULT_PERCENTILES
) -> LatencySummary:
    """Statistics of per-call latencies given in integer nanoseconds (as the runner records them)."""
    ns = np.asarray(latencies_ns, dtype=np.int64).ravel()
    if ns.size == 0:
        raise ValueError("no latency samples")
    ms = ns.astype(float) / NS_PER_MS
    total_s = float(ns.sum()) / 1e9
    return LatencySummary(
        count=int(ms.size),
        mean_ms=float(ms.mean()),
        std_ms=float(ms.std(ddof=1)) if ms.size > 1 else 0.0,
        min_ms=float(ms.min()),
        max_ms=float(ms.max()),
        percentiles_ms={percentile_label(p): loadgen_percentile(ms, p) for p in percentiles},
        throughput_per_s=ms.size / total_s if total_s > 0 else float("inf"),
    )
