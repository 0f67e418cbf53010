"""Compare submissions from their run directories: the library entry point for reports.

``compare_run_directories({"sub-a": {"Task-v0": [dir, dir, dir]}, ...}, "dispersion_across_runs")``
reads each run's records once, computes the named reliability metric with a preset's settings and
returns a :class:`~a2perf_reliability.compare.RankComparison` (mean ranks, bootstrap CIs,
permutation tests with multiple-comparison correction). Across-run metrics are recomputed on the
permuted and resampled sets of runs, as the paper prescribes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from os import PathLike
from typing import Any

import numpy as np

from a2perf_core.metrics import MetricValue, RunRecords
from a2perf_reliability import a2perf_measures, measures
from a2perf_reliability.compare import Correction, RankComparison, compare_submissions
from a2perf_reliability.curves import curve_range, lowpass, nearest_within_window
from a2perf_reliability.errors import ReliabilityInputError
from a2perf_reliability.metric import ReliabilityMetric, curve_from_train_log

#: across-run metrics and whether higher is better
ACROSS_RUN_METRICS = {"dispersion_across_runs": False, "risk_across_runs": True}


def _per_run_value(metric: ReliabilityMetric, run: RunRecords, name: str) -> MetricValue:
    values = {v.name: v for v in metric.analyze(run)}
    key = f"reliability.{name}"
    if key not in values:
        known = sorted(v.removeprefix("reliability.") for v in values) + sorted(ACROSS_RUN_METRICS)
        raise ReliabilityInputError(f"unknown reliability metric {name!r}; known: {', '.join(known)}")
    value = values[key]
    if value.value is None:
        raise ReliabilityInputError(f"{name} is undefined for {run.run_dir}: {value.details.get('reason')}")
    return value


def across_run_value(metric: ReliabilityMetric, curves: Sequence[tuple[np.ndarray, np.ndarray]], name: str) -> float:
    """The headline value of an across-run metric on these training curves, with the metric's settings."""
    return across_run_metric(metric, name, cache=False)(curves)


class FilteredCurves:
    """Low-passed values and curve ranges of curves seen before: permutations and bootstrap resamples
    reuse the same runs, and the filter is most of the cost of an across-run metric."""

    def __init__(self) -> None:
        self._smooth: dict[tuple[int, float | None], tuple[object, np.ndarray]] = {}
        self._ranges: dict[int, tuple[object, float]] = {}

    def smooth(self, curve: tuple[np.ndarray, np.ndarray], cutoff: float | None) -> np.ndarray:
        key = (id(curve), cutoff)
        if key not in self._smooth:  # the curve is kept alive with its entry, so its id stays unique
            self._smooth[key] = (curve, curve[1] if cutoff is None else lowpass(curve[1], cutoff))
        return self._smooth[key][1]

    def range(self, curve: tuple[np.ndarray, np.ndarray]) -> float:
        if id(curve) not in self._ranges:
            self._ranges[id(curve)] = (curve, curve_range(curve[1]))
        return self._ranges[id(curve)][1]


def across_run_metric(
    metric: ReliabilityMetric, name: str, cache: bool = True
) -> Callable[[Sequence[tuple[np.ndarray, np.ndarray]]], float]:
    """``f(curves) -> headline value`` of an across-run metric, for :func:`compare_submissions`.

    With ``cache`` the low-passed curves and ranges are computed once per run (same numbers).
    """
    if name not in ACROSS_RUN_METRICS:
        raise ReliabilityInputError(f"{name!r} is not an across-run metric; known: {', '.join(ACROSS_RUN_METRICS)}")
    s = metric.settings
    filtered = FilteredCurves()

    def value(curves: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
        if s.analysis == "a2perf":  # A2Perf's definitions; its filter runs on every curve each time
            if len(curves) < 2:
                raise ReliabilityInputError(f"across-run metrics need at least 2 runs, got {len(curves)}")
            if name == "risk_across_runs":
                return a2perf_measures.risk_across_runs(curves, s.alpha)[0]
            return float(np.mean(a2perf_measures.dispersion_across_runs(curves, s.lowpass_cutoff)[1]))  # type: ignore[arg-type]
        g = metric.curve_geometry(curves)
        if not cache:
            common: dict[str, Any] = dict(
                eval_points=g.across_eval_points, window=g.window, lowpass_cutoff=g.lowpass_cutoff, baseline=s.baseline
            )
            if name == "risk_across_runs":
                return float(measures.risk_across_runs(curves, alpha=s.alpha, **common)[1][-1])
            points, values = measures.dispersion_across_runs(curves, **common)
            return metric.summarize_points(points, values)[0]
        if len(curves) < 2:
            raise ReliabilityInputError(f"across-run metrics need at least 2 runs, got {len(curves)}")
        matrix = np.vstack(
            [
                nearest_within_window(c[0], filtered.smooth(c, g.lowpass_cutoff), g.across_eval_points, g.window)
                for c in curves
            ]
        )
        ranges = np.array([filtered.range(c) for c in curves]) if s.baseline == "curve_range" else None
        if name == "risk_across_runs":
            return float(measures.risk_across_runs_of_matrix(matrix, s.alpha, ranges)[-1])
        values = measures.dispersion_across_runs_of_matrix(matrix, ranges)
        return metric.summarize_points(g.across_eval_points, values)[0]

    return value


def compare_run_directories(
    run_dirs: Mapping[str, Mapping[str, Sequence[str | PathLike[str]]]],
    metric_name: str,
    *,
    preset: str = "chan2020",
    n_resamples: int = 1000,
    alpha: float = 0.05,
    correction: Correction = "benjamini-yekutieli",
    seed: int = 0,
    **settings: Any,
) -> RankComparison:
    """Rank submissions on one reliability metric from ``run_dirs[submission][task] = [run directories]``.

    ``metric_name`` is a per-run name such as ``"dispersion_across_time"`` or ``"returns.mean"``, or an
    across-run name (``"dispersion_across_runs"``, ``"risk_across_runs"``). Extra keyword arguments
    override the preset, as for :class:`~a2perf_reliability.metric.ReliabilityMetric`.
    """
    metric = ReliabilityMetric(preset=preset, **settings)
    if metric_name in ACROSS_RUN_METRICS:
        curves = {
            sub: {task: [curve_from_train_log(RunRecords(d).train_log()) for d in dirs] for task, dirs in tasks.items()}
            for sub, tasks in run_dirs.items()
        }
        return compare_submissions(
            curves,
            higher_is_better=ACROSS_RUN_METRICS[metric_name],
            across_runs=True,
            metric=across_run_metric(metric, metric_name),
            n_resamples=n_resamples,
            alpha=alpha,
            correction=correction,
            seed=seed,
        )
    direction = None
    numbers: dict[str, dict[str, list[float]]] = {}
    for sub, tasks in run_dirs.items():
        numbers[sub] = {}
        for task, dirs in tasks.items():
            values = [_per_run_value(metric, RunRecords(d), metric_name) for d in dirs]
            numbers[sub][task] = [float(v.value) for v in values]  # type: ignore[arg-type]
            if values and direction is None:
                direction = values[0].direction
    if direction not in ("higher", "lower"):
        raise ReliabilityInputError(f"{metric_name} has no better direction to rank by")
    return compare_submissions(
        numbers,
        higher_is_better=direction == "higher",
        n_resamples=n_resamples,
        alpha=alpha,
        correction=correction,
        seed=seed,
    )
