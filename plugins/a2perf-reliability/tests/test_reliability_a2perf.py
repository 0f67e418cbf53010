"""The ``a2perf`` preset against values recorded from A2Perf's own analysis code.

``data/a2perf_analysis_values.json`` holds generated curves and rollouts and what A2Perf's
``a2perf/analysis/reliability.py`` computed on them (its ``recorded`` key says how).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from a2perf_reliability import a2perf_measures, measures
from a2perf_reliability.errors import ReliabilityInputError
from a2perf_reliability.metric import ReliabilityMetric

from a2perf_core.metrics import RunRecords

RECORDED = json.loads((Path(__file__).parent / "data" / "a2perf_analysis_values.json").read_text())
EXACT = dict(rel=1e-12, abs=1e-12)
#: Dispersion across runs low-passes each curve with A2Perf's transfer-function Butterworth filter, which is
#: ill-conditioned at its cutoff (see ``lowpass_transfer_function``): its initial state comes from a LAPACK solve,
#: so the value depends on the BLAS kernels the machine selects. The recorded 8.5985 (mean) was computed with
#: OpenBLAS's Haswell/Zen kernels; its SkylakeX (AVX-512) kernels give 8.6348 for the same code and input, 0.42 %
#: away. Both are A2Perf's own result on that machine, so this value is pinned to 1 %, every other one exactly.
BLAS_DEPENDENT = dict(rel=1e-2)


def write_runs(tmp_path: Path, curves, rollouts=None) -> list[RunRecords]:
    runs = []
    for i, (steps, returns) in enumerate(curves):
        run_dir = tmp_path / f"seed_{i}"
        run_dir.mkdir()
        rows = "".join(f"{int(s)},{r!r},1,0.0\n" for s, r in zip(steps, returns, strict=True))
        (run_dir / "train_log.csv").write_text("global_step,episode_return,episode_length,wall_time_s\n" + rows)
        if rollouts is not None:
            rows = "".join(f"{j},{r!r},1\n" for j, r in enumerate(rollouts[i]))
            (run_dir / "inference_episodes.csv").write_text("episode,return,length\n" + rows)
        runs.append(RunRecords(run_dir))
    return runs


def by_name(values) -> dict:
    return {v.name.removeprefix("reliability."): v for v in values}


@pytest.mark.parametrize("dataset", ["aligned", "episodic"])
def test_training_measures_match_a2perf_analysis(dataset):
    curves, expected = RECORDED[dataset]["curves"], RECORDED[dataset]["a2perf"]
    mean, std, _ = a2perf_measures.dispersion_across_time(curves)
    assert (mean, std) == pytest.approx(
        (expected["dispersion_across_time"]["mean"], expected["dispersion_across_time"]["std"]), **EXACT
    )
    assert a2perf_measures.short_term_risk(curves) == pytest.approx(expected["short_term_risk_across_time"], **EXACT)
    assert a2perf_measures.long_term_risk(curves) == pytest.approx(expected["long_term_risk_across_time"], **EXACT)
    assert a2perf_measures.risk_across_runs(curves)[0] == pytest.approx(expected["risk_across_runs"], **EXACT)


def test_dispersion_across_runs_matches_a2perf_analysis():
    curves, expected = RECORDED["aligned"]["curves"], RECORDED["aligned"]["a2perf"]["dispersion_across_runs"]
    _, spreads = a2perf_measures.dispersion_across_runs(curves)
    assert (np.mean(spreads), np.std(spreads, ddof=1)) == pytest.approx(
        (expected["mean"], expected["std"]), **BLAS_DEPENDENT
    )


def test_dispersion_across_runs_needs_steps_shared_by_three_runs():
    with pytest.raises(ReliabilityInputError, match="identical steps"):
        a2perf_measures.dispersion_across_runs(RECORDED["episodic"]["curves"])


def test_rollout_measures_pool_seeds_as_a2perf_does():
    returns, expected = RECORDED["rollouts"]["returns"], RECORDED["rollouts"]["a2perf"]
    assert a2perf_measures.dispersion_across_rollouts(returns) == pytest.approx(
        expected["dispersion_across_rollouts"], **EXACT
    )
    assert a2perf_measures.risk_across_rollouts(returns) == pytest.approx(expected["risk_across_rollouts"], **EXACT)


def test_a2perf_preset_reports_a2perf_values_per_seed_and_pooled(tmp_path):
    curves, expected = RECORDED["aligned"]["curves"], RECORDED["aligned"]["a2perf"]
    rollouts, expected_rollouts = RECORDED["rollouts"]["returns"], RECORDED["rollouts"]["a2perf"]
    runs = write_runs(tmp_path, curves, rollouts)
    metric = ReliabilityMetric(preset="a2perf")
    for run, seed_values, seed_rollouts in zip(runs, expected["per_seed"], expected_rollouts["per_seed"], strict=True):
        values = by_name(metric.analyze(run))
        for name, number in {**seed_values, **seed_rollouts}.items():
            assert values[name].value == pytest.approx(number, **EXACT), name
    across = by_name(metric.summarize(runs))
    assert across["dispersion_across_runs"].value == pytest.approx(
        expected["dispersion_across_runs"]["mean"], **BLAS_DEPENDENT
    )
    assert across["dispersion_across_runs"].details["std"] == pytest.approx(
        expected["dispersion_across_runs"]["std"], **BLAS_DEPENDENT
    )
    assert across["dispersion_across_time"].value == pytest.approx(expected["dispersion_across_time"]["mean"], **EXACT)
    assert across["dispersion_across_time"].details["std"] == pytest.approx(
        expected["dispersion_across_time"]["std"], **EXACT
    )
    for name in ("short_term_risk_across_time", "long_term_risk_across_time", "risk_across_runs"):
        assert across[name].value == pytest.approx(expected[name], **EXACT), name
    for name in ("dispersion_across_rollouts", "risk_across_rollouts"):
        assert across[name].value == pytest.approx(expected_rollouts[name], **EXACT), name
    assert across["short_term_risk_across_time"].direction == "lower"  # A2Perf flips the sign: a loss


def test_a2perf_short_term_risk_uses_raw_differences_negated():
    steps = np.arange(1.0, 41.0) * 1000  # logged every 1000 steps
    values = np.tile([0.0, 10.0, 4.0, 12.0], 10)  # the worst differences are the ten drops of 12
    assert a2perf_measures.short_term_risk([(steps, values)]) == pytest.approx(12.0)
    # the reference definition divides by the step and keeps the sign
    assert measures.short_term_risk_across_time((steps, values)) == pytest.approx(-0.012)
