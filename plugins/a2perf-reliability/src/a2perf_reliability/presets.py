"""Parameter sets for the reliability metrics: the paper's (``chan2020``) and A2Perf's (``a2perf``).

The paper evaluated 2M-step runs logged every 1000 steps at 20 eval points (50k, 150k, ... 1.95M)
with 100k-step windows (99k within runs, as differencing drops one logging step), a low-pass
cutoff of 0.01 and curve-range normalisation, and reported 3 timeframes by their median. The
``chan2020`` preset scales those windows and eval points to the length of the runs at hand, and the
cutoff to their number of points (0.01 on a 2000-point curve keeps the same share of the spectrum
as 0.2 on a 100-point curve; unscaled, it flattens a short curve to a constant). One deliberate
change: the eval points sit at the *end* of each of the 20 segments (100k, 200k, ... 2M) rather than
their middle, because a trailing window at the paper's first point (50k) is half empty, and on a
short run logged once per episode it holds no point at all; the last eval point is then the end
of training, which is what "final performance" means for risk across runs.

``a2perf`` is A2Perf's own analysis code (``a2perf/analysis/reliability.py``), which does not use the
reference library: raw differences, centred windows of 5 median logging steps, a low-pass of 0.01
for dispersion across runs only, each run's last value for risk across runs, no normalisation, and
per-run values pooled over all seeds (see :mod:`a2perf_reliability.a2perf_measures`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import attrs
import numpy as np

from a2perf_reliability.errors import ReliabilityInputError

PRESETS = ("chan2020", "a2perf")


@attrs.frozen
class ReliabilitySettings:
    """Every parameter of the reliability metrics; build one with :func:`preset_settings`."""

    preset: str
    #: whose definitions compute the metrics: ``"reference"`` (the reference library's, with these
    #: parameters) or ``"a2perf"`` (A2Perf's analysis code; of the parameters below it uses ``alpha``,
    #: ``lowpass_cutoff`` for dispersion across runs and ``window_logging_multiple``)
    analysis: Literal["reference", "a2perf"] = "reference"
    alpha: float = 0.05
    #: ``"curve_range"`` or None, for DT, SRT, LRT, DR and RR
    baseline: Literal["curve_range"] | None = None
    #: Butterworth cutoff (1 = Nyquist) for the across-run metrics; None: no filter
    lowpass_cutoff: float | None = None
    #: the cutoff applies to curves of this many points and scales as reference/n for shorter ones
    lowpass_reference_points: int | None = None
    #: evenly spaced eval points over the run (segment ends); None: every valid timepoint
    n_eval_points: int | None = None
    #: at most one eval point per this many logged points, so each window holds several (the paper's
    #: windows held 100 points; a short run logged once per episode cannot have 20 such windows)
    min_points_per_window: int = 1
    #: window as a share of the run length (chan2020: 1/20)
    window_fraction: float | None = None
    #: window as a multiple of the median logging interval (a2perf: 5)
    window_logging_multiple: float | None = None
    #: within-run windows shrink by one logging interval, as differencing drops one point
    trim_within_window: bool = False
    n_timeframes: int = 3
    #: ``"timeframe_median"`` (median per timeframe, headline = median over eval points) or
    #: ``"pooled_mean"`` (mean and std over all values pooled)
    summary: Literal["timeframe_median", "pooled_mean"] = "timeframe_median"
    drawdown_tail: Literal["upper", "lower"] = "upper"
    #: None, ``"median"`` or a number, for the rollout metrics
    rollout_baseline: Literal["median"] | float | None = None

    def __attrs_post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ReliabilityInputError(f"alpha must be between 0 and 1, got {self.alpha}")
        if self.baseline not in (None, "curve_range"):
            raise ReliabilityInputError(f"baseline must be None or 'curve_range', got {self.baseline!r}")
        if self.drawdown_tail not in ("upper", "lower"):
            raise ReliabilityInputError(f"drawdown_tail must be 'upper' or 'lower', got {self.drawdown_tail!r}")
        if self.analysis not in ("reference", "a2perf"):
            raise ReliabilityInputError(f"analysis must be 'reference' or 'a2perf', got {self.analysis!r}")
        if self.analysis == "a2perf" and self.lowpass_cutoff is None:
            raise ReliabilityInputError("A2Perf's analysis low-passes dispersion across runs: set lowpass_cutoff")
        if self.summary not in ("timeframe_median", "pooled_mean"):
            raise ReliabilityInputError(f"summary must be 'timeframe_median' or 'pooled_mean', got {self.summary!r}")
        if (self.window_fraction is None) == (self.window_logging_multiple is None):
            raise ReliabilityInputError("set exactly one of window_fraction and window_logging_multiple")


_PRESET_VALUES: dict[str, dict[str, object]] = {
    "chan2020": dict(
        baseline="curve_range",
        lowpass_cutoff=0.01,
        lowpass_reference_points=2000,
        n_eval_points=20,
        window_fraction=1 / 20,
        trim_within_window=True,
        min_points_per_window=5,
        summary="timeframe_median",
    ),
    "a2perf": dict(
        analysis="a2perf",
        baseline=None,
        lowpass_cutoff=0.01,
        n_eval_points=None,
        window_logging_multiple=5.0,
        summary="pooled_mean",
    ),
}


def preset_settings(preset: str = "chan2020", **overrides: object) -> ReliabilitySettings:
    """The settings of a preset with some parameters replaced; ``None`` overrides are ignored and
    ``baseline="none"`` turns normalisation off."""
    if preset not in _PRESET_VALUES:
        raise ReliabilityInputError(f"unknown reliability preset {preset!r}; choose one of {', '.join(PRESETS)}")
    values = dict(_PRESET_VALUES[preset])
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in attrs.fields_dict(ReliabilitySettings):
            raise ReliabilityInputError(f"unknown reliability parameter {key!r}")
        values[key] = None if value == "none" else value
    if overrides.get("window_fraction") is not None:
        values["window_logging_multiple"] = None
    elif overrides.get("window_logging_multiple") is not None:
        values["window_fraction"] = None
    return ReliabilitySettings(preset=preset, **values)  # type: ignore[arg-type]


@attrs.frozen
class Geometry:
    """Where and over what span the metrics look at a set of runs."""

    #: eval points for per-run windowed metrics (None: every valid timepoint)
    eval_points: np.ndarray | None
    #: window for across-run matching and median performance
    window: float
    #: window for dispersion across time (differenced curves)
    within_window: float
    #: eval points for across-run metrics
    across_eval_points: np.ndarray
    lowpass_cutoff: float | None


def median_logging_interval(timepoints: Sequence[np.ndarray]) -> float:
    """The median step between consecutive log rows, pooled over runs."""
    steps = np.concatenate([np.diff(np.asarray(t, dtype=float)) for t in timepoints])
    if steps.size == 0:
        raise ReliabilityInputError("a curve needs at least 2 logged points to have a logging interval")
    return float(np.median(steps))


def geometry(settings: ReliabilitySettings, timepoints: Sequence[np.ndarray]) -> Geometry:
    """Scale the preset's windows and eval points to these runs (one run for per-run metrics)."""
    if not timepoints:
        raise ReliabilityInputError("no runs to evaluate")
    interval = median_logging_interval(timepoints)
    start = max(float(t[0]) for t in timepoints)
    end = min(float(t[-1]) for t in timepoints)
    if end <= start:
        raise ReliabilityInputError("the runs do not overlap in time")
    n_points = min(len(t) for t in timepoints)
    if settings.window_fraction is not None:
        n_eval = settings.n_eval_points or max(1, round(1 / settings.window_fraction))
        n_eval = max(1, min(n_eval, (n_points - 1) // max(1, settings.min_points_per_window)))
        window = end * settings.window_fraction * (settings.n_eval_points or n_eval) / n_eval
        eval_points = (np.arange(n_eval) + 1.0) * end / n_eval
        across = eval_points
    else:
        window = float(settings.window_logging_multiple) * interval  # type: ignore[arg-type]
        eval_points = None
        across = np.arange(start + window, end + 0.5 * interval, window)
        if across.size == 0:
            across = np.array([end])
    if settings.n_eval_points is not None and settings.window_fraction is None:
        eval_points = np.linspace(start + window, end, settings.n_eval_points)
        across = eval_points
    within = window - interval if settings.trim_within_window and window > interval else window
    cutoff = settings.lowpass_cutoff
    if cutoff is not None and settings.lowpass_reference_points and n_points < settings.lowpass_reference_points:
        cutoff = min(0.99, cutoff * settings.lowpass_reference_points / n_points)
    return Geometry(eval_points, window, within, np.asarray(across, dtype=float), cutoff)
