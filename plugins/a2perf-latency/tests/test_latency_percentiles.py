"""LoadGen percentiles and the latency summary, pinned against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from a2perf_latency.percentiles import (
    loadgen_index,
    loadgen_percentile,
    min_samples_for_percentile,
    percentile_label,
    summarize_latencies,
)


@pytest.mark.parametrize(
    ("samples", "p", "expected"),
    [
        ([5, 1, 4, 2, 3], 0.5, 3),  # floor(2.5) = 2 -> sorted[2]
        ([5, 1, 4, 2, 3], 0.9, 5),  # floor(4.5) = 4
        ([5, 1, 4, 2, 3], 0.0, 1),
        ([5, 1, 4, 2, 3], 1.0, 5),  # floor(5) = 5, clipped to n - 1
        ([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.5, 60),  # index 5, not the interpolated 55
        ([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.95, 100),  # floor(9.5) = 9
        ([7.5], 0.99, 7.5),
        (list(range(1, 101)), 0.29, 30),  # 100 * 0.29 is 28.999... in binary; the definition says 29
        (list(range(1, 101)), 0.5, 51),  # numpy's inverted_cdf would give 50, linear 50.5
        (list(range(1, 101)), 0.99, 100),
        (list(range(1000, 0, -1)), 0.999, 1000),
        (list(range(1000, 0, -1)), 0.9, 901),
    ],
)
def test_loadgen_percentile_hand_computed(samples: list[float], p: float, expected: float) -> None:
    assert loadgen_percentile(samples, p) == expected


def test_loadgen_percentile_never_interpolates() -> None:
    samples = np.array([1.0, 2.0, 4.0, 8.0])
    for p in np.linspace(0, 1, 101):
        assert loadgen_percentile(samples, p) in samples


def test_loadgen_index_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="no samples"):
        loadgen_index(0, 0.5)
    with pytest.raises(ValueError, match="0.99 for p99"):
        loadgen_index(10, 99)


def test_min_samples_match_loadgen_published_numbers() -> None:
    # LoadGen's early-stopping minimum query counts at 99 % confidence
    assert min_samples_for_percentile(0.90) == 64
    assert min_samples_for_percentile(0.99) == 662


def test_min_samples_binomial_bound_by_hand() -> None:
    # p50: P[Bin(n, .5) <= 1] = (1 + n) / 2**n; n = 11 gives 12/2048 = 0.0059, n = 10 gives 11/1024 = 0.0107
    assert min_samples_for_percentile(0.5) == 11


@pytest.mark.parametrize(("p", "label"), [(0.5, "p50"), (0.9, "p90"), (0.99, "p99"), (0.999, "p99.9")])
def test_percentile_label(p: float, label: str) -> None:
    assert percentile_label(p) == label


def test_summary_in_milliseconds() -> None:
    summary = summarize_latencies(np.array([1_000_000, 2_000_000, 3_000_000, 4_000_000], dtype=np.int64))
    assert summary.count == 4
    assert summary.mean_ms == pytest.approx(2.5)
    assert summary.std_ms == pytest.approx(math.sqrt(5 / 3))  # deviations 1.5, .5, .5, 1.5; ddof = 1
    assert summary.min_ms == 1.0 and summary.max_ms == 4.0
    assert summary.percentiles_ms == {"p50": 3.0, "p90": 4.0, "p95": 4.0, "p99": 4.0}
    assert summary.throughput_per_s == pytest.approx(400.0)  # 4 calls in 10 ms


def test_summary_of_one_sample() -> None:
    summary = summarize_latencies([2_500_000])
    assert summary.std_ms == 0.0
    assert summary.percentiles_ms["p99"] == 2.5


def test_summary_rejects_empty() -> None:
    with pytest.raises(ValueError):
        summarize_latencies([])
