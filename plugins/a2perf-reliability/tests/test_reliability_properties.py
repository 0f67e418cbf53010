"""Properties the definitions imply: shift invariance, scaling of normalised metrics, valid p-values."""

from __future__ import annotations

import numpy as np
import pytest
from a2perf_reliability import compare, measures
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

FAST = settings(max_examples=40, deadline=None)

values_strategy = arrays(np.float64, st.integers(8, 30), elements=st.floats(-100, 100, allow_nan=False))
shift_strategy = st.floats(-1000, 1000, allow_nan=False)
scale_strategy = st.floats(0.01, 100, allow_nan=False)


def _curve(values: np.ndarray, rising: bool = False) -> tuple[np.ndarray, np.ndarray]:
    y = values + np.arange(values.size) * 50.0 if rising else values
    steps = np.cumsum(1 + (np.arange(values.size) % 3))  # uneven timepoints
    return steps.astype(float), y


def _close(a: float, b: float, scale: float) -> bool:
    return abs(a - b) <= 1e-7 * max(1.0, abs(scale))


@FAST
@given(values_strategy, shift_strategy)
def test_raw_time_metrics_ignore_a_shift_of_all_returns(values, shift):
    t, y = _curve(values)
    size = float(np.max(np.abs(y))) + abs(shift)
    assert _close(
        measures.short_term_risk_across_time((t, y + shift)), measures.short_term_risk_across_time((t, y)), size
    )
    assert _close(
        measures.long_term_risk_across_time((t, y + shift)), measures.long_term_risk_across_time((t, y)), size
    )
    _, shifted = measures.dispersion_across_time((t, y + shift), window=6)
    _, plain = measures.dispersion_across_time((t, y), window=6)
    np.testing.assert_allclose(shifted, plain, atol=1e-7 * size)


@FAST
@given(values_strategy, shift_strategy, scale_strategy)
def test_normalised_time_metrics_ignore_shift_and_scale(values, shift, scale):
    t, y = _curve(values, rising=True)
    moved = (t, scale * y + shift)
    for metric in (measures.short_term_risk_across_time, measures.long_term_risk_across_time):
        assert metric(moved, baseline="curve_range") == pytest.approx(
            metric((t, y), baseline="curve_range"), rel=1e-6, abs=1e-9
        )
    _, a = measures.dispersion_across_time(moved, window=6, baseline="curve_range")
    _, b = measures.dispersion_across_time((t, y), window=6, baseline="curve_range")
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


@FAST
@given(values_strategy, scale_strategy)
def test_raw_time_metrics_scale_with_the_returns(values, scale):
    t, y = _curve(values)
    assert measures.short_term_risk_across_time((t, scale * y)) == pytest.approx(
        scale * measures.short_term_risk_across_time((t, y)), rel=1e-6, abs=1e-6
    )
    assert measures.max_drawdown((t, scale * y)) == pytest.approx(
        scale * measures.max_drawdown((t, y)), rel=1e-6, abs=1e-6
    )


@FAST
@given(st.lists(values_strategy, min_size=3, max_size=6), shift_strategy, scale_strategy)
def test_across_run_metrics_under_shift_and_scale(runs, shift, scale):
    n = min(r.size for r in runs)
    curves = [_curve(r[:n], rising=True) for r in runs]
    points = curves[0][0][2:]
    moved = [(t, scale * y + shift) for t, y in curves]
    size = max(float(np.max(np.abs(y))) for _, y in moved)
    # dispersion across runs: shift-invariant; normalised, also scale-invariant
    _, raw = measures.dispersion_across_runs(curves, eval_points=points)
    _, raw_moved = measures.dispersion_across_runs(moved, eval_points=points)
    np.testing.assert_allclose(raw_moved, scale * raw, atol=1e-7 * size)
    # the low-pass is linear with unit gain at zero frequency, so the same holds after filtering
    _, smooth = measures.dispersion_across_runs(curves, eval_points=points, lowpass_cutoff=0.3)
    _, smooth_moved = measures.dispersion_across_runs(moved, eval_points=points, lowpass_cutoff=0.3)
    np.testing.assert_allclose(smooth_moved, scale * smooth, atol=1e-6 * size)
    _, norm = measures.dispersion_across_runs(curves, eval_points=points, baseline="curve_range")
    _, norm_moved = measures.dispersion_across_runs(moved, eval_points=points, baseline="curve_range")
    np.testing.assert_allclose(norm_moved, norm, rtol=1e-6, atol=1e-9)
    # risk across runs moves with the returns (a level, not a spread)
    _, risk = measures.risk_across_runs(curves, eval_points=points)
    _, risk_moved = measures.risk_across_runs(moved, eval_points=points)
    np.testing.assert_allclose(risk_moved, scale * risk + shift, atol=1e-7 * size)


@FAST
@given(values_strategy, shift_strategy)
def test_rollout_metrics_under_shift(returns, shift):
    size = float(np.max(np.abs(returns))) + abs(shift)
    assert _close(
        measures.dispersion_across_rollouts(returns + shift), measures.dispersion_across_rollouts(returns), size
    )
    assert _close(measures.risk_across_rollouts(returns + shift), measures.risk_across_rollouts(returns) + shift, size)
    assert _close(measures.interquartile_mean(returns + shift), measures.interquartile_mean(returns) + shift, size)


@settings(max_examples=3, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1))
def test_permutation_p_values_are_uniform_under_the_null(seed):
    """Exchangeable submissions: the p-values' distribution function stays within sampling noise of
    the uniform one (plus the 1/40 grid of 39 resamples), and never far above it (validity)."""
    rng = np.random.default_rng(seed)
    n_tests = 300
    p_values = []
    for _ in range(n_tests):
        runs = {name: {t: rng.normal(size=10) for t in "xyz"} for name in ("a", "b")}
        p_values.append(compare.permutation_test(runs, "a", "b", higher_is_better=True, n_resamples=39, seed=rng)[1])
    p = np.array(p_values)
    for u in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9):
        noise = 4 * np.sqrt(u * (1 - u) / n_tests)
        assert np.mean(p <= u) <= u + noise
        assert np.mean(p <= u) == pytest.approx(u, abs=noise + 1 / 40)
