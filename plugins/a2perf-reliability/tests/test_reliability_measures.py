"""Every metric pinned against values worked out by hand on small curves (see the comments)."""

from __future__ import annotations

import numpy as np
import pytest
from a2perf_reliability import measures
from a2perf_reliability.errors import ReliabilityInputError
from scipy import stats

# t = 0..5, y = [0, 1, 3, 3, 7, 8]; differences at t = 1..5: [1, 2, 0, 4, 1]
CURVE = (np.arange(6.0), np.array([0.0, 1, 3, 3, 7, 8]))
# curve range: 95th percentile of y (index 4.75 -> 7.75) minus y[0] = 7.75
CURVE_RANGE = 7.75
# drawdown of [1, 3, 2, 5, 1, 4] is [0, 0, 1, 0, 4, 1]
DRAWDOWN_CURVE = (np.arange(6.0), np.array([1.0, 3, 2, 5, 1, 4]))
# unaligned runs: compared at eval points 10 and 20 through nearest timepoints within ±2
RUNS = [([0, 10, 20], [0, 1, 2]), ([1, 11, 21], [0, 2, 4]), ([0, 9, 19], [0, 3, 6])]


def test_dispersion_across_time_in_trailing_windows():
    # windows of 3 at t = 3, 4, 5: diffs [1, 2, 0] -> IQR 1; [2, 0, 4] -> 2; [0, 4, 1] -> 2
    points, values = measures.dispersion_across_time(CURVE, window=3)
    np.testing.assert_array_equal(points, [3, 4, 5])
    np.testing.assert_allclose(values, [1, 2, 2])


def test_dispersion_across_time_normalised_by_curve_range():
    _, values = measures.dispersion_across_time(CURVE, window=3, baseline="curve_range")
    np.testing.assert_allclose(values, np.array([1, 2, 2]) / CURVE_RANGE)


def test_dispersion_across_time_with_uneven_timepoints_and_whole_run_window():
    # t = [0, 2, 3, 7], y = [0, 4, 4, 12]: slopes [2, 0, 2] -> IQR of [0, 2, 2] = 2 - 1
    points, values = measures.dispersion_across_time(([0, 2, 3, 7], [0, 4, 4, 12]))
    np.testing.assert_array_equal(points, [7])
    np.testing.assert_allclose(values, [1.0])


def test_dispersion_across_time_at_given_eval_points():
    points, values = measures.dispersion_across_time(CURVE, window=2, eval_points=[2, 5])
    # [1, 2] -> IQR 0.5; [4, 1] -> 1.5
    np.testing.assert_allclose(values, [0.5, 1.5])


def test_dispersion_across_time_window_longer_than_curve_is_an_error():
    with pytest.raises(ReliabilityInputError, match="window"):
        measures.dispersion_across_time(CURVE, window=50)


def test_short_term_risk_is_lower_cvar_of_slopes():
    # slopes [10, -6, 8, -1]: 25th percentile -2.25 -> only -6
    curve = (np.arange(5.0), np.array([0.0, 10, 4, 12, 11]))
    assert measures.short_term_risk_across_time(curve, alpha=0.25) == pytest.approx(-6.0)
    # slopes [1, 2, 0, 4, 1]: 25th percentile 1 -> mean(1, 0, 1)
    assert measures.short_term_risk_across_time(CURVE, alpha=0.25) == pytest.approx(2 / 3)
    assert measures.short_term_risk_across_time(CURVE, alpha=0.25, baseline="curve_range") == pytest.approx(
        2 / 3 / CURVE_RANGE
    )


def test_short_term_risk_uses_slopes_on_uneven_timepoints():
    # t = [0, 1, 11], y = [0, 10, 0]: slopes [10, -1]; 5th percentile -0.45 -> -1
    assert measures.short_term_risk_across_time(([0, 1, 11], [0, 10, 0]), alpha=0.05) == pytest.approx(-1.0)


def test_long_term_risk_averages_the_worst_drawdowns():
    # drawdown [0, 0, 1, 0, 4, 1]: 80th percentile 1 -> mean(1, 4, 1) = 2
    assert measures.long_term_risk_across_time(DRAWDOWN_CURVE, alpha=0.2) == pytest.approx(2.0)
    # the reference code's lower tail averages the smallest drawdowns: 20th percentile 0 -> 0
    assert measures.long_term_risk_across_time(DRAWDOWN_CURVE, alpha=0.2, drawdown_tail="lower") == 0.0
    assert measures.max_drawdown(DRAWDOWN_CURVE) == 4.0


def test_long_term_risk_normalised():
    # curve range: 95th percentile of [1, 3, 2, 5, 1, 4] (index 4.75 -> 4.75) minus 1 = 3.75
    value = measures.long_term_risk_across_time(DRAWDOWN_CURVE, alpha=0.2, baseline="curve_range")
    assert value == pytest.approx(2.0 / 3.75)


def test_median_performance_in_trailing_windows():
    points, values = measures.median_performance_during_training(CURVE, window=3)
    np.testing.assert_array_equal(points, [2, 3, 4, 5])
    np.testing.assert_allclose(values, [1, 3, 3, 7])


def test_dispersion_across_runs_with_unaligned_timepoints():
    # values at 10: [1, 2, 3] -> IQR 1; at 20: [2, 4, 6] -> IQR 2
    points, values = measures.dispersion_across_runs(RUNS, eval_points=[10, 20], window=4)
    np.testing.assert_array_equal(points, [10, 20])
    np.testing.assert_allclose(values, [1, 2])
    # curve ranges 1.9, 3.8, 5.7 -> median 3.8
    _, normalised = measures.dispersion_across_runs(RUNS, eval_points=[10, 20], window=4, baseline="curve_range")
    np.testing.assert_allclose(normalised, np.array([1, 2]) / 3.8)


def test_dispersion_across_runs_defaults_to_shared_timepoints():
    runs = [([0, 1, 2], [0, 1, 2]), ([0, 1, 2], [0, 3, 6]), ([0, 1, 2], [0, 2, 4])]
    points, values = measures.dispersion_across_runs(runs)
    np.testing.assert_array_equal(points, [0, 1, 2])
    np.testing.assert_allclose(values, [0, 1, 2])


def test_dispersion_across_runs_after_lowpass_of_constant_runs_is_their_spread():
    runs = [(np.arange(40.0), np.full(40, v)) for v in (1.0, 2.0, 3.0, 4.0)]
    _, values = measures.dispersion_across_runs(runs, eval_points=[39], lowpass_cutoff=0.01)
    np.testing.assert_allclose(values, [1.5])


def test_risk_across_runs_at_final_point():
    # final values [2, 4, 6]: 5th percentile 2.2 -> 2
    points, values = measures.risk_across_runs(RUNS, eval_points=[10, 20], window=4)
    assert values[-1] == pytest.approx(2.0)
    # each run divided by its own range: 2/1.9 = 4/3.8 = 6/5.7
    _, normalised = measures.risk_across_runs(RUNS, eval_points=[20], window=4, baseline="curve_range")
    assert normalised[-1] == pytest.approx(2 / 1.9)


def test_risk_across_runs_with_alpha_half():
    runs = [([0, 1], [0, v]) for v in (1.0, 2.0, 3.0, 4.0)]
    # 50th percentile 2.5 -> mean(1, 2)
    _, values = measures.risk_across_runs(runs, alpha=0.5)
    assert values[-1] == pytest.approx(1.5)


def test_across_run_metrics_need_two_runs():
    with pytest.raises(ReliabilityInputError, match="at least 2 runs"):
        measures.dispersion_across_runs(RUNS[:1])
    with pytest.raises(ReliabilityInputError, match="at least 2 runs"):
        measures.risk_across_runs(RUNS[:1])


def test_across_run_metrics_report_runs_too_far_from_an_eval_point():
    with pytest.raises(ReliabilityInputError, match="within ±0.5"):
        measures.dispersion_across_runs(RUNS, eval_points=[10, 20], window=1)


def test_rollout_dispersion_and_risk():
    assert measures.dispersion_across_rollouts([1, 2, 3, 4]) == pytest.approx(1.5)
    assert measures.dispersion_across_rollouts([1, 2, 3, 4], baseline="median") == pytest.approx(1.5 / 2.5)
    assert measures.dispersion_across_rollouts([1, 2, 3, 4], baseline=3.0) == pytest.approx(0.5)
    assert measures.risk_across_rollouts(np.arange(1, 11), alpha=0.25) == pytest.approx(2.0)
    assert measures.risk_across_rollouts([5.0]) == 5.0
    with pytest.raises(ReliabilityInputError, match="baseline is 0"):
        measures.dispersion_across_rollouts([-1, 0, 1], baseline="median")
    with pytest.raises(ReliabilityInputError, match="empty"):
        measures.risk_across_rollouts([])


def test_interquartile_mean_matches_trimmed_mean():
    assert measures.interquartile_mean(np.arange(1, 9)) == pytest.approx(4.5)  # mean(3, 4, 5, 6)
    assert measures.interquartile_mean([1, 2, 3, 4, 100]) == pytest.approx(3.0)  # mean(2, 3, 4)
    x = np.random.default_rng(1).normal(size=37)
    assert measures.interquartile_mean(x) == pytest.approx(stats.trim_mean(x, 0.25))


def test_return_statistics():
    result = measures.return_statistics([1.0, 2, 3, 4, 100])
    assert result == {
        "mean": 22.0,
        "std": pytest.approx(np.std([1, 2, 3, 4, 100])),
        "iqm": 3.0,
        "min": 1.0,
        "max": 100.0,
        "n": 5,
    }
    assert measures.return_statistics([2.0])["std"] == 0.0


def test_generalization_per_task_and_aggregate():
    by_task = measures.generalization_by_task(["a", "b", "a"], [1.0, 4.0, 3.0])
    assert by_task == {"a": 2.0, "b": 4.0}
    score, means = measures.generalization_aggregate([{"a": 1.0, "b": 2.0}, {"a": 3.0, "b": 6.0}])
    assert means == {"a": 2.0, "b": 4.0}
    assert score == 6.0
    with pytest.raises(ReliabilityInputError, match="at least one seed"):
        measures.generalization_aggregate([])


def test_constant_curve_gives_zero_raw_metrics_and_a_clear_error_when_normalised():
    flat = (np.arange(10.0), np.full(10, 3.0))
    _, dispersion = measures.dispersion_across_time(flat, window=4)
    np.testing.assert_array_equal(dispersion, 0.0)
    assert measures.short_term_risk_across_time(flat) == 0.0
    assert measures.long_term_risk_across_time(flat) == 0.0
    for metric in (measures.short_term_risk_across_time, measures.long_term_risk_across_time):
        with pytest.raises(ReliabilityInputError, match="curve range"):
            metric(flat, baseline="curve_range")


def test_single_point_curve_has_no_differences():
    with pytest.raises(ReliabilityInputError, match="at least 2 points"):
        measures.short_term_risk_across_time(([0], [1]))
    assert measures.long_term_risk_across_time(([0], [1])) == 0.0


def test_bad_baseline_is_named():
    with pytest.raises(ReliabilityInputError, match="baseline"):
        measures.short_term_risk_across_time(CURVE, baseline="range")  # type: ignore[arg-type]
