"""The numbers of the README's "Differences from A2Perf" table: A2Perf's `format_value` rule against ours."""

from __future__ import annotations

from pathlib import Path

from a2perf_report.table import format_number

README = Path(__file__).resolve().parents[1] / "README.md"


def a2perf_format_value(value: float) -> str:
    """A2Perf's rule (``a2perf/analysis/results.py``, ``format_value``): scientific below 0.01, else 2 decimals."""
    return f"{value:.2e}" if abs(value) < 1e-2 else f"{value:.2f}"


def test_the_format_row_states_what_both_rules_print() -> None:
    row = next(line for line in README.read_text().splitlines() if line.startswith("| number format |"))
    for value in (0.0099, 0.0101, 123.456):
        assert f"`{a2perf_format_value(value)}`" in row
        assert f"`{format_number(value)}`" in row
