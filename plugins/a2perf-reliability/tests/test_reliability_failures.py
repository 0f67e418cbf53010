"""Failed generalization tasks and cut-off training episodes are never scored as if they went well."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from a2perf_reliability.metric import WHOLE_PHASE, ReliabilityMetric, curve_from_train_log, generalization_outcome

from a2perf_core.metrics import RunRecords

TASKS = ("Easy-v0", "Medium-v0", "Hard-v0")


def generalization_run(run_dir: Path, returns: dict[str, list[float]], failed: dict[str, str]) -> RunRecords:
    """A run directory as the runner writes it: episodes of every task that got to run (a task that
    crashed may have written some before it did) and the generalization record of run.json."""
    run_dir.mkdir(parents=True)
    rows = [f"{task},{i},{r},10\n" for task, values in returns.items() for i, r in enumerate(values)]
    (run_dir / "generalization_episodes.csv").write_text("task,episode,return,length\n" + "".join(rows))
    tasks = {
        t: {"label": f"generalization-{t}", "status": "failed" if t in failed else "ok", "reason": failed.get(t)}
        for t in TASKS
    }
    status = "failed" if failed else "ok"
    info = {"phases": {"generalization": {"status": status, "tasks": tasks}}}
    (run_dir / "run.json").write_text(json.dumps(info))
    return RunRecords(run_dir)


def aggregate(runs: list[RunRecords]):
    values = {v.name: v for v in ReliabilityMetric(n_resamples=50).summarize(runs)}
    return values["reliability.generalization.aggregate"]


def test_a_submission_that_crashes_on_hard_tasks_does_not_outscore_one_that_attempts_them(tmp_path):
    attempted = [
        generalization_run(tmp_path / "a" / f"seed_{s}", {t: [-1.30, -1.32] for t in TASKS}, {}) for s in range(3)
    ]
    crashed = [
        generalization_run(
            tmp_path / "b" / f"seed_{s}",
            {"Easy-v0": [-1.26, -1.26], "Medium-v0": [0.0]},
            {"Medium-v0": "exit code -11 (SIGSEGV)", "Hard-v0": "exit code 1"},
        )
        for s in range(3)
    ]
    assert aggregate(attempted).value == pytest.approx(-3.93)
    score = aggregate(crashed)
    assert score.value is None
    assert score.details["n_failed"] == 6
    assert score.details["failed"]["seed_0"] == {"Medium-v0": "exit code -11 (SIGSEGV)", "Hard-v0": "exit code 1"}
    assert "aggregate is not defined" in score.details["reason"]


def test_one_failed_seed_makes_the_aggregate_undefined(tmp_path):
    good = {t: [1.0] for t in TASKS}
    runs = [generalization_run(tmp_path / f"seed_{s}", good, {}) for s in range(2)]
    never = tmp_path / "seed_2"
    never.mkdir()
    info = {"phases": {"generalization": {"status": "not run", "reason": "the train phase failed"}}}
    (never / "run.json").write_text(json.dumps(info))
    runs.append(RunRecords(never))
    assert generalization_outcome(runs[2]) == (
        {},
        {WHOLE_PHASE: "generalization phase not run: the train phase failed"},
    )
    score = aggregate(runs)
    assert score.value is None and score.details["n_failed"] >= 1
    assert aggregate(runs[:2]).value == pytest.approx(3.0)


def test_a_failed_tasks_partial_episodes_are_not_its_score(tmp_path):
    run = generalization_run(tmp_path / "seed_0", {"Easy-v0": [2.0], "Hard-v0": [9.0]}, {"Hard-v0": "timeout"})
    run_dir_values = {v.name: v for v in ReliabilityMetric().analyze(run)}
    assert run_dir_values["reliability.generalization.Easy-v0"].value == 2.0
    hard = run_dir_values["reliability.generalization.Hard-v0"]
    assert hard.value is None and "timeout" in hard.details["reason"]
    medium = run_dir_values["reliability.generalization.Medium-v0"]  # completed, but wrote no episode
    assert medium.value is None and "no episode" in medium.details["reason"]


def test_episodes_cut_off_when_training_stopped_are_left_out_of_the_curve():
    columns = {
        "global_step": np.array([10.0, 20, 30, 35]),
        "episode_return": np.array([-5.0, -4, -3, 0.0]),
        "finished": np.array([1.0, 1, 1, 0]),
    }
    steps, returns = curve_from_train_log(columns)
    assert steps.tolist() == [10.0, 20.0, 30.0] and returns.tolist() == [-5.0, -4.0, -3.0]


def test_task_records_written_before_statuses_still_count(tmp_path):
    run_dir = tmp_path / "seed_0"
    run_dir.mkdir()
    (run_dir / "generalization_episodes.csv").write_text("task,episode,return,length\nEasy-v0,0,2.0,10\n")
    tasks = {"Easy-v0": {"ok": True}, "Hard-v0": {"ok": False, "reason": "exit code 1"}}
    (run_dir / "run.json").write_text(json.dumps({"phases": {"generalization": {"status": "failed", "tasks": tasks}}}))
    assert generalization_outcome(RunRecords(run_dir)) == ({"Easy-v0": 2.0}, {"Hard-v0": "exit code 1"})
