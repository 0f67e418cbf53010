"""Building blocks of the reliability metrics (Chan et al., 2020), as plain functions on arrays.

A *curve* is a pair ``(timepoints, values)`` of equal-length 1-D arrays (or a 2×T array), with
strictly increasing timepoints, e.g. global env steps against episode returns. Everything here is
pure numpy/scipy so that each number the metrics report comes from one small, tested function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from a2perf_reliability.errors import ReliabilityInputError

Tail = Literal["lower", "upper"]

#: a Butterworth filter of this order is what the paper's code applies
BUTTERWORTH_ORDER = 8


def as_curve(curve: object, name: str = "curve") -> tuple[np.ndarray, np.ndarray]:
    """Validate a curve once at the boundary and return ``(timepoints, values)`` as float arrays."""
    try:
        t, y = (np.asarray(row, dtype=float) for row in curve)  # type: ignore[attr-defined]
    except (TypeError, ValueError) as exc:
        raise ReliabilityInputError(f"{name} must be a pair (timepoints, values) of numbers: {exc}") from None
    if t.ndim != 1 or y.ndim != 1 or t.shape != y.shape:
        raise ReliabilityInputError(
            f"{name} must have 1-D timepoints and values of equal length, got shapes {t.shape} and {y.shape}"
        )
    if t.size == 0:
        raise ReliabilityInputError(f"{name} is empty")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(y))):
        raise ReliabilityInputError(f"{name} contains NaN or infinite numbers")
    if np.any(np.diff(t) <= 0):
        raise ReliabilityInputError(f"{name} timepoints must be strictly increasing")
    return t, y


def as_values(values: object, name: str = "values") -> np.ndarray:
    """Validate a non-empty 1-D array of finite numbers."""
    try:
        x = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ReliabilityInputError(f"{name} must be numbers: {exc}") from None
    if x.ndim != 1:
        raise ReliabilityInputError(f"{name} must be 1-D, got shape {x.shape}")
    if x.size == 0:
        raise ReliabilityInputError(f"{name} is empty")
    if not np.all(np.isfinite(x)):
        raise ReliabilityInputError(f"{name} contains NaN or infinite numbers")
    return x


def differences(timepoints: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slope between consecutive points, ``(y_i - y_{i-1}) / (t_i - t_{i-1})``, placed at ``t_i``.

    Dividing by the step makes the result independent of how often (or how unevenly) the curve was
    logged; a curve of n points gives n - 1 differences.
    """
    t = np.asarray(timepoints, dtype=float)
    y = np.asarray(values, dtype=float)
    if t.size < 2:
        raise ReliabilityInputError(f"differencing needs at least 2 points, got {t.size}")
    return t[1:], np.diff(y) / np.diff(t)


def drawdown(values: np.ndarray) -> np.ndarray:
    """Running peak minus the current value (always >= 0): how far the curve is below its best so far."""
    y = np.asarray(values, dtype=float)
    return np.maximum.accumulate(y) - y


def cvar(values: np.ndarray, tail: Tail = "lower", alpha: float = 0.05) -> float:
    """Conditional value at risk: the mean of the values in one alpha-tail.

    Lower tail: mean of the values <= the alpha-quantile; upper tail: mean of the values >= the
    (1 - alpha)-quantile. Quantiles interpolate linearly between order statistics.
    """
    x = as_values(values)
    check_alpha(alpha)
    # a quantile that lands on a data value must include it despite rounding in the interpolation
    slack = 1e-12 * max(1.0, float(np.max(np.abs(x))))
    if tail == "lower":
        threshold = np.percentile(x, 100 * alpha)
        return float(np.mean(x[x <= threshold + slack]))
    if tail == "upper":
        threshold = np.percentile(x, 100 * (1 - alpha))
        return float(np.mean(x[x >= threshold - slack]))
    raise ReliabilityInputError(f"tail must be 'lower' or 'upper', got {tail!r}")


def check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ReliabilityInputError(f"alpha must be between 0 and 1 (exclusive), got {alpha}")


def iqr(values: np.ndarray) -> float:
    """Interquartile range ``Q75 - Q25`` with linear interpolation."""
    x = as_values(values)
    q25, q75 = np.percentile(x, [25, 75])
    return float(q75 - q25)


def curve_range(values: np.ndarray) -> float:
    """The scale a curve is normalised by: its 95th percentile minus its first value.

    A curve that never rises above its start has no range; normalising it is undefined, so this
    raises instead of dividing by zero.
    """
    y = as_values(values)
    spread = float(np.percentile(y, 95) - y[0])
    if not spread > 0:
        raise ReliabilityInputError(
            f"curve range (95th percentile minus first value) is {spread:g}, not positive: the curve does not "
            "rise, so curve-range normalisation is undefined; use baseline=None for this curve"
        )
    return spread


def lowpass(values: np.ndarray, cutoff: float) -> np.ndarray:
    """Smooth a curve with an 8th-order Butterworth low-pass run forward and backward (zero phase).

    ``cutoff`` is normalised so that 1 is the Nyquist frequency. The filter is designed as
    second-order sections: the same filter as the paper's transfer-function form, but numerically
    stable at the small cutoffs (0.01) the paper uses. Padding follows the paper's code:
    ``min(n - 1, 3 * (order + 1))`` points reflected at each end.
    """
    from scipy import signal

    y = as_values(values)
    if not 0 < cutoff < 1:
        raise ReliabilityInputError(f"low-pass cutoff must be between 0 and 1 (1 = Nyquist), got {cutoff}")
    if y.size < 2:
        return y.copy()
    sections = signal.butter(BUTTERWORTH_ORDER, cutoff, output="sos")
    padlen = min(y.size - 1, 3 * (BUTTERWORTH_ORDER + 1))
    return np.asarray(signal.sosfiltfilt(sections, y, padlen=padlen), dtype=float)


def window_values(timepoints: np.ndarray, values: np.ndarray, end: float, window: float) -> np.ndarray:
    """The values in the trailing closed window ``[end - window + 1, end]`` (timepoint units)."""
    t = np.asarray(timepoints, dtype=float)
    inside = (t >= end - window + 1) & (t <= end)
    if not np.any(inside):
        raise ReliabilityInputError(
            f"the window [{end - window + 1:g}, {end:g}] contains no point of the curve; "
            "use a larger window or evaluation points where the curve was logged"
        )
    return np.asarray(values, dtype=float)[inside]


def common_timepoints(timepoints: Sequence[np.ndarray]) -> np.ndarray:
    """The timepoints every curve was logged at."""
    common = np.asarray(timepoints[0], dtype=float)
    for t in timepoints[1:]:
        common = np.intersect1d(common, np.asarray(t, dtype=float))
    if common.size == 0:
        raise ReliabilityInputError(
            "the curves share no timepoint; give explicit evaluation points and a window to compare them"
        )
    return common


def valid_eval_points(timepoints: Sequence[np.ndarray], window: float | None) -> np.ndarray:
    """Timepoints shared by all curves at which a full trailing window fits.

    With ``window=None`` (the whole run) there is one evaluation point: the last shared timepoint.
    """
    common = common_timepoints(timepoints)
    if window is None:
        return common[-1:]
    valid = common[common >= common[0] + window - 1]
    if valid.size == 0:
        raise ReliabilityInputError(
            f"window {window:g} is longer than the curves ({common[-1] - common[0] + 1:g} timepoint units); "
            "use a smaller window"
        )
    return valid


def nearest_within_window(
    timepoints: np.ndarray, values: np.ndarray, eval_points: np.ndarray, window: float | None
) -> np.ndarray:
    """Each eval point's value at the curve's nearest timepoint, which must lie within ±window/2.

    This is how runs logged at different timepoints are compared. With ``window=None`` the
    timepoints must match exactly.
    """
    t = np.asarray(timepoints, dtype=float)
    y = np.asarray(values, dtype=float)
    e = np.asarray(eval_points, dtype=float)
    right = np.clip(np.searchsorted(t, e), 1, t.size - 1) if t.size > 1 else np.zeros(e.shape, dtype=int)
    left = np.maximum(right - 1, 0)
    nearest = np.where(np.abs(t[left] - e) <= np.abs(t[right] - e), left, right)
    distance = np.abs(t[nearest] - e)
    tolerance = 0.0 if window is None else window / 2
    too_far = distance > tolerance
    if np.any(too_far):
        bad = e[too_far][0]
        raise ReliabilityInputError(
            f"no timepoint of a curve lies within ±{tolerance:g} of eval point {bad:g} "
            f"(nearest is {distance[too_far][0]:g} away); runs must be logged at least once per window"
        )
    return y[nearest]


def across_runs_matrix(
    curves: Sequence[object],
    eval_points: np.ndarray | None = None,
    window: float | None = None,
    lowpass_cutoff: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Prepare runs for across-run metrics: optional low-pass, then each run's value at each eval point.

    Returns ``(eval_points, matrix)`` with ``matrix`` of shape (runs, eval points). Default eval
    points are the timepoints all runs share.
    """
    parsed = [as_curve(c, name=f"run {i}") for i, c in enumerate(curves)]
    if eval_points is None:
        points = common_timepoints([t for t, _ in parsed])
    else:
        points = as_values(eval_points, name="eval_points")
    rows = []
    for t, y in parsed:
        smooth = y if lowpass_cutoff is None else lowpass(y, lowpass_cutoff)
        rows.append(nearest_within_window(t, smooth, points, window))
    return points, np.vstack(rows)


def timeframe_medians(values: np.ndarray, n_timeframes: int = 3) -> list[float]:
    """Split per-eval-point values into consecutive timeframes (beginning, middle, end, ...) and take
    each one's median, as the paper reports them."""
    x = as_values(values)
    if n_timeframes < 1:
        raise ReliabilityInputError(f"n_timeframes must be at least 1, got {n_timeframes}")
    chunks = [c for c in np.array_split(x, n_timeframes) if c.size]
    return [float(np.median(c)) for c in chunks]
