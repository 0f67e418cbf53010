"""The README's "Differences from A2Perf" table against A2Perf's own statistics on real samples.

``data/a2perf_latency_values.json`` holds the infer_once timings of real runs and what A2Perf's
code computed on them (its ``recorded`` key says how). Each test recomputes one row's effect with
this plugin's code and checks the number the README states.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from a2perf_latency.percentiles import summarize_latencies

DATA = json.loads((Path(__file__).parent / "data" / "a2perf_latency_values.json").read_text())
README = Path(__file__).parents[1] / "README.md"
RUN = DATA["run"]
A2PERF = DATA["a2perf"]


def difference_row(behaviour: str) -> str:
    """The row of the README's differences table whose first cell is ``behaviour``."""
    table = README.read_text().partition("## Differences from A2Perf")[2]
    rows = [line for line in table.splitlines() if line.startswith(f"| {behaviour} |")]
    assert rows, f"no row {behaviour!r} in the README's 'Differences from A2Perf' table"
    return rows[0]


def a2perf_inference_time(latencies_ns: list[int]) -> dict[str, float]:
    """A2Perf's ``inference_time`` entry: statistics of every timed call, in seconds."""
    seconds = np.asarray(latencies_ns, dtype=float) / 1e9
    return {
        "mean": float(np.mean(seconds)),
        "std": float(np.std(seconds)),
        "max": float(np.max(seconds)),
        "median": float(np.median(seconds)),
        "min": float(np.min(seconds)),
    }


def test_a2perf_formula_reproduces_its_recorded_statistics() -> None:
    every_call = RUN["warmup_latencies_ns"] + RUN["latencies_ns"]
    assert a2perf_inference_time(every_call) == pytest.approx(A2PERF["inference_time_s"], rel=1e-12)


def test_a2perf_table_shows_seconds_under_a_milliseconds_label() -> None:
    ours = summarize_latencies(RUN["latencies_ns"])
    shown = A2PERF["table"]["display_val"]
    shown_mean = float(shown.split(" ")[0])
    assert A2PERF["table"]["unit"] == "ms"
    assert ours.mean_ms / shown_mean == pytest.approx(1000, rel=1e-3)
    row = difference_row("unit")
    assert f"`{shown}`" in row and f"{ours.mean_ms:.4f} ms" in row


def test_warmup_calls_counted_by_a2perf() -> None:
    ours = summarize_latencies(RUN["latencies_ns"]).mean_ms
    theirs = A2PERF["inference_time_s"]["mean"] * 1000
    row = difference_row("warm-up")
    assert f"{theirs:.6f} ms vs ours {ours:.6f} ms" in row
    assert f"+{(theirs / ours - 1) * 100:.2f} %" in row


def test_spread_and_middle_value_on_the_same_calls() -> None:
    ours = summarize_latencies(RUN["latencies_ns"], percentiles=(0.5,))
    theirs = a2perf_inference_time(RUN["latencies_ns"])
    ordered = np.sort(RUN["latencies_ns"]) / 1e6
    middle = ordered.size // 2
    assert ours.percentiles_ms["p50"] == ordered[middle]
    assert theirs["median"] * 1000 == pytest.approx((ordered[middle - 1] + ordered[middle]) / 2, rel=1e-12)
    assert ours.std_ms == pytest.approx(theirs["std"] * 1000 * np.sqrt(ordered.size / (ordered.size - 1)), rel=1e-12)
    assert f"{theirs['std'] * 1000:.6f} vs {ours.std_ms:.6f} ms" in difference_row("spread")
    assert f"median {theirs['median'] * 1000:.7f} ms vs p50 {ours.percentiles_ms['p50']:.6f} ms" in difference_row(
        "middle value"
    )


def test_seeds_pooled_by_a2perf_and_summarized_per_seed_by_us() -> None:
    seeds = DATA["seeds"]
    warmup = seeds["warmup_calls"]
    pooled_ns = [ns for calls in seeds["latencies_ns"].values() for ns in calls]
    pooled = a2perf_inference_time(pooled_ns)
    assert pooled["mean"] == pytest.approx(seeds["a2perf_pooled_s"]["mean"], rel=1e-12)
    assert pooled["std"] == pytest.approx(seeds["a2perf_pooled_s"]["std"], rel=1e-12)
    per_seed = np.array([summarize_latencies(calls[warmup:]).mean_ms for calls in seeds["latencies_ns"].values()])
    row = difference_row("several seeds")
    assert f"A2Perf {pooled['mean'] * 1000:.4f} ± {pooled['std'] * 1000:.4f} ms" in row
    assert f"ours {per_seed.mean():.4f} ± {per_seed.std(ddof=1):.4f} ms" in row
