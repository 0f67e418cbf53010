"""End to end: real runs of two submissions × three seeds on two tasks, their report opened in a
headless Chromium: every image loads, the console stays clean, every number and every best mark is
what the runs' metrics.json say; and `a2perf run` itself ends with the path of its report."""

from __future__ import annotations

import math

import pytest
from a2perf_report.report import write_report
from a2perf_report.runs import find_run_dirs

pytestmark = [pytest.mark.slow, pytest.mark.browser]

TASKS = {"CircuitTraining-Synthetic-v0", "ExampleCorridor-v0"}


@pytest.fixture(scope="module")
def report_of_real_runs(real_runs, tmp_path_factory):
    return write_report(find_run_dirs([real_runs.root]), tmp_path_factory.mktemp("real-report"))


def test_the_report_renders_in_chromium_with_every_image_and_no_console_error(chromium, report_of_real_runs):
    chromium.get(report_of_real_runs.as_uri())
    images = chromium.execute_script(
        "return [...document.images].map(i => [i.alt, i.complete, i.naturalWidth, i.src.slice(0, 22)])"
    )
    assert len(images) >= 9  # 2 training, rollouts, latency, 2 memory, energy, generalization, profile
    for alt, complete, width, src in images:
        assert complete and width > 0, alt
        assert src.startswith("data:image/png;base64"), alt
    errors = [entry for entry in chromium.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    requested = chromium.execute_script("return performance.getEntriesByType('resource').map(r => r.name)")
    assert requested == []  # self-contained: nothing fetched besides the file itself


def test_the_marked_best_cells_are_the_right_ones(chromium, report_of_real_runs, real_runs, reading):
    chromium.get(report_of_real_runs.as_uri())
    marked = chromium.execute_script(
        "return [...document.querySelectorAll('td[data-best]')].map(td => "
        "[td.closest('tr').dataset.metric, td.closest('tr').dataset.phase, td.dataset.submission, td.dataset.task,"
        " getComputedStyle(td.querySelector('b')).fontWeight])"
    )
    cells = reading.read_cells(report_of_real_runs.read_text()).cells
    recorded = reading.recorded_values(sorted(p.parent for p in real_runs.root.rglob("run.json")))
    across = reading.across_values(sorted(p.parent for p in real_runs.root.rglob("run.json")))
    means = {}
    for i, cell in enumerate(cells):
        submission, task = cell["attrs"]["data-submission"].split("@")[0], cell["attrs"]["data-task"]
        key = (submission, task, cell["row"]["data-metric"], cell["row"]["data-phase"] or None)
        values = [across[key]] if key in across else reading.values_of_cell(cell, recorded, TASKS)
        if values:
            means[i] = math.fsum(values) / len(values)
    expected = reading.expected_best(cells, means)
    as_keys = {
        (c["row"]["data-metric"], c["row"]["data-phase"], c["attrs"]["data-submission"], c["attrs"]["data-task"])
        for i, c in enumerate(cells)
        if i in expected
    }
    assert {tuple(m[:4]) for m in marked} == as_keys
    assert len(as_keys) > 20
    assert all(int(m[4]) >= 600 for m in marked)  # shown bold


def test_every_number_equals_the_runs_metrics_json(report_of_real_runs, real_runs, reading):
    cells = reading.read_cells(report_of_real_runs.read_text()).cells
    recorded = reading.recorded_values(sorted(p.parent for p in real_runs.root.rglob("run.json")))
    columns = {(c["attrs"]["data-submission"].split("@")[0], c["attrs"]["data-task"]) for c in cells}
    assert columns == {(s, t) for s in ("random_submission", "reseeded") for t in (*TASKS, "all tasks")}
    across = reading.across_values(sorted(p.parent for p in real_runs.root.rglob("run.json")))
    assert len(across) == 4 * 4  # dispersion and risk across runs, IQM across runs, generalization aggregate
    checked = 0
    for cell in cells:
        submission, task = cell["attrs"]["data-submission"].split("@")[0], cell["attrs"]["data-task"]
        key = (submission, task, cell["row"]["data-metric"], cell["row"]["data-phase"] or None)
        if key in across:
            assert reading.shows(cell["text"], [across[key]]), (key, cell["text"])
            continue
        values = reading.values_of_cell(cell, recorded, TASKS)
        if not values:
            assert cell["text"] == "–"
            continue
        assert reading.shows(cell["text"], values), (cell["row"], cell["attrs"], values)
        checked += 1
    assert checked > 200


def test_markdown_and_latex_of_real_runs_hold_the_same_cells(report_of_real_runs, real_runs, reading, tmp_path):
    cells = reading.read_cells(report_of_real_runs.read_text()).cells
    markdown = write_report(find_run_dirs([real_runs.root]), tmp_path / "md", "markdown").read_text()
    latex = write_report(find_run_dirs([real_runs.root]), tmp_path / "tex", "latex").read_text()
    for cell in cells:
        text = f"**{cell['text']}**" if cell["bold"] else cell["text"]
        tex = cell["text"].replace("±", r"$\pm$").replace("–", "--")
        assert f"| {text} |" in markdown
        assert (rf"\textbf{{{tex}}}" if cell["bold"] else f" {tex} ") in latex


def test_a2perf_run_ends_with_the_path_of_its_report(real_runs):
    assert len(real_runs.outputs) == 1
    for out, stdout in real_runs.outputs.items():
        report = out / "report" / "report.html"
        assert stdout.rstrip().splitlines()[-1] == f"report: {report.relative_to(real_runs.root.parent)}"
        html = report.read_text()
        assert html.count("<tr class='run' data-status='ok'>") == 3  # the three seeds of this invocation
