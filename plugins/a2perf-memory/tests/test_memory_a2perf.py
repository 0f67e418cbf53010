"""The README's "Differences from A2Perf" table against A2Perf's RAM analysis on real timelines.

``data/a2perf_memory_values.json`` holds memory timelines of real runs, this plugin's values for
them, and what A2Perf's ``get_peak_ram_usage`` / ``get_mean_ram_usage`` returned on rows taken
from them as A2Perf's codecarbon fork writes them (its ``recorded`` key says how).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

DATA = json.loads((Path(__file__).parent / "data" / "a2perf_memory_values.json").read_text())
README = Path(__file__).parents[1] / "README.md"
RUN = DATA["run"]
A2PERF = DATA["a2perf"]
HOST_MIB = DATA["host_rss_mib"]
MIB_PER_GIB = 1024


def difference_row(behaviour: str) -> str:
    """The row of the README's differences table whose first cell is ``behaviour``."""
    table = README.read_text().partition("## Differences from A2Perf")[2]
    rows = [line for line in table.splitlines() if line.startswith(f"| {behaviour} |")]
    assert rows, f"no row {behaviour!r} in the README's 'Differences from A2Perf' table"
    return rows[0]


def fork_row_polls(time_s: list[float], interval_s: float) -> list[int]:
    """The polls standing for the fork's CSV rows: one per ``interval_s`` and the last (at stop)."""
    times = np.asarray(time_s)
    marks = [*np.arange(interval_s, times[-1], interval_s), times[-1]]
    return [int(np.argmin(np.abs(times - mark))) for mark in marks]


def a2perf_ram_process_gib(timeline: dict[str, list[float]], host_mib: float) -> np.ndarray:
    """``ram_process`` of each fork row: the tracker host's and its children's RSS, in GiB."""
    rss = np.asarray(timeline["rss_mib"])[fork_row_polls(timeline["time_s"], A2PERF["interval_s"])]
    return (rss + host_mib) / MIB_PER_GIB


def test_a2perf_aggregation_reproduces_its_recorded_values() -> None:
    assert fork_row_polls(RUN["time_s"], A2PERF["interval_s"]) == A2PERF["row_polls"]
    for key, host in (("tree_only", 0.0), ("with_host", HOST_MIB)):
        rows = a2perf_ram_process_gib(RUN, host)
        assert rows.max() == pytest.approx(A2PERF[key]["peak_gb"]["mean"], rel=1e-12)
        assert rows.mean() == pytest.approx(A2PERF[key]["mean_gb"]["mean"], rel=1e-12)
        assert rows.std(ddof=1) == pytest.approx(A2PERF[key]["mean_gb"]["std"], rel=1e-9)
    seeds = DATA["seeds"]
    per_seed = [a2perf_ram_process_gib(timeline, HOST_MIB) for timeline in seeds["timelines"].values()]
    peaks = np.array([rows.max() for rows in per_seed])
    pooled = np.concatenate(per_seed)
    assert peaks.mean() == pytest.approx(seeds["a2perf_with_host"]["peak_gb"]["mean"], rel=1e-12)
    assert peaks.std(ddof=1) == pytest.approx(seeds["a2perf_with_host"]["peak_gb"]["std"], rel=1e-9)
    assert pooled.mean() == pytest.approx(seeds["a2perf_with_host"]["mean_gb"]["mean"], rel=1e-12)
    assert pooled.std(ddof=1) == pytest.approx(seeds["a2perf_with_host"]["mean_gb"]["std"], rel=1e-9)


def test_codecarbon_from_pypi_writes_no_ram_process() -> None:
    assert "ram_process" in A2PERF["on_codecarbon_3_csv"]
    assert f"`{A2PERF['on_codecarbon_3_csv']}`" in difference_row("where the number comes from")


def test_tracker_host_process_counted_by_a2perf() -> None:
    ours = RUN["ours"]["memory.peak"]
    theirs = A2PERF["with_host"]["peak_gb"]["mean"] * MIB_PER_GIB
    row = difference_row("which processes")
    assert f"{HOST_MIB:.2f} MiB" in row
    assert f"peak {theirs:.2f} MiB with it vs ours {ours:.2f} MiB ({theirs / ours:.2f} times)" in row


def test_one_row_per_power_sample() -> None:
    ours = RUN["ours"]
    peak = A2PERF["tree_only"]["peak_gb"]["mean"] * MIB_PER_GIB
    mean = A2PERF["tree_only"]["mean_gb"]["mean"] * MIB_PER_GIB
    assert peak == pytest.approx(ours["memory.peak"], abs=0.005)
    row = difference_row("sampling")
    assert f"{len(A2PERF['row_polls'])} rows vs {len(RUN['time_s'])} polls" in row
    assert f"peak {peak:.2f} MiB both" in row
    change = (mean / ours["memory.mean_rss"] - 1) * 100
    assert f"mean {mean:.2f} MiB vs ours {ours['memory.mean_rss']:.2f} MiB (−{abs(change):.1f} %" in row


def test_gib_labelled_gb() -> None:
    gib = A2PERF["tree_only"]["peak_gb"]["mean"]
    gigabytes = gib * 2**30 / 1e9
    row = difference_row("unit")
    assert f'{gib:.4f} "GB" for {gib * MIB_PER_GIB:.2f} MiB, which is {gigabytes:.4f} GB' in row
    assert f"({(gigabytes / gib - 1) * 100:.1f} % more)" in row


def test_seeds_aggregated_as_stated() -> None:
    seeds = DATA["seeds"]
    theirs = seeds["a2perf_with_host"]
    ours = seeds["ours"]
    for name in ("memory.peak", "memory.mean_rss"):
        values = np.array(list(ours[name]["values"].values()))
        assert (values.mean(), values.std(ddof=1)) == pytest.approx((ours[name]["mean"], ours[name]["std"]), rel=1e-12)
    row = difference_row("several seeds")
    peak, mean = theirs["peak_gb"], theirs["mean_gb"]
    assert (
        f"A2Perf peak {peak['mean'] * MIB_PER_GIB:.2f} ± {peak['std'] * MIB_PER_GIB:.2f} MiB, "
        f"mean {mean['mean'] * MIB_PER_GIB:.2f} ± {mean['std'] * MIB_PER_GIB:.2f} MiB"
    ) in row
    assert (
        f"ours peak {ours['memory.peak']['mean']:.2f} ± {ours['memory.peak']['std']:.2f} MiB, "
        f"mean {ours['memory.mean_rss']['mean']:.2f} ± {ours['memory.mean_rss']['std']:.2f} MiB"
    ) in row
