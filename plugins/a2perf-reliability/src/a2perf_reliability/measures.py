"""The reliability metrics of Chan et al. (2020) and the application metrics, one function each.

Per-run metrics take one curve ``(timepoints, values)``; across-run metrics take a list of curves;
rollout metrics take the per-episode returns of a fixed policy. ``baseline="curve_range"`` divides
by the curve range (95th percentile minus first value) as the paper does; ``None`` leaves values
raw, as the reference library and A2Perf do by default.

Long-term risk uses the **upper** tail of the drawdown: the paper describes the CVaR of the worst
drawdowns, whereas the reference code passes ``tail="lower"`` and so averages the *smallest*
drawdowns (usually zero). ``drawdown_tail="lower"`` reproduces that code for comparison only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

from a2perf_reliability.curves import (
    Tail,
    across_runs_matrix,
    as_curve,
    as_values,
    check_alpha,
    curve_range,
    cvar,
    differences,
    drawdown,
    iqr,
    valid_eval_points,
    window_values,
)
from a2perf_reliability.errors import ReliabilityInputError

CurveBaseline = Literal["curve_range"] | None
RolloutBaseline = Literal["median"] | float | None


def _check_curve_baseline(baseline: object) -> None:
    if baseline not in (None, "curve_range"):
        raise ReliabilityInputError(f"baseline must be None or 'curve_range', got {baseline!r}")


def _normalised(values: np.ndarray, baseline: CurveBaseline) -> np.ndarray:
    _check_curve_baseline(baseline)
    return values / curve_range(values) if baseline == "curve_range" else values


def _windowed(
    t: np.ndarray, y: np.ndarray, window: float | None, eval_points: Sequence[float] | None, statistic
) -> tuple[np.ndarray, np.ndarray]:
    if window is None:  # everything from the start of the run up to each eval point
        points = t[-1:] if eval_points is None else as_values(eval_points, "eval_points")
        return points, np.array([statistic(window_values(t, y, e, e - t[0] + 1)) for e in points])
    if not window > 0:
        raise ReliabilityInputError(f"window must be positive, got {window}")
    points = valid_eval_points([t], window) if eval_points is None else as_values(eval_points, "eval_points")
    return points, np.array([statistic(window_values(t, y, e, window)) for e in points])


# --- across time (one training run) ------------------------------------------------------------


def dispersion_across_time(
    curve: object,
    window: float | None = None,
    eval_points: Sequence[float] | None = None,
    baseline: CurveBaseline = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Dispersion across Time (DT): IQR of the differenced curve in a trailing window at each eval point.

    Returns ``(eval_points, values)``; lower is better. ``window=None`` uses everything from the start
    of the run up to each eval point (default: one value at the last point). Default eval points:
    every differenced timepoint a full window fits.
    """
    t, y = as_curve(curve)
    y = _normalised(y, baseline)
    td, dy = differences(t, y)
    return _windowed(td, dy, window, eval_points, iqr)


def short_term_risk_across_time(curve: object, alpha: float = 0.05, baseline: CurveBaseline = None) -> float:
    """Short-term Risk across Time (SRT): lower CVaR of the differenced curve; higher (less negative) is better."""
    t, y = as_curve(curve)
    y = _normalised(y, baseline)
    return cvar(differences(t, y)[1], "lower", alpha)


def long_term_risk_across_time(
    curve: object, alpha: float = 0.05, baseline: CurveBaseline = None, drawdown_tail: Tail = "upper"
) -> float:
    """Long-term Risk across Time (LRT): CVaR of the drawdown (upper tail: the worst drops); lower is better."""
    _, y = as_curve(curve)
    return cvar(drawdown(_normalised(y, baseline)), drawdown_tail, alpha)


def max_drawdown(curve: object, baseline: CurveBaseline = None) -> float:
    """The largest drop below the running peak; lower is better."""
    _, y = as_curve(curve)
    return float(np.max(drawdown(_normalised(y, baseline))))


def median_performance_during_training(
    curve: object, window: float | None = None, eval_points: Sequence[float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Median of the raw values in a trailing window at each eval point; higher is better."""
    t, y = as_curve(curve)
    return _windowed(t, y, window, eval_points, lambda x: float(np.median(x)))


# --- across runs -------------------------------------------------------------------------------


def _check_runs(curves: Sequence[object]) -> None:
    if len(curves) < 2:
        raise ReliabilityInputError(f"across-run metrics need at least 2 runs, got {len(curves)}")


def curve_ranges(curves: Sequence[object]) -> np.ndarray:
    """Each run's curve range, from the raw (unfiltered) curve."""
    return np.array([curve_range(as_curve(c, name=f"run {i}")[1]) for i, c in enumerate(curves)])


def dispersion_across_runs_of_matrix(matrix: np.ndarray, ranges: np.ndarray | None = None) -> np.ndarray:
    """IQR across runs (rows) at each eval point (column), divided by the median run range if given."""
    q25, q75 = np.percentile(np.asarray(matrix, dtype=float), [25, 75], axis=0)
    spread = q75 - q25
    return spread / float(np.median(ranges)) if ranges is not None else spread


def risk_across_runs_of_matrix(matrix: np.ndarray, alpha: float = 0.05, ranges: np.ndarray | None = None) -> np.ndarray:
    """Lower CVaR across runs (rows) at each eval point (column); each run divided by its own range if given."""
    m = np.asarray(matrix, dtype=float)
    if ranges is not None:
        m = m / np.asarray(ranges, dtype=float)[:, None]
    return np.array([cvar(m[:, j], "lower", alpha) for j in range(m.shape[1])])


def dispersion_across_runs(
    curves: Sequence[object],
    eval_points: Sequence[float] | None = None,
    window: float | None = None,
    lowpass_cutoff: float | None = None,
    baseline: CurveBaseline = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Dispersion across Runs (DR): IQR across runs at each eval point, after the optional low-pass.

    Runs are compared at each eval point through their nearest timepoint within ±window/2 (exact
    timepoints if ``window`` is None). With ``baseline="curve_range"`` the IQR is divided by the
    median of the runs' curve ranges. Returns ``(eval_points, values)``; lower is better.
    """
    _check_runs(curves)
    _check_curve_baseline(baseline)
    points, matrix = across_runs_matrix(curves, eval_points, window, lowpass_cutoff)
    ranges = curve_ranges(curves) if baseline == "curve_range" else None
    return points, dispersion_across_runs_of_matrix(matrix, ranges)


def risk_across_runs(
    curves: Sequence[object],
    alpha: float = 0.05,
    eval_points: Sequence[float] | None = None,
    window: float | None = None,
    lowpass_cutoff: float | None = None,
    baseline: CurveBaseline = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Risk across Runs (RR): lower CVaR across runs at each eval point; the last one is final performance.

    Same preprocessing as :func:`dispersion_across_runs`; with ``baseline="curve_range"`` each run
    is divided by its own range before the CVaR. Returns ``(eval_points, values)``; higher is better.
    """
    _check_runs(curves)
    _check_curve_baseline(baseline)
    check_alpha(alpha)
    points, matrix = across_runs_matrix(curves, eval_points, window, lowpass_cutoff)
    ranges = curve_ranges(curves) if baseline == "curve_range" else None
    return points, risk_across_runs_of_matrix(matrix, alpha, ranges)


#: a run whose curve range is under this many noise levels is nearly flat: of flat noisy curves
#: (100 points) 99 % fall under it, of a rise of 12 noise levels none does
FLAT_RANGE_IN_NOISE_LEVELS = 4.0


def range_in_noise_levels(curve: object) -> float:
    """A curve's range divided by its noise level (the std of its log-to-log differences / √2, the
    noise std of a curve that is white noise around a trend); ``inf`` for a noiseless curve."""
    _, y = as_curve(curve)
    if y.size < 3:
        raise ReliabilityInputError(f"a noise level needs at least 3 points, got {y.size}")
    spread = float(np.percentile(y, 95) - y[0])
    noise = float(np.std(np.diff(y))) / np.sqrt(2)
    return spread / noise if noise > 0 else (np.inf if spread > 0 else 0.0)


def nearly_flat_runs(curves: Sequence[object]) -> list[int]:
    """Indices of the runs whose rise is within their noise, so that dividing by their curve range
    (risk across runs under ``curve_range``) gives an arbitrary, often huge, number."""
    return [i for i, c in enumerate(curves) if range_in_noise_levels(c) < FLAT_RANGE_IN_NOISE_LEVELS]


# --- fixed-policy rollouts ---------------------------------------------------------------------


def _rollout_scale(returns: np.ndarray, baseline: RolloutBaseline) -> float:
    if baseline is None:
        return 1.0
    if baseline == "median":
        scale = float(np.median(returns))
    elif isinstance(baseline, (int, float)) and not isinstance(baseline, bool):
        scale = float(baseline)
    else:
        raise ReliabilityInputError(f"rollout baseline must be None, 'median' or a number, got {baseline!r}")
    if scale == 0:
        raise ReliabilityInputError("rollout baseline is 0 (median return is 0?); cannot divide by it")
    return scale


def dispersion_across_rollouts(returns: Sequence[float], baseline: RolloutBaseline = None) -> float:
    """Dispersion across Fixed-Policy Rollouts (DF): IQR of per-episode returns; lower is better."""
    x = as_values(returns, "returns")
    return iqr(x) / _rollout_scale(x, baseline)


def risk_across_rollouts(returns: Sequence[float], alpha: float = 0.05, baseline: RolloutBaseline = None) -> float:
    """Risk across Fixed-Policy Rollouts (RF): lower CVaR of per-episode returns; higher is better."""
    x = as_values(returns, "returns")
    return cvar(x / _rollout_scale(x, baseline), "lower", alpha)


# --- application metrics -----------------------------------------------------------------------


def interquartile_mean(values: Sequence[float]) -> float:
    """Mean of the middle half: drop ⌊n/4⌋ values from each end (as ``scipy.stats.trim_mean(x, 0.25)``)."""
    x = np.sort(as_values(values))
    cut = int(0.25 * x.size)
    return float(np.mean(x[cut : x.size - cut]))


def return_statistics(returns: Sequence[float]) -> dict[str, float]:
    """Mean, population std (ddof=0), interquartile mean, min and max of episode returns."""
    x = as_values(returns, "returns")
    return {
        "mean": float(np.mean(x)),
        "std": float(np.std(x)),
        "iqm": interquartile_mean(x),
        "min": float(np.min(x)),
        "max": float(np.max(x)),
        "n": int(x.size),
    }


def generalization_by_task(tasks: Sequence[str], returns: Sequence[float]) -> dict[str, float]:
    """Mean return per generalization task, from one row per episode."""
    x = as_values(returns, "returns")
    if len(tasks) != x.size:
        raise ReliabilityInputError(f"got {len(tasks)} task names for {x.size} returns")
    names = np.asarray(tasks, dtype=str)
    return {str(task): float(np.mean(x[names == task])) for task in dict.fromkeys(names.tolist())}


def generalization_aggregate(per_seed: Sequence[Mapping[str, float]]) -> tuple[float, dict[str, float]]:
    """A2Perf's generalization score: mean over seeds per task, summed over tasks.

    Returns ``(score, per_task_means)``. A task missing from some seeds is averaged over the seeds that
    have it.
    """
    if not per_seed:
        raise ReliabilityInputError("generalization aggregate needs at least one seed")
    by_task: dict[str, list[float]] = {}
    for seed in per_seed:
        for task, value in seed.items():
            by_task.setdefault(task, []).append(float(value))
    if not by_task:
        raise ReliabilityInputError("no generalization task has any episode")
    means = {task: float(np.mean(values)) for task, values in by_task.items()}
    return float(sum(means.values())), means
