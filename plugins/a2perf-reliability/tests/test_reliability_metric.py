"""The ``reliability`` metric on hand-written run records, the plugin registration and presets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from a2perf_reliability import measures, plugin
from a2perf_reliability.errors import ReliabilityInputError
from a2perf_reliability.metric import ReliabilityMetric, curve_from_train_log
from a2perf_reliability.presets import geometry, preset_settings

from a2perf_core.metrics import RunRecords


def write_run(run_dir: Path, steps=None, returns=None, rollouts=None, generalization=None) -> RunRecords:
    run_dir.mkdir(parents=True, exist_ok=True)
    if steps is not None:
        rows = "".join(f"{s},{r},1,0.0\n" for s, r in zip(steps, returns, strict=True))
        (run_dir / "train_log.csv").write_text("global_step,episode_return,episode_length,wall_time_s\n" + rows)
    if rollouts is not None:
        rows = "".join(f"{i},{r},1\n" for i, r in enumerate(rollouts))
        (run_dir / "inference_episodes.csv").write_text("episode,return,length\n" + rows)
    if generalization is not None:
        rows = "".join(f"{task},{i},{r},1\n" for i, (task, r) in enumerate(generalization))
        (run_dir / "generalization_episodes.csv").write_text("task,episode,return,length\n" + rows)
    return RunRecords(run_dir)


def by_name(values) -> dict:
    return {v.name: v for v in values}


def rising_run(tmp_path: Path, name: str, offset: float, n: int = 60) -> RunRecords:
    steps = np.cumsum(np.full(n, 10))
    returns = np.sqrt(steps) + offset + np.sin(steps / 37.0)
    return write_run(
        tmp_path / name,
        steps,
        returns,
        rollouts=[1.0, 2.0, 3.0, 4.0 + offset],
        generalization=[("TaskA-v0", 1.0 + offset), ("TaskB-v0", 2.0)],
    )


def test_plugin_registers_the_reliability_metric(a2perf_plugins):
    plugins = a2perf_plugins(plugin)
    spec = plugins.registry.metrics["reliability"].spec
    assert spec.factory == "a2perf_reliability.metric:ReliabilityMetric"


def test_plugin_module_imports_no_heavy_modules():
    code = (
        "import sys, a2perf_reliability.plugin; print(sorted(m for m in ('numpy', 'scipy', 'gin') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_curve_from_train_log_averages_episodes_ending_together():
    t, y = curve_from_train_log(
        {"global_step": np.array([5.0, 10, 10, 20]), "episode_return": np.array([1.0, 2, 4, 5])}
    )
    np.testing.assert_array_equal(t, [5, 10, 20])
    np.testing.assert_array_equal(y, [1, 3, 5])
    with pytest.raises(ReliabilityInputError, match="no training log"):
        curve_from_train_log({})


def test_analyze_reports_every_per_run_metric(tmp_path):
    run = rising_run(tmp_path, "seed_0", 0.0)
    values = by_name(ReliabilityMetric().analyze(run))
    for name in (
        "dispersion_across_time",
        "short_term_risk_across_time",
        "long_term_risk_across_time",
        "max_drawdown",
        "median_performance_during_training",
        "dispersion_across_rollouts",
        "risk_across_rollouts",
        "returns.mean",
        "returns.std",
        "returns.iqm",
        "returns.min",
        "returns.max",
        "generalization.TaskA-v0",
        "generalization.TaskB-v0",
    ):
        assert values[f"reliability.{name}"].value is not None, name
    assert values["reliability.returns.mean"].value == 2.5
    assert values["reliability.dispersion_across_rollouts"].value == pytest.approx(1.5)
    assert values["reliability.generalization.TaskB-v0"].value == 2.0
    assert values["reliability.risk_across_rollouts"].direction == "higher"
    assert set(values["reliability.dispersion_across_time"].details["timeframes"]) == {"beginning", "middle", "end"}


def test_analyze_matches_the_library_functions_under_the_preset_geometry(tmp_path):
    run = rising_run(tmp_path, "seed_0", 0.0)
    curve = curve_from_train_log(run.train_log())
    s = preset_settings("chan2020")
    g = geometry(s, [curve[0]])
    _, expected = measures.dispersion_across_time(
        curve, window=g.within_window, eval_points=g.eval_points, baseline="curve_range"
    )
    value = by_name(ReliabilityMetric().analyze(run))["reliability.dispersion_across_time"]
    assert value.value == pytest.approx(float(np.median(expected)))
    assert value.details["values"] == pytest.approx(expected.tolist())
    srt = by_name(ReliabilityMetric().analyze(run))["reliability.short_term_risk_across_time"]
    assert srt.value == pytest.approx(measures.short_term_risk_across_time(curve, 0.05, "curve_range"))


def test_chan2020_geometry_scales_the_paper_to_the_run():
    # a 2M-step run logged every 1000 steps gives the paper's windows, with eval points at segment ends
    t = np.arange(1000.0, 2_000_001, 1000)
    g = geometry(preset_settings("chan2020"), [t])
    np.testing.assert_allclose(g.eval_points, np.arange(100_000, 2_000_001, 100_000))
    assert g.window == pytest.approx(100_000)
    assert g.within_window == pytest.approx(99_000)
    assert g.lowpass_cutoff == pytest.approx(0.01)
    # a 100-point curve keeps the same share of the spectrum: 0.01 * 2000 / 100
    short = geometry(preset_settings("chan2020"), [np.arange(1.0, 101)])
    assert short.lowpass_cutoff == pytest.approx(0.2)


def test_a2perf_geometry_uses_five_logging_intervals():
    t = np.array([0.0, 10, 20, 40, 50, 60, 70])  # median interval 10
    g = geometry(preset_settings("a2perf"), [t])
    assert g.window == 50 and g.within_window == 50
    assert g.eval_points is None and g.lowpass_cutoff == 0.01  # A2Perf low-passes dispersion across runs


def test_presets_reject_unknown_names_and_parameters():
    with pytest.raises(ReliabilityInputError, match="unknown reliability preset"):
        preset_settings("chan2021")
    with pytest.raises(ReliabilityInputError, match="unknown reliability parameter"):
        preset_settings("a2perf", windw=3)
    assert preset_settings("chan2020", baseline="none").baseline is None
    assert preset_settings("a2perf", alpha=0.1).alpha == 0.1


def test_a2perf_preset_pools_values_into_mean_and_std(tmp_path):
    run = rising_run(tmp_path, "seed_0", 0.0)
    value = by_name(ReliabilityMetric(preset="a2perf").analyze(run))["reliability.dispersion_across_time"]
    assert value.value == pytest.approx(np.mean(value.details["values"]))
    assert value.details["std"] == pytest.approx(np.std(value.details["values"]))
    assert value.details["preset"] == "a2perf"


def test_missing_records_give_none_with_a_reason(tmp_path):
    values = by_name(ReliabilityMetric().analyze(write_run(tmp_path / "empty")))
    assert values["reliability.dispersion_across_time"].value is None
    assert "no training log" in values["reliability.dispersion_across_time"].details["reason"]
    assert "no inference episodes" in values["reliability.returns.mean"].details["reason"]
    assert not any(name.startswith("reliability.generalization.") for name in values)


def test_constant_curve_under_curve_range_gives_none_with_the_reason(tmp_path):
    run = write_run(tmp_path / "flat", np.arange(1, 41) * 10, np.full(40, 2.0))
    values = by_name(ReliabilityMetric().analyze(run))
    assert values["reliability.short_term_risk_across_time"].value is None
    assert "curve range" in values["reliability.short_term_risk_across_time"].details["reason"]
    raw = by_name(ReliabilityMetric(baseline="none").analyze(run))
    assert raw["reliability.short_term_risk_across_time"].value == 0.0


def test_too_few_episodes_give_none_with_the_reason(tmp_path):
    run = write_run(tmp_path / "short", [10, 20], [1.0, 2.0])
    value = by_name(ReliabilityMetric().analyze(run))["reliability.dispersion_across_time"]
    assert value.value is None and "at least 3" in value.details["reason"]


def test_summarize_computes_across_run_metrics(tmp_path):
    runs = [rising_run(tmp_path, f"seed_{i}", float(i)) for i in range(3)]
    values = by_name(ReliabilityMetric(n_resamples=200).summarize(runs))
    dispersion = values["reliability.dispersion_across_runs"]
    risk = values["reliability.risk_across_runs"]
    assert dispersion.value is not None and dispersion.details["n_runs"] == 3
    assert risk.value is not None and risk.direction == "higher"
    # generalization: TaskA means 1, 2, 3 -> 2; TaskB 2 -> sum 4
    aggregate = values["reliability.generalization.aggregate"]
    assert aggregate.value == pytest.approx(4.0)
    assert aggregate.details["per_task_mean_over_seeds"] == {"TaskA-v0": 2.0, "TaskB-v0": 2.0}
    pooled = values["reliability.returns.iqm_across_runs"]
    low, high = pooled.details["ci95"]
    assert low <= pooled.value <= high


def test_summarize_of_one_run_reports_why_across_run_metrics_are_undefined(tmp_path):
    values = by_name(ReliabilityMetric().summarize([rising_run(tmp_path, "seed_0", 0.0)]))
    assert values["reliability.dispersion_across_runs"].value is None
    assert "at least 2 runs" in values["reliability.dispersion_across_runs"].details["reason"]
    assert values["reliability.generalization.aggregate"].value == pytest.approx(3.0)


CORRIDOR_TRAIN = """
import numpy as np
from a2perf_core import participant

def train():
    env = participant.make_env()
    rng = np.random.default_rng(participant.seed())
    for episode in range(40):
        env.reset(seed=participant.seed() * 1000 + episode)
        done = False
        p_right = min(0.95, 0.3 + episode / 50)
        while not done:
            _, _, terminated, truncated, _ = env.step(int(rng.random() < p_right))
            done = terminated or truncated
    env.close()
"""

CORRIDOR_INFERENCE = """
import numpy as np

def load_policy(env, **load_kwargs):
    return np.random.default_rng(0)

def preprocess_observation(observation):
    return observation

def infer_once(policy, observation):
    return int(policy.random() < 0.7)
"""


CLI = [sys.executable, "-c", "from a2perf_core.cli import main; main()"]


@pytest.mark.slow
def test_three_seed_run_writes_reliability_metrics(tmp_path):
    import importlib.util

    if importlib.util.find_spec("a2perf_example_domain") is None:
        pytest.skip("needs the example domain: pip install docs/examples/a2perf-example-domain")
    submission = tmp_path / "sub"
    submission.mkdir()
    (submission / "__init__.py").write_text("")
    (submission / "requirements.txt").write_text("numpy>=1.24\n")
    (submission / "train.py").write_text(textwrap.dedent(CORRIDOR_TRAIN))
    (submission / "inference.py").write_text(textwrap.dedent(CORRIDOR_INFERENCE))
    out = tmp_path / "runs"
    env = {**os.environ, "A2PERF_LOAD_PLUGINS": "a2perf-example-domain,a2perf-reliability"}
    run = subprocess.run(
        [*CLI, "run", str(submission), "--task", "ExampleCorridor-v0", "--seeds", "0,1,2", "--out", str(out), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=170,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    for seed in range(3):
        per_run = {v["name"]: v for v in json.loads((out / f"seed_{seed}" / "metrics.json").read_text())}
        assert per_run["reliability.dispersion_across_time"]["value"] is not None, per_run
        assert per_run["reliability.returns.mean"]["value"] is not None
        assert per_run["reliability.generalization.ExampleCorridor-v0"]["value"] is not None
    across = {v["name"]: v for v in json.loads((out / "metrics.json").read_text())}
    assert across["reliability.dispersion_across_runs"]["value"] is not None, across
    assert across["reliability.risk_across_runs"]["value"] is not None
    assert across["reliability.generalization.aggregate"]["value"] is not None
    listing = subprocess.run([*CLI, "metrics", "--json"], capture_output=True, text=True, env=env, check=True).stdout
    assert any(row["name"] == "reliability" for row in json.loads(listing))


def test_compare_run_directories_ranks_submissions(tmp_path):
    from a2perf_reliability.compare_runs import compare_run_directories

    dirs: dict[str, dict[str, list[Path]]] = {}
    for sub, offset in (("steady", 0.0), ("better", 50.0)):
        dirs[sub] = {}
        for task in ("TaskA-v0", "TaskB-v0"):
            runs = [rising_run(tmp_path / sub / task, f"seed_{i}", offset + i) for i in range(3)]
            dirs[sub][task] = [r.run_dir for r in runs]
    by_returns = compare_run_directories(dirs, "returns.mean", n_resamples=50)
    # rollouts [1, 2, 3, 4 + offset]: every "better" run beats every "steady" run on both tasks
    assert by_returns.mean_rank == {"steady": 5.0, "better": 2.0}
    across = compare_run_directories(dirs, "risk_across_runs", n_resamples=10)
    assert across.mean_rank == {"steady": 2.0, "better": 1.0}
    assert across.pairs[0].p_value >= 1 / 11
    with pytest.raises(ReliabilityInputError, match="unknown reliability metric"):
        compare_run_directories(dirs, "no_such_metric", n_resamples=5)


@pytest.mark.parametrize("preset", ["chan2020", "a2perf"])
def test_shipped_gin_files_select_the_preset(preset):
    import gin

    path = Path(__import__("a2perf_reliability").__file__).parent / f"{preset}.gin"
    try:
        gin.parse_config_files_and_bindings([str(path)], ["a2perf_reliability.ReliabilityMetric.alpha = 0.1"])
        metric = ReliabilityMetric()
    finally:
        gin.clear_config()
    assert metric.settings.preset == preset
    assert metric.settings.alpha == 0.1


@pytest.mark.parametrize("name", ["dispersion_across_runs", "risk_across_runs"])
@pytest.mark.parametrize("preset", ["chan2020", "a2perf"])
def test_cached_across_run_metric_gives_the_same_numbers(tmp_path, name, preset):
    from a2perf_reliability.compare_runs import across_run_metric

    runs = [rising_run(tmp_path, f"seed_{i}", float(i), n=80 + 7 * i) for i in range(4)]
    curves = [curve_from_train_log(r.train_log()) for r in runs]
    metric = ReliabilityMetric(preset=preset)
    cached = across_run_metric(metric, name)
    plain = across_run_metric(metric, name, cache=False)
    for subset in (curves, curves[:3], curves[1:], [curves[0], curves[0], curves[2]]):
        assert cached(subset) == pytest.approx(plain(subset), rel=1e-12, abs=1e-12)
    summary = by_name(metric.summarize(runs))[f"reliability.{name}"]
    assert plain(curves) == pytest.approx(summary.value)


def test_iqm_across_runs_ci_resamples_runs_not_episodes(tmp_path):
    # two seeds whose episodes never vary: all the uncertainty is which seed you got
    runs = [write_run(tmp_path / f"seed_{i}", rollouts=[level] * 8) for i, level in enumerate((0.0, 10.0))]
    pooled = by_name(ReliabilityMetric(n_resamples=400).summarize(runs))["reliability.returns.iqm_across_runs"]
    assert pooled.value == pytest.approx(5.0)
    # a resample of runs holds seed 0 twice (IQM 0), seed 1 twice (10) or both (5)
    assert pooled.details["ci95"] == pytest.approx([0.0, 10.0])


def test_risk_across_runs_of_nearly_flat_curves_is_marked_untrustworthy(tmp_path):
    rng = np.random.default_rng(0)  # every run's range positive: a value, not a division by zero
    steps = np.arange(1, 101) * 10
    # random policies: returns hover around -50; their "range" is noise, and -50 / noise is huge
    flat = [write_run(tmp_path / f"flat_{i}", steps, -50 + rng.normal(0, 1, 100)) for i in range(5)]
    risk = by_name(ReliabilityMetric().summarize(flat))["reliability.risk_across_runs"]
    assert risk.value is not None and risk.value < -10
    assert risk.details["trustworthy"] is False
    assert "nearly flat" in risk.details["note"]
    rising = [rising_run(tmp_path, f"seed_{i}", float(i)) for i in range(5)]
    assert by_name(ReliabilityMetric().summarize(rising))["reliability.risk_across_runs"].details["trustworthy"]
    a2perf = by_name(ReliabilityMetric(preset="a2perf").summarize(flat))["reliability.risk_across_runs"]
    assert "trustworthy" not in a2perf.details  # no division by the range: the raw returns
