"""The reliability metrics as A2Perf's own analysis computes them (``a2perf/analysis/reliability.py``).

A2Perf does not call the reference library: it has its own definitions, which the ``a2perf``
preset reproduces exactly (to floating-point rounding) so that its numbers can be compared with
A2Perf's published ones. Where they differ from the paper (Chan et al., 2020):

- **Differences are raw**, ``y_i - y_{i-1}`` at ``t_i``, not divided by the logging step.
- **Dispersion across time** uses *centred* windows ``[ceil(e - W/2), floor(e + W/2)]`` with
  ``W = int(5 · median logging step)``, at eval points ``ceil(W/2), ceil(W/2) + step, ...`` below
  the last step (``step = int(median logging step)``); a window needs 2 differences. The IQRs of
  all windows of all seeds are pooled into a mean and a population std.
- **Short-term risk** is the lower CVaR of the raw differences of all seeds pooled, **negated**
  (a positive loss: lower is better).
- **Long-term risk** is the upper CVaR (the worst 5 %) of the drawdowns of all seeds pooled.
- **Dispersion across runs** low-passes each curve at 0.01 (the transfer-function form of the
  8th-order Butterworth filter, unnormalised), groups the runs by *exact* step, and takes the IQR
  at each step logged by more than 2 runs; an IQR of 0 is dropped. Mean and sample std (ddof 1).
- **Risk across runs** is the lower CVaR of each run's last logged value (no filter).
- **Rollouts**: the episode returns of all seeds are pooled before the IQR and the lower CVaR.

CVaRs here keep the values on the threshold's side of ``numpy.percentile`` (linear) with no slack,
as A2Perf does. Every function takes curves ``(timepoints, values)`` validated by
:func:`a2perf_reliability.curves.as_curve`; timepoints are env steps (whole numbers).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from a2perf_reliability.curves import BUTTERWORTH_ORDER, as_curve, as_values, check_alpha, drawdown, iqr
from a2perf_reliability.errors import ReliabilityInputError

#: A2Perf's low-pass cutoff for dispersion across runs (1 = Nyquist)
LOWPASS_CUTOFF = 0.01
#: A2Perf's window for dispersion across time, in median logging steps
POINTS_PER_WINDOW = 5
#: A2Perf takes an IQR across runs only where more than this many runs share a step
MIN_RUNS_PER_STEP = 2


def _curves(curves: Sequence[object]) -> list[tuple[np.ndarray, np.ndarray]]:
    parsed = [as_curve(c, name=f"run {i}") for i, c in enumerate(curves)]
    if not parsed:
        raise ReliabilityInputError("no runs to evaluate")
    for i, (t, _) in enumerate(parsed):
        if not np.all(t == np.round(t)):
            raise ReliabilityInputError(f"run {i}: A2Perf's windows need whole-number steps")
    return parsed


def lower_cvar(values: np.ndarray, alpha: float = 0.05) -> float:
    """Mean of the values <= the alpha-percentile (linear), as A2Perf computes it."""
    x = as_values(values)
    check_alpha(alpha)
    return float(np.mean(x[x <= np.percentile(x, 100 * alpha)]))


def upper_cvar(values: np.ndarray, alpha: float = 0.05) -> float:
    """Mean of the values >= the (1 - alpha)-percentile (linear), as A2Perf computes it."""
    x = as_values(values)
    check_alpha(alpha)
    return float(np.mean(x[x >= np.percentile(x, 100 * (1 - alpha))]))


def lowpass_transfer_function(values: np.ndarray, cutoff: float = LOWPASS_CUTOFF) -> np.ndarray:
    """A2Perf's low-pass: ``butter(8, cutoff)`` as a transfer function (b, a), run by ``filtfilt`` with
    ``padlen = min(n - 1, 27)``. At a cutoff of 0.01 this form is numerically inaccurate (the
    ``chan2020`` preset uses second-order sections); reproduced as is."""
    from scipy import signal

    y = as_values(values)
    if not 0 < cutoff < 1:
        raise ReliabilityInputError(f"low-pass cutoff must be between 0 and 1 (1 = Nyquist), got {cutoff}")
    b, a = signal.butter(BUTTERWORTH_ORDER, cutoff)
    padlen = min(y.size - 1, 3 * max(len(a), len(b)))
    return np.asarray(signal.filtfilt(b, a, y, padlen=padlen), dtype=float)


def dispersion_across_runs(curves: Sequence[object], cutoff: float = LOWPASS_CUTOFF) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, IQRs)`` across runs of the low-passed curves at each step more than 2 runs logged;
    A2Perf reports their mean and sample std."""
    parsed = _curves(curves)
    by_step: dict[float, list[float]] = {}
    for t, y in parsed:
        for step, value in zip(t, lowpass_transfer_function(y, cutoff), strict=True):
            by_step.setdefault(float(step), []).append(float(value))
    steps, spreads = [], []
    for step in sorted(by_step):
        if len(by_step[step]) > MIN_RUNS_PER_STEP:
            spread = iqr(np.array(by_step[step]))
            if spread:  # A2Perf keeps a window only if its IQR is truthy
                steps.append(step)
                spreads.append(spread)
    if not steps:
        raise ReliabilityInputError(
            f"no step is logged by more than {MIN_RUNS_PER_STEP} runs (with a nonzero spread): A2Perf compares "
            "runs only at identical steps; use the chan2020 preset for runs logged at different steps"
        )
    return np.array(steps), np.array(spreads)


def dispersion_across_time_of_run(
    curve: object, points_per_window: float = POINTS_PER_WINDOW
) -> tuple[np.ndarray, np.ndarray]:
    """One run's ``(eval points, IQRs)`` of raw differences in A2Perf's centred windows."""
    ((t, y),) = _curves([curve])
    if t.size < 3:
        raise ReliabilityInputError(f"a training curve has {t.size} logged points; at least 3 are needed")
    median_step = float(np.median(np.diff(t)))
    window = int(points_per_window * median_step)
    stride = int(median_step)
    if stride < 1 or window < 1:
        raise ReliabilityInputError(f"the median logging step ({median_step:g}) is below one step")
    steps, diffs = t[1:], np.diff(y)
    points, spreads = [], []
    for point in range(int(np.ceil(window / 2)), int(t[-1]), stride):
        inside = (steps >= np.ceil(point - window / 2)) & (steps <= np.floor(point + window / 2))
        if np.count_nonzero(inside) >= 2:
            points.append(point)
            spreads.append(iqr(diffs[inside]))
    return np.array(points, dtype=float), np.array(spreads, dtype=float)


def dispersion_across_time(
    curves: Sequence[object], points_per_window: float = POINTS_PER_WINDOW
) -> tuple[float, float, int]:
    """``(mean, population std, number of windows)`` of the window IQRs of all runs pooled."""
    spreads = np.concatenate([dispersion_across_time_of_run(c, points_per_window)[1] for c in curves])
    if spreads.size == 0:
        raise ReliabilityInputError("no window holds 2 differences: the runs are too short for A2Perf's windows")
    return float(np.mean(spreads)), float(np.std(spreads)), int(spreads.size)


def short_term_risk(curves: Sequence[object], alpha: float = 0.05) -> float:
    """Negated lower CVaR of the raw differences of all runs pooled: the expected worst drop per log
    step, as a positive number (lower is better)."""
    diffs = [np.diff(y) for _, y in _curves(curves)]
    pooled = np.concatenate(diffs)
    if pooled.size == 0:
        raise ReliabilityInputError("differencing needs at least 2 points per run")
    return -lower_cvar(pooled, alpha)


def long_term_risk(curves: Sequence[object], alpha: float = 0.05) -> float:
    """Upper CVaR of the drawdowns of all runs pooled (lower is better)."""
    return upper_cvar(np.concatenate([drawdown(y) for _, y in _curves(curves)]), alpha)


def risk_across_runs(curves: Sequence[object], alpha: float = 0.05) -> tuple[float, np.ndarray]:
    """``(lower CVaR, the runs' last values)``: A2Perf's final performance is each run's last value."""
    finals = np.array([y[-1] for _, y in _curves(curves)])
    return lower_cvar(finals, alpha), finals


def _pooled(rollouts: Sequence[Sequence[float]]) -> np.ndarray:
    if not rollouts:
        raise ReliabilityInputError("no rollouts to evaluate")
    return np.concatenate([as_values(r, f"rollouts of run {i}") for i, r in enumerate(rollouts)])


def dispersion_across_rollouts(rollouts: Sequence[Sequence[float]]) -> float:
    """IQR of the episode returns of all runs pooled."""
    return iqr(_pooled(rollouts))


def risk_across_rollouts(rollouts: Sequence[Sequence[float]], alpha: float = 0.05) -> float:
    """Lower CVaR of the episode returns of all runs pooled."""
    return lower_cvar(_pooled(rollouts), alpha)
