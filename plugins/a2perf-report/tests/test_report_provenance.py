"""The provenance footer: the command lines that reproduce the runs, versions, machines, gin."""

from __future__ import annotations

import shlex
from html import unescape

from a2perf_report.provenance import collect_provenance
from a2perf_report.report import write_report
from a2perf_report.runs import find_run_dirs, load_runs


def test_seeds_of_one_invocation_are_reproduced_by_one_command(tmp_path, written_run, metric_value):
    values = [metric_value("reliability.returns.mean", 1.0, "", "higher")]
    root = tmp_path / "runs" / "ppo"
    dirs = [
        written_run(root / f"seed_{s}", submission="ppo", task="Alpha-v0", seed=s, metrics=values) for s in (0, 1, 2)
    ]
    single = written_run(tmp_path / "one", submission="sac", task="Alpha-v0", seed=7, metrics=values)
    commands = collect_provenance(load_runs([*dirs, single])).commands
    assert [shlex.split(c) for c in commands] == [
        ["a2perf", "run", "agents/ppo", "--task", "Alpha-v0", "--seeds", "0,1,2"]
        + [
            "--gin-param",
            "RunSettings.num_inference_episodes = 3",
            "--participant-arg",
            "lr=0.001",
            "--out",
            str(root),
        ],
        ["a2perf", "run", "agents/sac", "--task", "Alpha-v0", "--seed", "7"]
        + ["--gin-param", "RunSettings.num_inference_episodes = 3", "--participant-arg", "lr=0.001"]
        + ["--out", str(single)],
    ]


def test_the_footer_shows_commands_versions_machines_and_the_collapsed_gin_config(tmp_path, written_run, metric_value):
    values = [metric_value("reliability.returns.mean", 1.0, "", "higher")]
    run = written_run(tmp_path / "r", submission="ppo", task="Alpha-v0", seed=0, metrics=values)
    html = write_report(find_run_dirs([run]), tmp_path / "out").read_text()
    footer = unescape(html.split("<footer>")[1])
    assert (
        "a2perf run agents/ppo --task Alpha-v0 --seed 0 --gin-param 'RunSettings.num_inference_episodes = 3'" in footer
    )
    assert "1 run: a2perf-core 0.1.0" in footer
    assert "1 run: cpu_model: test CPU, logical_cpus: 2" in footer
    assert "<details><summary>1 run</summary><pre>RunSettings.num_inference_episodes = 3\n</pre>" in footer


def test_commands_name_folders_inside_the_current_one_relatively(tmp_path, monkeypatch, written_run, metric_value):
    import json

    values = [metric_value("reliability.returns.mean", 1.0, "", "higher")]
    run_dir = written_run(tmp_path / "runs" / "seed_0", submission="ppo", task="T-v0", seed=0, metrics=values)
    info = json.loads((run_dir / "run.json").read_text())
    info["submission"]["reference"] = str(tmp_path / "baselines" / "ppo")
    (run_dir / "run.json").write_text(json.dumps(info))
    monkeypatch.chdir(tmp_path)
    (command,) = collect_provenance(load_runs([run_dir])).commands
    assert command.startswith("a2perf run baselines/ppo --task T-v0") and str(tmp_path) not in command
    assert command.endswith("--out runs/seed_0")
    monkeypatch.chdir(tmp_path / "runs")  # outside the current folder: as recorded
    (command,) = collect_provenance(load_runs([run_dir])).commands
    assert str(tmp_path / "baselines" / "ppo") in command


def test_markdown_names_the_machines_the_runs_ran_on(tmp_path, written_run, metric_value):
    values = [metric_value("reliability.returns.mean", 1.0, "", "higher")]
    runs = [written_run(tmp_path / f"r{s}", submission="ppo", task="Alpha-v0", seed=s, metrics=values) for s in (0, 1)]
    markdown = write_report(find_run_dirs(runs), tmp_path / "out", fmt="markdown").read_text()
    assert "Machine (2 runs): cpu_model: test CPU, logical_cpus: 2" in markdown
