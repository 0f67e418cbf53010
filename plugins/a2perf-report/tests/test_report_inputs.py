"""Choosing runs and bad input: run folders are found by run.json, and every mistake is one line."""

from __future__ import annotations

import pytest
from a2perf_report.errors import ReportInputError
from a2perf_report.runs import find_run_dirs, load_runs
from click.testing import CliRunner

from a2perf_core.cli import main


def report(*args: str):
    return CliRunner().invoke(main, ["report", *args])


@pytest.fixture
def plugin_loaded(a2perf_plugins):
    from a2perf_report import plugin

    return a2perf_plugins(plugin)


def one_run(written_run, metric_value, path, submission="ppo", seed=0, **kw):
    values = [metric_value("reliability.returns.mean", 1.0 + seed, "", "higher")]
    return written_run(path, submission=submission, task="Alpha-v0", seed=seed, metrics=values, **kw)


def test_run_folders_are_found_at_and_below_the_paths_given_each_once(tmp_path, written_run, metric_value):
    a = one_run(written_run, metric_value, tmp_path / "runs" / "ppo" / "seed_0")
    b = one_run(written_run, metric_value, tmp_path / "runs" / "ppo" / "seed_1", seed=1)
    c = one_run(written_run, metric_value, tmp_path / "single")
    (tmp_path / "runs" / ".hidden" / "x").mkdir(parents=True)
    (tmp_path / "runs" / ".hidden" / "x" / "run.json").write_text("{}")
    assert find_run_dirs([tmp_path / "runs", c, a / "run.json"]) == [a, b, c]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p.mkdir(), "no runs found (no run.json in it or below it)"),
        (lambda p: None, "no such file or folder"),
        (lambda p: p.write_text("x"), "give a run folder (holding run.json) or a folder of run folders"),
    ],
)
def test_paths_without_runs_are_one_line_errors(tmp_path, plugin_loaded, setup, message):
    target = tmp_path / "target"
    setup(target)
    result = report(str(target), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"error: {target}: {message}"]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "the run.json is not valid JSON"),
        ('{"task": 3}', "not an a2perf run record (no task or submission)"),
        ("[]", "not an a2perf run record (no task or submission)"),
    ],
)
def test_an_unreadable_run_json_is_a_one_line_error(
    tmp_path, plugin_loaded, written_run, metric_value, content, message
):
    good = one_run(written_run, metric_value, tmp_path / "runs" / "good")
    bad = one_run(written_run, metric_value, tmp_path / "runs" / "bad")
    (bad / "run.json").write_text(content)
    result = report(str(good.parent), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"error: {bad / 'run.json'}: {message}")


def test_a_metrics_json_that_is_not_a_list_of_values_is_refused(tmp_path, written_run, metric_value):
    run = one_run(written_run, metric_value, tmp_path / "run")
    (run / "metrics.json").write_text('{"name": "x"}')
    with pytest.raises(ReportInputError, match="metrics.json: not a list of metric values"):
        load_runs([run])


def test_an_out_that_is_a_file_is_a_one_line_error(tmp_path, plugin_loaded, written_run, metric_value):
    run = one_run(written_run, metric_value, tmp_path / "run")
    (tmp_path / "file").write_text("")
    result = report(str(run), "--out", str(tmp_path / "file"))
    assert result.exit_code == 2
    assert result.output.strip() == f"error: --out {tmp_path / 'file'}: it is a file, not a folder"


def test_the_command_writes_the_report_and_says_where(tmp_path, plugin_loaded, written_run, metric_value):
    run = one_run(written_run, metric_value, tmp_path / "run", returns=[1.0, 2.0])
    result = report(str(run), "--out", str(tmp_path / "out"), "--image-format", "svg")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote {tmp_path / 'out' / 'report.html'}"
    html = (tmp_path / "out" / "report.html").read_text()
    assert "src='data:image/svg+xml;base64," in html and "src='http" not in html and "<link" not in html


def test_filters_select_indexed_runs_alone_or_among_the_runs_given(tmp_path, plugin_loaded, metric_value):
    from a2perf_core.results.store import index_tree
    from a2perf_core.results.testing import write_run_folder

    root = tmp_path / "root"
    alpha = write_run_folder(root / "alpha", task="Alpha-v0", metrics=[metric_value("latency.p50", 1.0, "ms", "lower")])
    beta = write_run_folder(root / "beta", task="Beta-v0", metrics=[metric_value("latency.p50", 2.0, "ms", "lower")])
    index_tree(root)

    def reported(*args: str) -> str:
        out = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
        result = report(*args, "--out", str(out), "--format", "markdown", "--results-root", str(root))
        assert result.exit_code == 0, result.output
        return (out / "report.md").read_text()

    only_beta = reported("--task", "Beta-v0")
    assert "Beta-v0" in only_beta and "Alpha-v0" not in only_beta
    everything = reported()
    assert "Beta-v0" in everything and "Alpha-v0" in everything
    among_given = reported(str(alpha), str(beta), "--task", "Alpha-v0")
    assert "Alpha-v0" in among_given and "Beta-v0" not in among_given
    result = report("--task", "Gamma-v0", "--out", str(tmp_path / "none"), "--results-root", str(root))
    assert result.exit_code == 2 and result.output.strip().splitlines() == [
        f"error: no run indexed in {root} matches the filters given"
    ]
