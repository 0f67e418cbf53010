"""The table: every number is the mean ± std of the runs' metrics.json, the best cells are the right
ones, failed runs are shown failed and never averaged, and all three formats print the same cells."""

from __future__ import annotations

import json
import shutil
import statistics

import pytest
from a2perf_report.report import write_report
from a2perf_report.runs import find_run_dirs

RETURNS = {  # submission -> task -> per-seed mean return (higher is better)
    "ppo": {"Alpha-v0": [1.0, 2.0, 4.5], "Beta-v0": [10.0, 11.0, 13.0]},
    "sac": {"Alpha-v0": [3.0, 3.5, 2.0], "Beta-v0": [9.0, 8.0, 8.5]},
}
LATENCY_MS = {"ppo": [0.5, 0.25, 0.75], "sac": [0.125, 0.375, 0.25]}  # lower is better


@pytest.fixture(scope="module")
def runs(tmp_path_factory, written_run, metric_value):
    tmp_path = tmp_path_factory.mktemp("table")
    for submission, by_task in RETURNS.items():
        for task, returns in by_task.items():
            scale = 2 if task == "Beta-v0" else 1
            for seed, mean_return in enumerate(returns):
                values = [
                    metric_value("reliability.returns.mean", mean_return, "", "higher"),
                    metric_value("latency.p50", LATENCY_MS[submission][seed] * scale, "ms", "lower"),
                    metric_value("energy.total", 1e-6 * (seed + 1) * scale, "kWh", "lower", "train"),
                    metric_value("energy.duration", 0.5 + seed, "s", "none", "train"),
                    metric_value("energy.region", "USA", "", "none", "train"),
                    metric_value("reliability.dispersion_across_rollouts", 0.1 * (seed + 1), "", "lower"),
                ]
                written_run(
                    tmp_path / "runs" / submission / task / f"seed_{seed}",
                    submission=submission,
                    task=task,
                    seed=seed,
                    metrics=values,
                    returns=[mean_return - 0.5, mean_return, mean_return + 0.5],
                    latencies_ns=[int(1e6 * LATENCY_MS[submission][seed])] * 5,
                )
    return tmp_path / "runs"


@pytest.fixture(scope="module")
def reports(runs, tmp_path_factory):
    """The report of ``runs`` in each format, written once."""
    out = tmp_path_factory.mktemp("reports")
    written = {fmt: write_report(find_run_dirs([runs]), out / fmt, fmt) for fmt in ("html", "markdown", "latex")}
    return {**{fmt: path.read_text() for fmt, path in written.items()}, "folder": out}


def html_cells(reading, runs, out):
    html = write_report(find_run_dirs([runs]), out).read_text()
    return html, reading.read_cells(html).cells


def test_every_number_is_the_mean_and_std_of_the_runs_metrics(reading, runs, reports):
    run_dirs = sorted(p.parent for p in runs.rglob("run.json"))
    recorded = reading.recorded_values(run_dirs)
    cells = reading.read_cells(reports["html"]).cells
    assert len(cells) == 5 * 6  # 5 numeric metrics (the region is text) x (2 submissions x (2 tasks + all))
    for cell in cells:
        values = reading.values_of_cell(cell, recorded, {"Alpha-v0", "Beta-v0"})
        assert reading.shows(cell["text"], values), cell
        assert float(cell["attrs"]["data-mean"]) == pytest.approx(statistics.fmean(values), rel=1e-12)
        assert float(cell["attrs"]["data-std"]) == pytest.approx(statistics.stdev(values), rel=1e-12)
        assert "IQM" in cell["attrs"]["title"] and "95% CI" in cell["attrs"]["title"]


def test_the_best_cell_of_each_row_and_task_is_marked(reading, reports):
    cells = reading.read_cells(reports["html"]).cells
    means = {i: float(c["attrs"]["data-mean"]) for i, c in enumerate(cells)}
    marked = {i for i, c in enumerate(cells) if c["attrs"].get("data-best") == "true"}
    assert marked == reading.expected_best(cells, means)
    assert all(cells[i]["bold"] and "best" in cells[i]["attrs"]["class"] for i in marked)
    by_key = {
        (c["row"]["data-metric"], c["attrs"]["data-submission"], c["attrs"]["data-task"]): i
        for i, c in enumerate(cells)
    }
    # returns: sac wins Alpha (2.83 vs 2.5), ppo wins Beta and across tasks; latency: sac is faster
    assert by_key["reliability.returns.mean", "sac", "Alpha-v0"] in marked
    assert by_key["reliability.returns.mean", "ppo", "Beta-v0"] in marked
    assert by_key["latency.p50", "sac", "all tasks"] in marked
    assert not any(cells[i]["row"]["data-direction"] == "none" for i in marked)


def test_units_and_arrows_are_the_metric_values_own(reports):
    html = reports["html"]
    assert "latency.p50 <span class='unit'>(ms)</span> <span class='arrow' title='lower is better'>↓</span>" in html
    assert "energy.total <span class='unit'>(kWh)</span> <span class='arrow' title='lower is better'>↓</span>" in html
    assert "energy.duration <span class='unit'>(s)</span></td>" in html  # direction none: no arrow
    sections = [s.split("'")[0] for s in html.split("data-group='")[1:]]
    assert sections == ["application", "reliability", "system"]


def test_a_failed_run_is_shown_failed_with_its_reason_and_never_averaged(reading, runs, tmp_path):
    shutil.copytree(runs, tmp_path / "runs")
    runs = tmp_path / "runs"
    run_json = runs / "sac" / "Alpha-v0" / "seed_1" / "run.json"
    info = json.loads(run_json.read_text())
    info["phases"]["inference"] = {"status": "failed", "reason": "exception: ValueError: boom in infer_once"}
    run_json.write_text(json.dumps(info))
    html, cells = html_cells(reading, runs, tmp_path / "out")
    sac_alpha = [c for c in cells if c["attrs"]["data-submission"] == "sac" and c["attrs"]["data-task"] == "Alpha-v0"]
    assert {c["text"] for c in sac_alpha} == {"failed (1 of 3 runs)"}
    assert all("data-mean" not in c["attrs"] and "boom in infer_once" in c["attrs"]["title"] for c in sac_alpha)
    sac_all = [c for c in cells if c["attrs"]["data-submission"] == "sac" and c["attrs"]["data-task"] == "all tasks"]
    assert {c["text"] for c in sac_all} == {"failed (1 of 6 runs)"}
    # with sac's Alpha column out, ppo is the only candidate on Alpha: nothing is marked there
    assert not any(c["attrs"].get("data-best") for c in cells if c["attrs"]["data-task"] == "Alpha-v0")
    assert (
        "<td class='status-failed'>failed</td><td class='left'>inference: failed: exception: ValueError: boom" in html
    )


def test_markdown_and_latex_print_the_same_cells(reading, reports):
    cells = reading.read_cells(reports["html"]).cells
    markdown, latex = reports["markdown"], reports["latex"]
    md_rows = [line for line in markdown.splitlines() if line.startswith("| ") and "---" not in line]
    tex_rows = [line for line in latex.splitlines() if line.endswith(r"\\") and " & " in line]
    for cell in cells:
        text = cell["text"]
        md = f"**{text}**" if cell["bold"] else text
        tex = text.replace("±", r"$\pm$")
        tex = rf"\textbf{{{tex}}}" if cell["bold"] else tex
        metric = cell["row"]["data-metric"]
        assert any(metric in row and f"| {md} |" in row for row in md_rows), (metric, md)
        assert any(metric.replace("_", r"\_") in row and f" {tex} " in row for row in tex_rows), (metric, tex)
    assert r"\toprule" in latex and r"\midrule" in latex and r"\bottomrule" in latex
    images = [line.split("](images/")[1].rstrip(")") for line in markdown.splitlines() if "](images/" in line]
    assert len(images) >= 4 and all(
        (reports["folder"] / "markdown" / "images" / name).stat().st_size for name in images
    )
    assert all(rf"\includegraphics[width=\linewidth]{{images/{name}}}" in latex for name in images)


def test_a_mean_is_the_exactly_summed_mean_of_the_recorded_values(tmp_path, written_run, metric_value, reading):
    for seed, value in enumerate([0.1, -0.2, 0.1]):  # a float sum left to right gives 2.8e-17, not 0
        values = [metric_value("reliability.returns.mean", value, "", "higher")]
        written_run(tmp_path / "runs" / f"seed_{seed}", submission="p", task="A-v0", seed=seed, metrics=values)
    html = write_report(find_run_dirs([tmp_path / "runs"]), tmp_path / "out").read_text()
    [cell] = reading.read_cells(html).cells
    assert cell["text"] == f"0 ± {statistics.stdev([0.1, -0.2, 0.1]):.4g}"


def test_across_run_values_of_a_seeds_root_are_shown_as_recorded(reading, runs, tmp_path):
    shutil.copytree(runs, tmp_path / "runs")
    root = tmp_path / "runs" / "ppo" / "Alpha-v0"
    (root / "summary.json").write_text(json.dumps({"runs": ["seed_0", "seed_1", "seed_2"]}))
    value = {"name": "reliability.dispersion_across_runs", "value": 0.123456, "unit": "", "direction": "lower"}
    (root / "metrics.json").write_text(json.dumps([{**value, "phase": "train", "description": ""}]))
    other = tmp_path / "runs" / "sac" / "Alpha-v0"
    (other / "summary.json").write_text(json.dumps({"runs": ["seed_0", "seed_1", "seed_2", "seed_3"]}))
    (other / "metrics.json").write_text(json.dumps([{**value, "value": 9.0, "phase": "train", "description": ""}]))
    cells = reading.read_cells(write_report(find_run_dirs([tmp_path / "runs"]), tmp_path / "out").read_text()).cells
    row = {
        (c["attrs"]["data-submission"], c["attrs"]["data-task"]): c["text"]
        for c in cells
        if c["row"]["data-metric"] == "reliability.dispersion_across_runs"
    }
    # sac's root summarised a run the report does not hold: its value is not shown
    assert row == {("ppo", "Alpha-v0"): "0.1235", ("sac", "Alpha-v0"): "–"} | {
        (s, t): "–" for s in ("ppo", "sac") for t in ("Beta-v0", "all tasks")
    }
