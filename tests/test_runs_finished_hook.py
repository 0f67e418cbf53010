"""The after-runs hook: `a2perf run` hands its run directories to plugins and prints what they return."""

from __future__ import annotations

import json
import types

import pytest
from click.testing import CliRunner

from a2perf_core.cli import main
from a2perf_core.hookspecs import hookimpl
from a2perf_core.plugins import PluginInfo

CALLS: list[tuple[list, object]] = []


def after_runs_plugin(fail: bool = False) -> tuple[object, PluginInfo]:
    module = types.ModuleType("after_runs")

    @hookimpl
    def a2perf_runs_finished(run_dirs, out_dir):
        CALLS.append((list(run_dirs), out_dir))
        if fail:
            raise OSError("disk full")
        return f"report: {out_dir / 'report.html'}"

    module.a2perf_runs_finished = a2perf_runs_finished
    return module, PluginInfo("after_runs", "dist-after-runs", "0")


def run(tmp_path, *args: str):
    return CliRunner().invoke(
        main,
        ["run", "--task", "ExampleCorridor-v0", "--phase", "inference", "--out", str(tmp_path / "out"), *args]
        + ["--gin-param", "RunSettings.num_inference_episodes = 1", "--gin-param", "RunSettings.num_warmup_calls = 0"],
    )


@pytest.fixture
def example(with_example_domain):
    from a2perf_example_domain import plugin

    CALLS.clear()
    return plugin


def test_the_hook_gets_every_run_dir_and_its_line_is_printed_last(example, a2perf_plugins, tmp_path):
    a2perf_plugins(example, after_runs_plugin())
    result = run(tmp_path, "--seeds", "2,0")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    assert CALLS == [([out / "seed_2", out / "seed_0"], out)]
    assert (out / "summary.json").exists()  # called after the summary was written
    assert result.output.rstrip().splitlines()[-1] == f"report: {out / 'report.html'}"


def test_a_plugin_that_raises_is_a_warning_and_the_run_still_succeeds(example, a2perf_plugins, tmp_path):
    a2perf_plugins(example, after_runs_plugin(fail=True))
    result = run(tmp_path)
    assert result.exit_code == 0, result.output
    assert CALLS == [([tmp_path / "out"], tmp_path / "out")]
    assert "warning: plugin 'after_runs' (dist-after-runs) failed after the runs: OSError: disk full" in result.output


def test_with_json_the_line_goes_to_stderr_and_stdout_stays_json(example, a2perf_plugins, tmp_path):
    a2perf_plugins(example, after_runs_plugin())
    result = CliRunner().invoke(
        main,
        ["run", "--task", "ExampleCorridor-v0", "--phase", "inference", "--out", str(tmp_path / "out"), "--json"]
        + ["--gin-param", "RunSettings.num_inference_episodes = 1"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["runs"][0]["run_dir"] == str(tmp_path / "out")
    assert "report: " in result.stderr
