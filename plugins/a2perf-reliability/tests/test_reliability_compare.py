"""Ranks, permutation tests, bootstrap CIs, corrections, IQM and probability of improvement."""

from __future__ import annotations

import numpy as np
import pytest
from a2perf_reliability import compare
from a2perf_reliability.errors import ReliabilityInputError
from scipy import stats

RUNS = {"a": {"t1": [1, 2, 3], "t2": [4, 5]}, "b": {"t1": [2, 3, 4], "t2": [1, 2]}}


def test_ranks_pool_runs_per_task_and_average_ties():
    # t1 pooled [1, 2, 3, 2, 3, 4], higher better: 4 -> 1, the 3s -> 2.5, the 2s -> 4.5, 1 -> 6
    task_ranks, mean_rank = compare.rank_values(RUNS, higher_is_better=True)
    np.testing.assert_array_equal(task_ranks["t1"]["a"], [6, 4.5, 2.5])
    np.testing.assert_array_equal(task_ranks["t1"]["b"], [4.5, 2.5, 1])
    np.testing.assert_array_equal(task_ranks["t2"]["a"], [2, 1])
    assert mean_rank == {"a": pytest.approx(16 / 5), "b": pytest.approx(15 / 5)}
    _, lower_better = compare.rank_values(RUNS, higher_is_better=False)
    # lower better: t1 a -> 1, 2.5, 4.5 and b -> 2.5, 4.5, 6; t2 a -> 3, 4 and b -> 1, 2
    assert lower_better == {"a": pytest.approx(15 / 5), "b": pytest.approx(16 / 5)}


def test_ranks_need_matching_tasks():
    with pytest.raises(ReliabilityInputError, match="same tasks"):
        compare.rank_values({"a": {"t1": [1]}, "b": {"t2": [1]}}, True)
    with pytest.raises(ReliabilityInputError, match="at least 2 submissions"):
        compare.rank_values({"a": {"t1": [1]}}, True)


def test_permutation_test_of_two_single_runs_cannot_reject():
    # the only other split swaps them: |null| = |observed| always, so p = 1
    difference, p = compare.permutation_test(
        {"a": {"t": [1.0]}, "b": {"t": [2.0]}}, "a", "b", higher_is_better=True, n_resamples=50
    )
    assert difference == -1.0
    assert p == 1.0


def test_permutation_test_of_separated_submissions_reaches_the_smallest_p():
    runs = {"a": {t: list(range(10)) for t in "xyz"}, "b": {t: list(range(100, 110)) for t in "xyz"}}
    difference, p = compare.permutation_test(runs, "a", "b", higher_is_better=True, n_resamples=200, seed=3)
    assert difference == pytest.approx(5.5 - 15.5)
    assert p == pytest.approx(1 / 201)


def test_permutation_test_recomputes_across_run_metrics_on_permuted_runs():
    runs = {"a": {t: [[0.0, 1.0]] * 4 for t in "xy"}, "b": {t: [[5.0, 9.0]] * 4 for t in "xy"}}
    calls = []

    def spread_of_runs(items):
        calls.append(len(items))
        return float(np.ptp(np.concatenate(items)))

    difference, p = compare.permutation_test(
        runs, "a", "b", higher_is_better=False, metric=spread_of_runs, across_runs=True, n_resamples=30, seed=0
    )
    assert difference == pytest.approx(1.0)  # a has the smaller spread: rank 1 vs 2
    assert set(calls) == {4}
    assert len(calls) == 2 * 2 + 2 * 2 * 30  # observed values, then two new splits per task per resample
    assert 1 / 31 <= p <= 1


def test_bootstrap_ci_of_constant_runs_is_a_point():
    runs = {"a": {"t": [5.0, 5.0, 5.0]}, "b": {"t": [1.0, 1.0]}}
    assert compare.bootstrap_mean_rank_ci(runs, "a", higher_is_better=True, n_resamples=100) == (2.0, 2.0)
    assert compare.bootstrap_mean_rank_ci(runs, "b", higher_is_better=True, n_resamples=100) == (4.5, 4.5)


def test_bootstrap_ci_covers_the_observed_mean_rank():
    rng = np.random.default_rng(0)
    runs = {name: {t: rng.normal(shift, 1, 8) for t in "xyz"} for name, shift in (("a", 0), ("b", 0.5), ("c", 1))}
    _, mean_rank = compare.rank_values(runs, True)
    for name in runs:
        low, high = compare.bootstrap_mean_rank_ci(runs, name, higher_is_better=True, n_resamples=300, seed=1)
        assert low <= mean_rank[name] <= high


def test_benjamini_yekutieli_thresholds_by_hand():
    # m = 4, c(4) = 25/12: the k-th smallest p is compared with k * 0.05 / (4 * 25/12) = 0.006 k
    thresholds, significant = compare.corrected_thresholds([0.01, 0.04, 0.03, 0.005], 0.05)
    np.testing.assert_allclose(thresholds, [0.012, 0.024, 0.018, 0.006])
    np.testing.assert_array_equal(significant, [True, False, False, True])
    np.testing.assert_allclose(compare.adjusted_p_values([0.01, 0.04, 0.03, 0.005]), [1 / 24, 1 / 12, 1 / 12, 1 / 24])


def test_benjamini_yekutieli_is_step_up():
    # 0.011 misses its own threshold 0.006 but 0.012 meets 0.012: both are significant
    _, significant = compare.corrected_thresholds([0.011, 0.012, 0.5, 0.9], 0.05)
    np.testing.assert_array_equal(significant, [True, True, False, False])


def test_bonferroni():
    thresholds, significant = compare.corrected_thresholds([0.01, 0.02, 0.3], 0.06, "bonferroni")
    np.testing.assert_allclose(thresholds, 0.02)
    np.testing.assert_array_equal(significant, [True, True, False])
    np.testing.assert_allclose(compare.adjusted_p_values([0.01, 0.5], "bonferroni"), [0.02, 1.0])
    with pytest.raises(ReliabilityInputError, match="correction"):
        compare.corrected_thresholds([0.1], 0.05, "holm")  # type: ignore[arg-type]


def test_compare_submissions_is_seeded_and_complete():
    rng = np.random.default_rng(5)
    runs = {name: {t: rng.normal(shift, 1, 6) for t in "xy"} for name, shift in (("a", 0), ("b", 3), ("c", 0.1))}
    first = compare.compare_submissions(runs, higher_is_better=True, n_resamples=99, seed=7)
    again = compare.compare_submissions(runs, higher_is_better=True, n_resamples=99, seed=7)
    assert first.pairs == again.pairs
    assert first.ci == again.ci
    assert [(p.first, p.second) for p in first.pairs] == [("a", "b"), ("a", "c"), ("b", "c")]
    by_pair = {(p.first, p.second): p for p in first.pairs}
    assert by_pair["a", "b"].significant and by_pair["b", "c"].significant
    assert not by_pair["a", "c"].significant
    assert first.mean_rank["b"] < first.mean_rank["a"]


def test_compare_submissions_on_an_across_run_metric():
    runs = {"a": {"t": [1.0, 2.0, 3.0]}, "b": {"t": [1.0, 5.0, 9.0]}}
    result = compare.compare_submissions(
        runs, higher_is_better=False, metric=lambda items: float(np.std(items)), across_runs=True, n_resamples=20
    )
    assert result.mean_rank == {"a": 1.0, "b": 2.0}


def test_iqm_with_stratified_bootstrap():
    point, low, high = compare.iqm_with_ci({"t": [3.0, 3.0, 3.0]}, n_resamples=50)
    assert (point, low, high) == (3.0, 3.0, 3.0)
    scores = {"x": np.arange(10.0), "y": np.arange(10.0) + 100}
    point, low, high = compare.iqm_with_ci(scores, n_resamples=500, seed=2)
    assert point == pytest.approx(stats.trim_mean(np.concatenate(list(scores.values())), 0.25))
    assert low <= point <= high
    assert compare.iqm_with_ci(scores, n_resamples=500, seed=2) == (point, low, high)


def test_probability_of_improvement_by_hand():
    # task t: pairs (1,2) 0, (1,3) 0, (2,2) 1/2, (2,3) 0 -> 1/8; task u: 5 > 1 -> 1; mean 9/16
    p, low, high = compare.probability_of_improvement({"t": [1, 2], "u": [5]}, {"t": [2, 3], "u": [1]}, n_resamples=200)
    assert p == pytest.approx(9 / 16)
    assert low <= p <= high


def test_probability_of_improvement_is_mann_whitney_u_over_nm():
    rng = np.random.default_rng(4)
    x, y = rng.normal(0.3, 1, 7), rng.normal(0, 1, 9)
    u = stats.mannwhitneyu(x, y).statistic
    p, _, _ = compare.probability_of_improvement({"t": x}, {"t": y}, n_resamples=10)
    assert p == pytest.approx(u / (7 * 9))


def test_probability_of_improvement_needs_the_same_tasks():
    with pytest.raises(ReliabilityInputError, match="same tasks"):
        compare.probability_of_improvement({"t": [1]}, {"u": [1]})
