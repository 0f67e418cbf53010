"""Skill levels by evaluated return: A2Perf's bands against hand-computed means and deviations."""

from __future__ import annotations

import csv
import json
import math

import pytest
from click.testing import CliRunner

from a2perf_core.cli import main
from a2perf_core.errors import A2PerfError
from a2perf_core.skills import SkillThresholds, assign, assign_recorded


def test_thresholds_by_hand():
    # eight checkpoints at 5, one at 0, one at 10: mean 5, squares 25 + 25 over n - 1 = 9
    returns = {f"c{i}": 5.0 for i in range(8)} | {"low": 0.0, "high": 10.0}
    assignment = assign(returns, "given")
    s = math.sqrt(50 / 9)
    assert assignment.thresholds.mean == pytest.approx(5.0)
    assert assignment.thresholds.std == pytest.approx(s)
    bands = assignment.thresholds.bands()
    assert bands["novice"][1] == pytest.approx(5 - 2 * s)
    assert bands["intermediate"] == pytest.approx((5 - s, 5 + s))
    assert bands["expert"][0] == pytest.approx(5 + 2 * s)
    assert assignment.at("novice") == ["low"]
    assert assignment.at("expert") == ["high"]
    assert sorted(assignment.at("intermediate")) == [f"c{i}" for i in range(8)]


def test_between_bands_has_no_level():
    # mean 4, std sqrt(50 / 4) = 3.54: 10 is above m + s = 7.54 but below m + 2s = 11.07
    assignment = assign({"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0, "e": 10.0}, "given")
    assert assignment.levels == {
        "a": "intermediate",
        "b": "intermediate",
        "c": "intermediate",
        "d": "intermediate",
        "e": None,
    }
    with pytest.raises(A2PerfError, match="no checkpoint is expert"):
        assignment.at("expert")


def test_equal_returns_are_intermediate_and_one_checkpoint_is_refused():
    assert set(assign({"a": 2.0, "b": 2.0}, "given").levels.values()) == {"intermediate"}
    with pytest.raises(A2PerfError, match="at least 2 checkpoints"):
        SkillThresholds.of([1.0])
    with pytest.raises(A2PerfError, match="choose one of"):
        assign({"a": 1.0, "b": 2.0}, "given").at("master")


def write_evaluated_run(folder, returns):
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"task": "CircuitTraining-Synthetic-v0", "phases": {}}))
    with (folder / "inference_episodes.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["episode", "return", "length"])
        writer.writerows([i, r, 12] for i, r in enumerate(returns))
    return folder


def test_recorded_returns_and_cli(tmp_path):
    runs = [write_evaluated_run(tmp_path / f"r{i}", [4.0, 6.0]) for i in range(8)]  # mean 5 each
    runs.append(write_evaluated_run(tmp_path / "low", [-1.0, 1.0]))
    runs.append(write_evaluated_run(tmp_path / "high", [9.0, 11.0]))
    assignment = assign_recorded(runs)
    assert assignment.returns[str(tmp_path / "high")] == pytest.approx(10.0)
    assert assignment.at("expert") == [str(tmp_path / "high")]
    result = CliRunner().invoke(main, ["data", "skills", "--json", *map(str, runs)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["checkpoints"][str(tmp_path / "low")] == {"return": 0.0, "level": "novice"}
    assert out["thresholds"]["std"] == pytest.approx(math.sqrt(50 / 9))


def test_run_without_inference_episodes_is_one_line(tmp_path):
    folder = tmp_path / "bare"
    folder.mkdir()
    (folder / "run.json").write_text("{}")
    result = CliRunner().invoke(main, ["data", "skills", str(folder), str(folder)])
    assert result.exit_code == 2
    assert "no inference episodes recorded" in result.output
    assert "Traceback" not in result.output
