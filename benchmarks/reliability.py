"""Speed of the a2perf-reliability statistics, against straightforward baselines run here.

Measures, on synthetic data (seeded):

1. the per-run permutation test (vectorised over resamples) against a plain loop that shuffles,
   re-ranks and averages once per resample; both must give the same p-value with the same draws;
2. a full ``compare_submissions`` (3 submissions x 5 tasks x 10 runs, bootstrap CIs and all pairs);
3. an across-run comparison that recomputes dispersion across runs (low-pass, nearest timepoints,
   IQR) on 2000-point curves for every permutation and bootstrap resample, with the filtered curves
   cached per run against recomputing everything (both must give identical results);
4. the low-pass: second-order sections against scipy's transfer-function filtfilt at the paper's
   cutoff 0.01 (time, and how far the two disagree).

    python benchmarks/reliability.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from a2perf_reliability import compare, curves
from a2perf_reliability.compare_runs import across_run_metric
from a2perf_reliability.metric import ReliabilityMetric
from scipy import signal, stats


def measure(function: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median seconds over ``repeats`` calls, and the last result."""
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def loop_permutation_test(runs, first, second, n_resamples, seed) -> float:
    """The obvious implementation: one shuffle and one ranking per resample and task."""
    rng = np.random.default_rng(seed)
    tasks = list(runs[first])
    _, observed_ranks = compare.rank_values(runs, True)
    observed = observed_ranks[second] - observed_ranks[first]
    exceed = 0
    for _ in range(n_resamples):
        sums = {first: 0.0, second: 0.0}
        counts = {first: 0, second: 0}
        for task in tasks:
            pooled = np.concatenate([runs[first][task], runs[second][task]])
            shuffled = rng.permutation(pooled)
            n_first = len(runs[first][task])
            others = [np.asarray(runs[s][task]) for s in runs if s not in (first, second)]
            ranks = stats.rankdata(-np.concatenate([shuffled, *others]))
            sums[first] += ranks[:n_first].sum()
            sums[second] += ranks[n_first : pooled.size].sum()
            counts[first] += n_first
            counts[second] += pooled.size - n_first
        null = sums[second] / counts[second] - sums[first] / counts[first]
        exceed += abs(null) >= abs(observed) - 1e-12
    return (1 + exceed) / (1 + n_resamples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer resamples and repeats")
    args = parser.parse_args()
    n_resamples = 200 if args.quick else 1000
    repeats = 3 if args.quick else 5
    rng = np.random.default_rng(0)
    rows: list[tuple[str, str, str]] = []

    runs = {
        name: {f"t{k}": rng.normal(shift, 1, 10) for k in range(5)}
        for name, shift in (("a", 0.0), ("b", 0.3), ("c", 0.6))
    }
    two = {k: runs[k] for k in ("a", "b")}
    vector_s, (_, p_vector) = measure(
        lambda: compare.permutation_test(
            two, "a", "b", higher_is_better=True, n_resamples=n_resamples, seed=np.random.default_rng(1)
        ),
        repeats,
    )
    loop_s, p_loop = measure(lambda: loop_permutation_test(two, "a", "b", n_resamples, 1), repeats)
    rows.append(
        (
            f"permutation test, 5 tasks x 10 runs, {n_resamples} resamples",
            f"{vector_s * 1e3:.1f} ms (loop {loop_s * 1e3:.1f} ms)",
            f"{loop_s / vector_s:.1f}x faster",
        )
    )
    rows.append(("  p-value vectorised / loop (independent draws)", f"{p_vector:.3f} / {p_loop:.3f}", ""))

    full_s, result = measure(
        lambda: compare.compare_submissions(runs, higher_is_better=True, n_resamples=n_resamples), 1
    )
    rows.append(
        (
            f"compare_submissions, 3 subs x 5 tasks x 10 runs, {n_resamples} resamples",
            f"{full_s:.2f} s",
            f"mean ranks {', '.join(f'{k}={v:.1f}' for k, v in result.mean_rank.items())}",
        )
    )

    n_across = 20 if args.quick else 100
    t = np.arange(1000.0, 2_000_001, 1000)
    curve_runs = {
        sub: {f"t{k}": [(t, np.sqrt(t) * (1 + shift) + rng.normal(0, 30, t.size)) for _ in range(5)] for k in range(3)}
        for sub, shift in (("a", 0.0), ("b", 0.05))
    }
    metric = ReliabilityMetric(preset="chan2020")

    def across(cache: bool):
        return compare.compare_submissions(
            curve_runs,
            higher_is_better=False,
            across_runs=True,
            n_resamples=n_across,
            metric=across_run_metric(metric, "dispersion_across_runs", cache=cache),
        )

    cached_s, cached = measure(lambda: across(True), 1)
    plain_s, plain = measure(lambda: across(False), 1)
    same = cached.pairs == plain.pairs and cached.ci == plain.ci
    rows.append(
        (
            f"across-run comparison (DR), 2 subs x 3 tasks x 5 runs x 2000 points, {n_across} resamples",
            f"{cached_s:.2f} s (recompute all {plain_s:.2f} s)",
            f"{plain_s / cached_s:.1f}x faster with filtered curves cached; identical results: {same}",
        )
    )

    y = np.sqrt(t) + rng.normal(0, 30, t.size)
    sos_s, smooth = measure(lambda: curves.lowpass(y, 0.01), repeats * 4)
    b, a = signal.butter(8, 0.01)
    ba_s, reference = measure(lambda: signal.filtfilt(b, a, y, padlen=27), repeats * 4)
    gap = float(np.max(np.abs(np.asarray(smooth) - np.asarray(reference))) / np.ptp(y))
    dc_ba = abs(signal.freqz(b, a, worN=[0.0])[1][0])
    dc_sos = abs(signal.sosfreqz(signal.butter(8, 0.01, output="sos"), worN=[0.0])[1][0])
    rows.append(
        (
            "low-pass 2000 points, cutoff 0.01: sections / transfer function",
            f"{sos_s * 1e3:.2f} ms / {ba_s * 1e3:.2f} ms",
            f"ratio {ba_s / sos_s:.2f}; gap {gap:.1e} of range; DC gain {dc_sos:.4f} / {dc_ba:.4f}",
        )
    )

    width = max(len(r[0]) for r in rows)
    print(f"{'measurement':<{width}}  {'time':<28}  note")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:<28}  {note}")


if __name__ == "__main__":
    main()
