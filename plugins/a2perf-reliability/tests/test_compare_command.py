"""``a2perf compare``: numbers equal to the runs' metrics.json, the failed-seed rule, comparability flags, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from a2perf_reliability.compare import adjusted_p_values
from click.testing import CliRunner
from scipy import stats

from a2perf_core.cli import main
from a2perf_core.results.store import index_tree
from a2perf_core.results.testing import TEST_MACHINE, TEST_VERSIONS, metric, write_run_folder

PPO = "ppo@" + "a" * 8
SAC = "sac@" + "b" * 8


def latency_and_return(latency: float, ret: float) -> list[dict]:
    return [
        metric("latency.mean", latency, "ms", "lower"),
        metric("reliability.returns.mean", ret, "return", "higher"),
        metric("latency.count", 19, "calls"),
        metric("energy.region", "USA"),
    ]


def make_runs(root: Path, values: dict[str, dict[str, list[tuple[float, float]]]], **per_sub: dict) -> None:
    """``values[submission][task]`` = (latency, return) per seed; ``per_sub[submission]`` = more run facts."""
    for sub, tasks in values.items():
        for task, seeds in tasks.items():
            for seed, (latency, ret) in enumerate(seeds):
                facts = dict(per_sub.get(sub, {}))
                failed = seed in facts.pop("failed_seeds", {}).get(task, ())
                write_run_folder(
                    root / sub / task / f"seed_{seed}",
                    submission=sub,
                    content_hash="sha256:" + ("a" if sub == "ppo" else "b") * 64,
                    task=task,
                    seed=seed,
                    metrics=latency_and_return(latency, ret),
                    phases={"inference": ("failed", "exit code 3") if failed else ("ok", None)},
                    **facts,
                )
    index_tree(root)


def compare(root: Path, *args: str) -> dict:
    result = CliRunner().invoke(main, ["compare", *args, "--results-root", str(root), "--json", "--resamples", "200"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def row(result: dict, task: str, name: str) -> dict:
    return next(m for m in result["tasks"][task]["metrics"] if m["name"] == name)


LAT = {"ppo": [(1.25, 10.0), (1.5, 11.0), (2.0, 12.5), (1.0, 9.0)], "sac": [(3.0, 20.0), (2.75, 21.5), (3.5, 19.0)]}


def test_every_number_equals_the_runs_metrics_json(tmp_path):
    make_runs(tmp_path, {"ppo": {"T-v0": LAT["ppo"]}, "sac": {"T-v0": LAT["sac"]}})
    result = compare(tmp_path, "ppo", "sac")
    latency = row(result, "T-v0", "latency.mean")
    assert (latency["unit"], latency["direction"], latency["group"]) == ("ms", "lower", "system")
    for sub, label in (("ppo", PPO), ("sac", SAC)):
        from_files = [
            next(v["value"] for v in json.loads((tmp_path / sub / "T-v0" / f"seed_{s}" / "metrics.json").read_text())
                 if v["name"] == "latency.mean")
            for s in range(len(LAT[sub]))
        ]  # fmt: skip
        cell = latency["submissions"][label]
        assert cell["values"] == {str(s): v for s, v in enumerate(from_files)}
        assert cell["mean"] == pytest.approx(np.mean(from_files)) and cell["std"] == pytest.approx(
            np.std(from_files, ddof=1)
        )
        assert cell["iqm"] == pytest.approx(stats.trim_mean(from_files, 0.25))
        low, high = cell["iqm_ci"]
        assert min(from_files) <= low <= cell["iqm"] <= high <= max(from_files)
    returns = row(result, "T-v0", "reliability.returns.mean")
    assert returns["group"] == "application" and returns["submissions"][PPO]["mean"] == pytest.approx(10.625)
    names = {m["name"] for m in result["tasks"]["T-v0"]["metrics"]}
    assert names == {"latency.mean", "reliability.returns.mean"}  # no better direction, or not a number: left out
    # lower latency is better: every ppo run beats every sac run; higher return: every sac run beats ppo's
    assert latency["pairs"][0]["probability_of_improvement"] == 1.0
    assert returns["pairs"][0]["probability_of_improvement"] == 0.0


def test_p_values_are_corrected_over_the_whole_comparison(tmp_path):
    ppo = [(1.0 + 0.01 * s, 10.0 + s) for s in range(8)]
    sac = [(2.0 + 0.01 * s, 10.5 + s) for s in range(8)]
    make_runs(tmp_path, {"ppo": {"A-v0": ppo, "B-v0": ppo}, "sac": {"A-v0": sac, "B-v0": sac}})
    result = compare(tmp_path, PPO, SAC)
    tests = [p for t in result["tasks"].values() for m in t["metrics"] for p in m["pairs"]]
    tests += [p for m in result["aggregate"]["metrics"] for p in m["pairs"]]
    assert len(tests) == 6 and "over all 6 tests" in result["rules"]["correction"]
    expected = adjusted_p_values([p["p_value"] for p in tests])
    assert [p["p_adjusted"] for p in tests] == pytest.approx(list(expected))
    latency = row(result, "A-v0", "latency.mean")["pairs"][0]
    assert latency["significant"] and latency["p_value"] < 0.01  # fully separated, 8 seeds each
    assert not row(result, "A-v0", "reliability.returns.mean")["pairs"][0]["significant"]  # overlapping returns
    aggregate = {m["name"]: m for m in result["aggregate"]["metrics"]}
    assert result["aggregate"]["tasks"] == ["A-v0", "B-v0"]
    # pooled per task, ppo's 8 latencies take ranks 1..8 and sac's 9..16
    assert aggregate["latency.mean"]["submissions"][PPO]["mean_rank"] == 4.5
    assert aggregate["latency.mean"]["submissions"][SAC]["mean_rank"] == 12.5


def test_a_failed_seed_gets_no_mean_and_counts_as_the_worst_run(tmp_path):
    sac = [(0.5, 30.0), (0.5, 30.0), (0.5, 30.0)]  # better than ppo on everything, but seed 2 failed
    make_runs(
        tmp_path,
        {"ppo": {"T-v0": LAT["ppo"][:3]}, "sac": {"T-v0": sac}},
        sac={"failed_seeds": {"T-v0": (2,)}},
    )
    result = compare(tmp_path, "ppo", "sac")
    latency = row(result, "T-v0", "latency.mean")
    cell = latency["submissions"][SAC]
    assert cell["status"] == "failed" and cell["mean"] is None and cell["iqm"] is None and cell["n_failed"] == 1
    assert "failed seeds: 2" in cell["reason"] and cell["values"]["2"] == 0.5  # the stored value stays visible
    # P(ppo better than sac): ppo's 3 runs beat sac's failed run, lose to its 2 completed ones
    assert latency["pairs"][0]["probability_of_improvement"] == pytest.approx(3 / 9)
    ranks = {m["name"]: m for m in result["aggregate"]["metrics"]}["latency.mean"]["submissions"]
    # lower is better: sac's completed runs rank 1.5 each, ppo's 3..5, sac's failed run last (6)
    assert ranks[SAC]["mean_rank"] == pytest.approx((1.5 + 1.5 + 6) / 3) and ranks[SAC]["n_failed"] == 1
    assert ranks[PPO]["mean_rank"] == pytest.approx(4.0)


def test_a_rerun_seed_does_not_replace_its_failed_run(tmp_path):
    make_runs(
        tmp_path,
        {"ppo": {"T-v0": LAT["ppo"][:3]}, "sac": {"T-v0": LAT["sac"]}},
        sac={"failed_seeds": {"T-v0": (2,)}},
    )
    write_run_folder(
        tmp_path / "sac" / "T-v0" / "seed_2-rerun",
        submission="sac",
        content_hash="sha256:" + "b" * 64,
        task="T-v0",
        seed=2,
        metrics=latency_and_return(0.1, 99.0),
        started="2026-12-01T12:00:00+00:00",
    )
    index_tree(tmp_path)
    result = compare(tmp_path, "ppo", "sac")
    cell = row(result, "T-v0", "latency.mean")["submissions"][SAC]
    assert cell["status"] == "failed" and cell["n"] == 4
    assert sorted(v for k, v in cell["values"].items() if k.startswith("2@")) == [0.1, 3.5]
    assert result["warnings"] == [
        f"{SAC} ran seed 2 of T-v0 2 times; every run counts (a rerun does not replace a failed run)"
    ]


def test_what_differs_between_the_compared_runs_is_flagged(tmp_path):
    same = {"ppo": {"T-v0": LAT["ppo"]}, "sac": {"T-v0": LAT["sac"]}}
    make_runs(tmp_path / "same", same)
    assert compare(tmp_path / "same", "ppo", "sac")["comparability"] == []

    make_runs(
        tmp_path / "differ",
        {"ppo": {"T-v0": LAT["ppo"]}, "sac": {"T-v1": LAT["sac"]}},
        sac={
            "machine": {**TEST_MACHINE, "cpu_model": "Other CPU"},
            "versions": {**TEST_VERSIONS, "a2perf-reliability": "0.2.0"},
        },
    )
    flags = {f["fact"]: f for f in compare(tmp_path / "differ", "ppo", "sac")["comparability"]}
    assert set(flags) == {"machine.cpu_model", "versions.a2perf-reliability", "task version of T"}
    assert flags["machine.cpu_model"]["values"] == [
        {"value": "Test CPU 3000", "runs": {PPO: 4}},
        {"value": "Other CPU", "runs": {SAC: 3}},
    ]
    assert [v["value"] for v in flags["task version of T"]["values"]] == ["v0", "v1"]

    make_runs(
        tmp_path / "settings",
        {"ppo": {"T-v0": LAT["ppo"]}, "sac": {"T-v0": LAT["sac"]}},
        sac={"settings": {"num_inference_episodes": 100}, "gin_config": "RunSettings.num_inference_episodes = 100\n"},
    )
    result = CliRunner().invoke(main, ["compare", "ppo", "sac", "--results-root", str(tmp_path / "settings")])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning: not comparable")]
    assert warnings[0] == (
        "warning: not comparable: settings.num_inference_episodes differs on T-v0: "
        f"3 ({PPO}: 4 runs); 100 ({SAC}: 3 runs)"
    )
    assert warnings[1].startswith("warning: not comparable: gin configuration (sha256) differs on T-v0: 'sha256:")
    assert f"({PPO}: 4 runs)" in warnings[1] and f"({SAC}: 3 runs)" in warnings[1] and len(warnings) == 2


def test_folders_of_runs_compare_like_their_labels(tmp_path):
    make_runs(tmp_path, {"ppo": {"T-v0": LAT["ppo"]}, "sac": {"T-v0": LAT["sac"]}})
    by_label = compare(tmp_path, "ppo", "sac")
    by_folder = compare(tmp_path / "elsewhere", str(tmp_path / "ppo"), str(tmp_path / "sac"))
    assert by_folder["tasks"] == by_label["tasks"] and by_folder["aggregate"] == by_label["aggregate"]
    only_latency = compare(tmp_path, "ppo", "sac", "--metric", "latency.*", "--task", "T-v0")
    assert [m["name"] for m in only_latency["tasks"]["T-v0"]["metrics"]] == ["latency.mean"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["ppo", "td3"], "unknown submission 'td3'"),
        (["ppo"], "needs at least two submissions"),
        (["ppo", "ppo@aaaaaaaa"], "already being compared"),
        (["ppo", "sac", "--task", "Nope-v0"], "no compared submission ran Nope-v0"),
        (["ppo", "sac", "--metric", "nope.*"], "no metric matching nope.*"),
        (["agent", "sac"], "names 2 versions"),
        (["{root}", "sac"], "holds runs of 4 submissions"),
    ],
)
def test_user_mistakes_are_one_line_errors(tmp_path, args, message):
    make_runs(tmp_path, {"ppo": {"T-v0": LAT["ppo"]}, "sac": {"T-v0": LAT["sac"]}})
    write_run_folder(tmp_path / "agent1", submission="agent", content_hash="sha256:" + "c" * 64)
    write_run_folder(tmp_path / "agent2", submission="agent", content_hash="sha256:" + "d" * 64)
    index_tree(tmp_path)
    args = [a.format(root=tmp_path) for a in args]
    result = CliRunner().invoke(main, ["compare", *args, "--results-root", str(tmp_path)])
    assert result.exit_code == 2 and message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_a_missing_database_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(main, ["compare", "ppo", "sac", "--results-root", str(tmp_path)])
    assert result.exit_code == 2 and "no results database at" in result.output
    assert "a2perf results index" in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.slow
def test_real_runs_of_two_submissions_compare_with_their_own_numbers(tmp_path):
    import shutil

    import a2perf_core

    example = Path(a2perf_core.__file__).parent / "examples" / "random_submission"
    root = tmp_path / "results"
    for name in ("first", "second"):
        shutil.copytree(example, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        (tmp_path / name / "notes.txt").write_text(name)  # a different content hash
        args = [str(tmp_path / name), "--seeds", "0,1", "--phase", "inference", "--out", str(root / name)]
        args += ["--results-root", str(root), "--gin-param", "RunSettings.num_inference_episodes = 2"]
        result = CliRunner().invoke(main, ["run", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    result = compare(root, "first", "second")
    assert result["comparability"] == []  # same machine, versions and settings: nothing to flag
    assert set(result["tasks"]) == {"CircuitTraining-Synthetic-v0"}
    rows = result["tasks"]["CircuitTraining-Synthetic-v0"]["metrics"]
    assert {"latency.mean", "memory.peak", "reliability.returns.mean"} <= {m["name"] for m in rows}
    for label, name in zip(sorted(result["submissions"]), ("first", "second"), strict=True):
        for seed in (0, 1):
            stored = json.loads((root / name / f"seed_{seed}" / "metrics.json").read_text())
            by_key = {(v["name"], v["phase"]): v["value"] for v in stored}
            for m in rows:
                assert m["submissions"][label]["values"][str(seed)] == by_key[(m["name"], m["phase"])]


def write_train_log(run_dir: Path, returns: list[float]) -> None:
    rows = "".join(f"{100 * (i + 1)},{r!r},10,{i}.0,1\n" for i, r in enumerate(returns))
    (run_dir / "train_log.csv").write_text("global_step,episode_return,episode_length,wall_time_s,finished\n" + rows)


def test_dispersion_and_risk_across_runs_follow_the_seeds_summary_and_the_failed_seed_rule(tmp_path):
    from a2perf_reliability.metric import ReliabilityMetric

    from a2perf_core.metrics import RunRecords

    root = tmp_path / "results"
    make_runs(
        root,
        {"ppo": {"T-v0": [(1.0, 1.0)] * 3}, "sac": {"T-v0": [(1.0, 1.0)] * 3}},
        sac={"failed_seeds": {"T-v0": (2,)}},
    )
    curves = {"ppo": [[0, 1, 2, 3, 4], [0, 2, 1, 4, 3], [1, 1, 2, 2, 5]], "sac": [[0, 5, 0, 5, 0]] * 3}
    for sub, per_seed in curves.items():
        for seed, returns in enumerate(per_seed):
            write_train_log(root / sub / "T-v0" / f"seed_{seed}", [float(r) for r in returns])
    result = compare(root, "ppo", "sac")
    rows = {m["name"]: m for m in result["tasks"]["T-v0"]["across_runs"]}
    assert set(rows) == {"reliability.dispersion_across_runs", "reliability.risk_across_runs"}
    expected = {
        v.name: v.value
        for v in ReliabilityMetric().summarize([RunRecords(root / "ppo" / "T-v0" / f"seed_{s}") for s in range(3)])
    }
    for name, row in rows.items():
        assert row["submissions"][PPO]["value"] == expected[name]
        assert row["submissions"][SAC]["status"] == "failed" and "failed seeds: 2" in row["submissions"][SAC]["reason"]
        assert row["pairs"] == []  # no test against a submission without a value


@pytest.mark.slow
def test_across_run_values_equal_those_a_seeds_run_recorded(tmp_path):
    import shutil

    import a2perf_core

    example = Path(a2perf_core.__file__).parent / "examples" / "random_submission"
    root = tmp_path / "results"
    for name in ("first", "second"):
        shutil.copytree(example, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        (tmp_path / name / "notes.txt").write_text(name)
        args = [str(tmp_path / name), "--seeds", "0,1,2", "--phase", "train", "--out", str(root / name)]
        args += ["--results-root", str(root)]  # across-run values need the training curves only
        result = CliRunner().invoke(main, ["run", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    result = compare(root, "first", "second")
    rows = {m["name"]: m for m in result["tasks"]["CircuitTraining-Synthetic-v0"]["across_runs"]}
    assert set(rows) == {"reliability.dispersion_across_runs", "reliability.risk_across_runs"}
    for label, name in zip(sorted(result["submissions"]), ("first", "second"), strict=True):
        recorded = {v["name"]: v["value"] for v in json.loads((root / name / "metrics.json").read_text())}
        for metric_name, row in rows.items():
            assert row["submissions"][label]["value"] == recorded[metric_name]
    (pair,) = rows["reliability.dispersion_across_runs"]["pairs"]
    assert 0 <= pair["p_value"] <= 1 and pair["p_adjusted"] >= pair["p_value"]
