from a2perf_core.results.groups import metric_group


def test_values_fall_into_a2perfs_three_groups() -> None:
    assert metric_group("reliability.returns.iqm") == "application"
    assert metric_group("reliability.generalization.CircuitTraining-Synthetic-v0") == "application"
    assert metric_group("reliability.dispersion_across_time") == "reliability"
    assert metric_group("reliability.risk_across_rollouts") == "reliability"
    assert metric_group("latency.p50") == "system"
    assert metric_group("energy.total") == "system"
    assert metric_group("wall_clock.train") == "system"
