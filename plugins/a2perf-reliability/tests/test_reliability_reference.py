"""Agreement with the expected values published in the reference library's own tests.

Source: google-research/rl-reliability-metrics, ``metrics/metrics_online_test.py`` and
``metrics/metrics_offline_test.py`` (expected numbers only). Cases with a numeric baseline for
curves are left out: here curves are normalised by their curve range or not at all.
"""

from __future__ import annotations

import numpy as np
import pytest
from a2perf_reliability import measures

# the two curves of the reference's CVaR test: uneven timepoints, and one with a drawdown
CVAR_CURVES = [(np.array([1.0, 2, 4, 5]), np.array([1.0, 2, 3, 4])), (np.arange(4.0), np.array([0.3, 0.1, -0.5, 1]))]
# the three curves of the within-run tests: flat, rising, falling (uneven)
WITHIN_CURVES = [([5, 7, 9], [1, 1, 1]), ([5, 7, 9, 11], [2, 3, 4, 5]), ([5, 7, 9, 10], [5, 4, 2, 1])]


def test_short_term_risk_matches_reference():
    values = [measures.short_term_risk_across_time(c, alpha=0.51) for c in CVAR_CURVES]
    np.testing.assert_allclose(values, [0.8333333, -0.4], rtol=1e-6)


def test_drawdown_tails_match_reference():
    upper = [measures.long_term_risk_across_time(c, alpha=0.25) for c in CVAR_CURVES]
    np.testing.assert_allclose(upper, [0, 0.8])
    lower = [measures.long_term_risk_across_time(c, alpha=0.51, drawdown_tail="lower") for c in CVAR_CURVES]
    np.testing.assert_allclose(lower, [0, 0])


def test_risk_across_runs_matches_reference():
    # shared timepoints 1 and 2
    points, values = measures.risk_across_runs(CVAR_CURVES, alpha=0.51)
    np.testing.assert_array_equal(points, [1, 2])
    np.testing.assert_allclose(values, [0.1, -0.5])


def test_dispersion_across_runs_matches_reference():
    curves = [([-1, 0, 1], [1.0, 1, 1]), ([-1, 0, 1, 2], [2.0, 3, 4, 5])]
    _, values = measures.dispersion_across_runs(curves, eval_points=[0, 1])
    np.testing.assert_allclose(values, [1, 1.5])


@pytest.mark.parametrize(("eval_points", "window", "expected"), [([9], 3, [0, 0, 0.25]), (None, None, [0, 0, 0.25])])
def test_dispersion_across_time_matches_reference(eval_points, window, expected):
    values = [measures.dispersion_across_time(c, window=window, eval_points=eval_points)[1][0] for c in WITHIN_CURVES]
    np.testing.assert_allclose(values, expected)


@pytest.mark.parametrize(
    ("curve", "expected"),
    [
        ([1, 2, 3, 4], 0),
        ([-1, -2, -3, -4, -5], 4),
        ([1, 3, 2, 1.2], 1.8),
        ([5, 5, 3, 6, 5], 2),
        ([100, 150, 90, 120, 80, 200], 70),
    ],
)
def test_max_drawdown_matches_reference(curve, expected):
    assert measures.max_drawdown((np.arange(len(curve)), curve)) == pytest.approx(expected)


def test_median_performance_matches_reference():
    _, values = measures.median_performance_during_training(
        ([101, 201, 301, 401], [1, 2, 3, 4]), window=1, eval_points=[101, 401]
    )
    np.testing.assert_allclose(values, [1, 4])
    falling = ([1, 1001, 2001, 3001, 4001], [-1, -2, -3, -4, -5])
    rising = ([1, 1001, 2001, 3001], [1, 3, 2, 1.2])
    medians = [
        measures.median_performance_during_training(c, window=1001, eval_points=[1001, 2001])[1]
        for c in (falling, rising)
    ]
    np.testing.assert_allclose(medians, [[-1.5, -2.5], [2, 2.5]])
    # no window: everything up to the eval point, here the last timepoint the curves share
    up_to_one = [
        measures.median_performance_during_training(c, eval_points=[1])[1]
        for c in (([0, 1, 2], [3, 6, 9]), ([0, 1], [7.5, 7.7]))
    ]
    np.testing.assert_allclose(up_to_one, [[4.5], [7.6]])


ROLLOUT_SETS = [[-1, 2, 5, 7, 3], [6, 5, 1, 34, 2]]


def test_rollout_metrics_match_reference():
    dispersion = [measures.dispersion_across_rollouts(r, baseline="median") for r in ROLLOUT_SETS]
    np.testing.assert_allclose(dispersion, [3 / 3, 4 / 5])
    risk = [measures.risk_across_rollouts(r, alpha=0.49, baseline=0.5) for r in ROLLOUT_SETS]
    np.testing.assert_allclose(risk, [0.5 / 0.5, 1.5 / 0.5])
