"""Building blocks pinned against values computed by hand (and scipy's transfer-function filter)."""

from __future__ import annotations

import numpy as np
import pytest
from a2perf_reliability import curves
from a2perf_reliability.errors import ReliabilityInputError
from scipy import signal


def test_differences_divide_by_uneven_steps():
    t, d = curves.differences(np.array([0.0, 1, 3, 4]), np.array([0.0, 2, 2, 5]))
    np.testing.assert_array_equal(t, [1, 3, 4])
    np.testing.assert_array_equal(d, [2, 0, 3])


def test_differences_need_two_points():
    with pytest.raises(ReliabilityInputError, match="at least 2 points"):
        curves.differences(np.array([0.0]), np.array([1.0]))


def test_drawdown_is_running_peak_minus_value():
    np.testing.assert_array_equal(curves.drawdown([1, 3, 2, 5, 1, 4]), [0, 0, 1, 0, 4, 1])


def test_cvar_tails_on_one_to_ten():
    x = np.arange(1, 11)
    # 25th percentile = 3.25 -> mean(1, 2, 3); 75th = 7.75 -> mean(8, 9, 10)
    assert curves.cvar(x, "lower", 0.25) == pytest.approx(2.0)
    assert curves.cvar(x, "upper", 0.25) == pytest.approx(9.0)
    # 5th percentile = 1.45 -> only the minimum
    assert curves.cvar(x, "lower", 0.05) == pytest.approx(1.0)


def test_cvar_rejects_bad_tail_and_alpha():
    with pytest.raises(ReliabilityInputError, match="tail"):
        curves.cvar([1, 2], "middle", 0.1)  # type: ignore[arg-type]
    with pytest.raises(ReliabilityInputError, match="alpha"):
        curves.cvar([1, 2], "lower", 0.0)
    with pytest.raises(ReliabilityInputError, match="empty"):
        curves.cvar([], "lower", 0.1)


def test_iqr_interpolates_linearly():
    assert curves.iqr([1, 2, 3, 4]) == pytest.approx(3.25 - 1.75)
    assert curves.iqr([7]) == 0.0


def test_curve_range_is_p95_minus_first():
    # 95th percentile of [2, 4, 6, 8, 10]: index 3.8 -> 9.6
    assert curves.curve_range([2, 4, 6, 8, 10]) == pytest.approx(7.6)


def test_curve_range_of_flat_or_falling_curve_is_an_error():
    with pytest.raises(ReliabilityInputError, match="curve range"):
        curves.curve_range([3, 3, 3])
    with pytest.raises(ReliabilityInputError, match="curve range"):
        curves.curve_range([5, 4, 3])


def test_lowpass_matches_transfer_function_filtfilt_where_that_is_accurate():
    y = np.sin(np.linspace(0, 20, 200)) + np.linspace(0, 1, 200)
    b, a = signal.butter(8, 0.3)
    expected = signal.filtfilt(b, a, y, padlen=27)
    np.testing.assert_allclose(curves.lowpass(y, 0.3), expected, atol=1e-9)


def test_lowpass_keeps_constants_and_removes_nyquist_oscillation():
    np.testing.assert_allclose(curves.lowpass(np.full(50, 4.0), 0.01), 4.0)
    alternating = np.tile([1.0, -1.0], 500)
    assert np.max(np.abs(curves.lowpass(alternating, 0.1)[200:-200])) < 1e-4  # edges carry the padding transient


def test_lowpass_cutoff_must_be_below_nyquist():
    with pytest.raises(ReliabilityInputError, match="Nyquist"):
        curves.lowpass([1.0, 2.0, 3.0], 1.0)


def test_window_values_is_closed_trailing_window():
    t = np.array([0.0, 10, 20, 30])
    y = np.array([1.0, 2, 3, 4])
    np.testing.assert_array_equal(curves.window_values(t, y, 20, 15), [2, 3])
    np.testing.assert_array_equal(curves.window_values(t, y, 20, 11), [2, 3])  # [10, 20]
    np.testing.assert_array_equal(curves.window_values(t, y, 20, 10), [3])  # [11, 20]
    with pytest.raises(ReliabilityInputError, match="no point"):
        curves.window_values(t, y, 25, 4)


def test_valid_eval_points_need_a_full_window_and_shared_timepoints():
    points = curves.valid_eval_points([np.array([0.0, 10, 20, 30]), np.array([0.0, 10, 20, 30, 40])], 15)
    np.testing.assert_array_equal(points, [20, 30])
    np.testing.assert_array_equal(curves.valid_eval_points([np.array([0.0, 5])], None), [5])
    with pytest.raises(ReliabilityInputError, match="longer than the curves"):
        curves.valid_eval_points([np.array([0.0, 1, 2])], 10)
    with pytest.raises(ReliabilityInputError, match="share no timepoint"):
        curves.valid_eval_points([np.array([0.0, 1]), np.array([0.5, 1.5])], 1)


def test_nearest_within_window_handles_unaligned_runs():
    t = np.array([0.0, 10, 20])
    y = np.array([1.0, 2, 3])
    np.testing.assert_array_equal(curves.nearest_within_window(t, y, np.array([4.0, 16, 25]), 10), [1, 3, 3])
    assert curves.nearest_within_window(t, y, np.array([5.0]), 10)[0] == 1  # a tie takes the earlier point
    with pytest.raises(ReliabilityInputError, match="within ±5"):
        curves.nearest_within_window(t, y, np.array([26.0]), 10)
    with pytest.raises(ReliabilityInputError, match="within ±0"):
        curves.nearest_within_window(t, y, np.array([11.0]), None)


def test_across_runs_matrix_lines_up_unaligned_runs():
    runs = [([0, 10, 20], [0, 1, 2]), ([1, 11, 21], [0, 2, 4]), ([0, 9, 19], [0, 3, 6])]
    points, matrix = curves.across_runs_matrix(runs, np.array([10.0, 20]), window=4)
    np.testing.assert_array_equal(points, [10, 20])
    np.testing.assert_array_equal(matrix, [[1, 2], [2, 4], [3, 6]])


def test_as_curve_rejects_malformed_curves():
    with pytest.raises(ReliabilityInputError, match="strictly increasing"):
        curves.as_curve(([0, 2, 1], [1, 2, 3]))
    with pytest.raises(ReliabilityInputError, match="equal length"):
        curves.as_curve(([0, 1], [1, 2, 3]))
    with pytest.raises(ReliabilityInputError, match="NaN"):
        curves.as_curve(([0, 1], [1, np.nan]))
    with pytest.raises(ReliabilityInputError, match="empty"):
        curves.as_curve(([], []))
    t, y = curves.as_curve(np.array([[0, 1], [5, 6]]))
    np.testing.assert_array_equal(y, [5, 6])


def test_timeframe_medians_split_beginning_middle_end():
    assert curves.timeframe_medians(np.arange(1, 10), 3) == [2, 5, 8]
    assert curves.timeframe_medians(np.array([4.0]), 3) == [4]
