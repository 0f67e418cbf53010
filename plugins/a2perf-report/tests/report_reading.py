"""Reading a report back (the HTML table, the Markdown and LaTeX cells) and recomputing what each
cell must say from the runs' own ``metrics.json``, independently of the plugin's code."""

from __future__ import annotations

import json
import math
import statistics
from html.parser import HTMLParser
from pathlib import Path
from typing import Any


class TableCells(HTMLParser):
    """Every value cell of the metric tables: its row's metric, phase, unit and direction, its
    attributes and its visible text (without the CI line)."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict[str, Any]] = []
        self.row: dict[str, str] = {}
        self.cell: dict[str, Any] | None = None
        self.depth_in_ci = 0
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "tr" and "data-metric" in attributes:
            self.row = attributes
        elif tag == "td" and "value" in attributes.get("class", "").split():
            self.cell = {"row": self.row, "attrs": attributes, "text": "", "bold": False}
        elif tag == "div" and self.cell is not None and attributes.get("class") == "ci":
            self.depth_in_ci += 1
        elif tag == "b" and self.cell is not None:
            self.cell["bold"] = True
        elif tag == "img":
            self.images.append(attributes.get("src", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self.depth_in_ci:
            self.depth_in_ci -= 1
        elif tag == "td" and self.cell is not None:
            self.cell["text"] = self.cell["text"].strip()
            self.cells.append(self.cell)
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None and not self.depth_in_ci:
            self.cell["text"] += data


def read_cells(html: str) -> TableCells:
    parser = TableCells()
    parser.feed(html)
    return parser


def recorded_values(run_dirs: list[Path]) -> dict[tuple[str, str, str, str | None], list[float]]:
    """(submission folder name, task, metric, phase) -> every completed run's recorded number."""
    out: dict[tuple[str, str, str, str | None], list[float]] = {}
    for run_dir in run_dirs:
        info = json.loads((run_dir / "run.json").read_text())
        if any(p["status"] not in ("ok", "skipped") for p in info["phases"].values()):
            continue
        folder = Path(info["submission"]["reference"].rstrip("/")).name
        for value in json.loads((run_dir / "metrics.json").read_text()):
            number = value["value"]
            if isinstance(number, (int, float)) and not isinstance(number, bool):
                key = (folder, info["task"], value["name"], value["phase"])
                out.setdefault(key, []).append(float(number))
    return out


def across_values(run_dirs: list[Path]) -> dict[tuple[str, str, str, str | None], float]:
    """(submission folder name, task, metric, phase) -> the across-run value of each ``--seeds`` root
    whose summary.json lists exactly runs among ``run_dirs``."""
    out = {}
    given = {d.resolve() for d in run_dirs}
    for root in {d.parent for d in run_dirs}:
        if not (root / "summary.json").is_file():
            continue
        listed = {(root / name).resolve() for name in json.loads((root / "summary.json").read_text())["runs"]}
        if not listed <= given:
            continue
        info = json.loads((sorted(listed)[0] / "run.json").read_text())
        folder = Path(info["submission"]["reference"].rstrip("/")).name
        for value in json.loads((root / "metrics.json").read_text()):
            if isinstance(value["value"], float):
                out[folder, info["task"], value["name"], value["phase"]] = value["value"]
    return out


def _rounds_to(shown: str, exact: float) -> bool:
    """Whether ``shown`` is ``exact`` to four significant digits (half a unit of the last digit,
    and a hair more: a mean summed in another order may fall on the other side of a tie)."""
    number = float(shown)
    if exact == 0:
        return number == 0
    unit = 10 ** (math.floor(math.log10(abs(exact))) - 3)
    return abs(number - exact) <= 0.5 * unit * (1 + 1e-6)


def shows(text: str, values: list[float]) -> bool:
    """Whether a cell's text is ``mean ± std`` (n - 1) of ``values``, or just the value when there is one."""
    parts = text.split(" ± ")
    if len(values) == 1:
        return len(parts) == 1 and _rounds_to(parts[0], values[0])
    return (
        len(parts) == 2
        and _rounds_to(parts[0], statistics.fmean(values))
        and _rounds_to(parts[1], statistics.stdev(values))
    )


def values_of_cell(cell: dict[str, Any], recorded: dict, tasks: set[str]) -> list[float]:
    """The recorded numbers a cell summarises (its task's runs, or every task's for 'all tasks')."""
    submission = cell["attrs"]["data-submission"].split("@")[0]
    task = cell["attrs"]["data-task"]
    name, phase = cell["row"]["data-metric"], cell["row"]["data-phase"] or None
    chosen = tasks if task == "all tasks" else {task}
    return [v for t in sorted(chosen) for v in recorded.get((submission, t, name, phase), [])]


def expected_best(cells: list[dict[str, Any]], means: dict[int, float]) -> set[int]:
    """Indices of the cells that must be marked best: per row and task, the highest (or lowest) mean."""
    best: set[int] = set()
    groups: dict[tuple, list[int]] = {}
    for i, cell in enumerate(cells):
        if i in means and cell["row"]["data-direction"] in ("higher", "lower"):
            key = (cell["row"]["data-metric"], cell["row"]["data-phase"], cell["attrs"]["data-task"])
            groups.setdefault(key, []).append(i)
    for members in groups.values():
        if len(members) < 2:
            continue
        pick = max if cells[members[0]]["row"]["data-direction"] == "higher" else min
        top = pick(means[i] for i in members)
        best.update(i for i in members if means[i] == top)
    return best
