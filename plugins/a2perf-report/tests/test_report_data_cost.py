"""The Data cost section: a run that declares datasets shows its own training cost, its data cost and their sum."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from a2perf_report.errors import ReportInputError
from a2perf_report.report import write_report


class DataCostRows(HTMLParser):
    """quantity -> (own training, data cost, sum) of the data-cost table's rows."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[str]] = {}
        self.quantity: str | None = None
        self.column: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "tr" and "data-quantity" in attributes:
            self.quantity = attributes["data-quantity"]
            self.rows[self.quantity] = []
        elif tag == "td" and self.quantity and attributes.get("class") in ("own", "data", "sum"):
            self.column = attributes["class"]

    def handle_endtag(self, tag):
        if tag == "td":
            self.column = None
        elif tag == "tr":
            self.quantity = None

    def handle_data(self, data):
        if self.column:
            self.rows[self.quantity].append(data.strip())


def cost(energy, steps, wall):
    return {"energy_kwh": energy, "env_steps": steps, "wall_time_s": wall, "sources": [{"kind": "collection"}]}


def offline_run(tmp_path, written_run, metric_value, datasets):
    """A run whose train phase recorded 0.004 kWh, 30 env steps (its training log) and 12.5 s."""
    folder = written_run(
        tmp_path / "offline",
        submission="bc",
        task="Alpha-v0",
        seed=0,
        metrics=[metric_value("energy.total", 0.004, "kWh", "lower", "train")],
        returns=[1.0, 2.0, 3.0],
    )
    info = json.loads((folder / "run.json").read_text())
    info["phases"]["train"]["wall_time_s"] = 12.5
    if datasets is not None:
        info["datasets"] = datasets
    (folder / "run.json").write_text(json.dumps(info))
    return folder


def test_section_shows_own_data_and_sum(tmp_path, written_run, metric_value):
    datasets = [
        {"id": "a2perf/Alpha-v0/expert-v0", "data_cost": cost(0.01, 5000, 100.0)},
        {"id": "a2perf/Alpha-v0/novice-v0", "data_cost": cost(0.02, 1000, 50.0)},
    ]
    run = offline_run(tmp_path, written_run, metric_value, datasets)
    html = write_report([run], tmp_path / "report").read_text()
    parser = DataCostRows()
    parser.feed(html)
    assert parser.rows == {
        "energy (kWh)": ["0.004", "0.03", "0.034"],
        "env steps": ["30", "6000", "6030"],
        "wall time (s)": ["12.5", "150", "162.5"],
    }
    assert "a2perf/Alpha-v0/expert-v0, a2perf/Alpha-v0/novice-v0" in html
    markdown = write_report([run], tmp_path / "md", "markdown").read_text()
    assert "## Data cost" in markdown
    assert "| env steps | 30 | 6000 | 6030 |" in markdown
    latex = write_report([run], tmp_path / "tex", "latex").read_text()
    assert "env steps & 30 & 6000 & 6030" in latex


def test_unmeasured_energy_has_no_sum(tmp_path, written_run, metric_value):
    run = offline_run(
        tmp_path, written_run, metric_value, [{"id": "a2perf/Alpha-v0/x-v0", "data_cost": cost(None, 7, 1.0)}]
    )
    parser = DataCostRows()
    parser.feed(write_report([run], tmp_path / "report").read_text())
    assert parser.rows["energy (kWh)"] == ["0.004", "not measured", "not measured"]
    assert parser.rows["env steps"] == ["30", "7", "37"]


def test_runs_without_datasets_have_no_section(tmp_path, written_run, metric_value):
    run = offline_run(tmp_path, written_run, metric_value, None)
    html = write_report([run], tmp_path / "report").read_text()
    assert "Data cost" not in html and "data-quantity" not in html


@pytest.mark.parametrize(
    ("datasets", "message"),
    [
        ({"id": "x"}, "is not a list"),
        ([{"id": "x"}], "without an id and a data_cost"),
        ([{"id": "x", "data_cost": {"energy_kwh": 1.0}}], "lacks env_steps, wall_time_s"),
        ([{"id": "x", "data_cost": cost("a lot", 1, 1.0)}], "energy_kwh is not a number"),
    ],
)
def test_malformed_datasets_are_one_line_errors(tmp_path, written_run, metric_value, datasets, message):
    run = offline_run(tmp_path, written_run, metric_value, datasets)
    with pytest.raises(ReportInputError, match=message) as info:
        write_report([run], tmp_path / "report")
    assert "\n" not in str(info.value)
