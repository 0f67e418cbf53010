"""The latency metric on run directories written the way the runner writes them."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
from a2perf_latency import plugin
from a2perf_latency.metric import PLOT_SVG, SUMMARY_CSV, LatencyMetric
from a2perf_latency.percentiles import summarize_latencies
from a2perf_latency.plot import latency_svg

from a2perf_core.metrics import LATENCIES, LATENCIES_ROUNDTRIP, RUN_JSON, WARMUP_LATENCIES, RunRecords

SVG = "{http://www.w3.org/2000/svg}"


def write_run(run_dir: Path, latencies_ns: list[int], warmup_ns: list[int], overhead_ns: float | None = 250.0) -> Path:
    np.save(run_dir / LATENCIES, np.asarray(latencies_ns, dtype=np.int64))
    np.save(run_dir / WARMUP_LATENCIES, np.asarray(warmup_ns, dtype=np.int64))
    inference: dict = {"status": "ok", "wall_time_s": 1.0}
    if overhead_ns is not None:
        inference["harness_overhead_ns_per_call"] = overhead_ns
    (run_dir / RUN_JSON).write_text(json.dumps({"phases": {"inference": inference}}))
    return run_dir


def by_name(values: list) -> dict:
    return {v.name: v for v in values}


def test_values_units_and_files(tmp_path: Path) -> None:
    ms = 1_000_000
    write_run(tmp_path, [4 * ms, 1 * ms, 3 * ms, 2 * ms, 5 * ms], [40 * ms, 6 * ms])
    values = by_name(LatencyMetric().analyze(RunRecords(tmp_path)))

    assert values["latency.count"].value == 5
    assert values["latency.mean"].value == pytest.approx(3.0)
    assert values["latency.min"].value == 1.0
    assert values["latency.p50"].value == 3.0
    assert values["latency.p90"].value == 5.0
    assert values["latency.max"].value == 5.0
    assert values["latency.throughput"].value == pytest.approx(5 / 0.015)
    assert values["latency.throughput"].direction == "higher"
    assert values["latency.warmup.count"].value == 2
    assert values["latency.warmup.first"].value == 40.0
    assert values["latency.warmup.mean"].value == 23.0
    assert values["latency.harness_overhead"].value == pytest.approx(0.00025)
    for name, value in values.items():
        if name not in ("latency.count", "latency.warmup.count", "latency.throughput"):
            assert value.unit == "ms", name
            assert value.direction == "lower", name
        assert value.phase == "inference"

    with (tmp_path / SUMMARY_CSV).open() as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["statistic", "value_ms", "samples"]
    assert ["p50", "3.0", "5"] in rows
    assert ElementTree.parse(tmp_path / PLOT_SVG).getroot().tag == SVG + "svg"


def test_the_plot_draws_the_samples_it_was_given(tmp_path: Path) -> None:
    """Hand-counted: samples 1, 1, 2, 4 ms in 3 bins over [1, 4] ms fall 2, 1, 1; p50 = sorted[2] = 2 ms."""
    ms = 1_000_000
    samples = np.array([4 * ms, 1 * ms, 2 * ms, 1 * ms], dtype=np.int64)
    summary = summarize_latencies(samples, (0.5,))
    root = ElementTree.fromstring(latency_svg(samples, summary, bins=3))
    bars = root.findall(f"{SVG}rect[@class='bar']")
    assert [int(b.get("data-count")) for b in bars] == [2, 1, 1]
    assert [float(b.get("x")) for b in bars] == sorted(float(b.get("x")) for b in bars)
    lines = root.findall(f"{SVG}line[@class='percentile']")
    assert {(line.get("data-label"), float(line.get("data-ms"))) for line in lines} == {("p50", 2.0)}
    assert len(lines) == 2  # one in each panel
    steps = root.find(f"{SVG}path[@class='cdf']").get("d")
    assert steps.count("V") == samples.size  # one rise of 1/n per sample
    assert "latency, n = 4" in "".join(root.itertext())


def test_few_samples_are_flagged_in_the_output(tmp_path: Path) -> None:
    write_run(tmp_path, list(range(1_000_000, 101_000_000, 1_000_000)), [])
    values = by_name(LatencyMetric().analyze(RunRecords(tmp_path)))
    p99 = values["latency.p99"]
    assert p99.details["trustworthy"] is False
    assert p99.details["min_samples_for_claim"] == 662
    assert "only 100 samples" in p99.description and "662" in p99.description
    assert values["latency.p90"].details["trustworthy"] is True  # 100 >= 64


def test_enough_samples_are_not_flagged(tmp_path: Path) -> None:
    write_run(tmp_path, [1_000_000] * 700, [])
    p99 = by_name(LatencyMetric().analyze(RunRecords(tmp_path)))["latency.p99"]
    assert p99.details["trustworthy"] is True
    assert "note" not in p99.details


def test_no_inference_phase_gives_no_values(tmp_path: Path) -> None:
    assert LatencyMetric().analyze(RunRecords(tmp_path)) == []


def test_failed_inference_without_samples_reports_zero_count(tmp_path: Path) -> None:
    (tmp_path / RUN_JSON).write_text(json.dumps({"phases": {"inference": {"status": "failed"}}}))
    values = by_name(LatencyMetric().analyze(RunRecords(tmp_path)))
    assert values["latency.count"].value == 0
    assert "latency.p50" not in values


def test_sleeping_policy_p50_matches_its_sleep(tmp_path: Path) -> None:
    """Time a policy that sleeps 20 ms exactly as the runner does; the median must be the sleep."""
    sleep_s = 0.020

    def infer_once(observation: np.ndarray) -> int:
        time.sleep(sleep_s)
        return 0

    observation = np.zeros(4)
    samples = []
    for _ in range(15):
        start = time.perf_counter_ns()
        infer_once(observation)
        samples.append(time.perf_counter_ns() - start)
    write_run(tmp_path, samples, [], overhead_ns=None)
    p50 = by_name(LatencyMetric(plot=False).analyze(RunRecords(tmp_path)))["latency.p50"].value
    assert sleep_s * 1000 <= p50 < sleep_s * 1000 * 1.5


def test_registered_through_the_plugin(a2perf_plugins) -> None:
    plugins = a2perf_plugins(plugin)
    spec = plugins.registry.metrics["latency"].spec
    assert (spec.unit, spec.direction) == ("ms", "lower")
    assert spec.factory == "a2perf_latency.metric:LatencyMetric"


def test_absent_without_the_plugin(a2perf_plugins) -> None:
    plugins = a2perf_plugins()
    assert "latency" not in plugins.registry.metrics
    assert "wall_clock" in plugins.registry.metrics


def test_entry_point_module_is_light() -> None:
    code = (
        "import sys, a2perf_latency.plugin; "
        "heavy = {'numpy', 'matplotlib', 'gin', 'a2perf_latency.metric'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_settings_are_gin_configurable(tmp_path: Path) -> None:
    import gin

    try:
        gin.parse_config(
            "a2perf_latency.LatencyMetric.percentiles = (0.5, 0.999)\na2perf_latency.LatencyMetric.plot = False"
        )
        write_run(tmp_path, [1_000_000] * 10, [])
        values = by_name(LatencyMetric().analyze(RunRecords(tmp_path)))
        assert "latency.p99.9" in values and "latency.p90" not in values
        assert not (tmp_path / PLOT_SVG).exists()
    finally:
        gin.clear_config()


def test_untrusted_round_trips_are_reported_with_the_transport_floor(tmp_path: Path) -> None:
    ms = 1_000_000
    write_run(tmp_path, [1 * ms, 1 * ms, 1 * ms, 1 * ms, 1 * ms], [])
    np.save(tmp_path / LATENCIES_ROUNDTRIP, np.asarray([5 * ms, 2 * ms, 4 * ms, 3 * ms, 6 * ms], dtype=np.int64))
    info = json.loads((tmp_path / RUN_JSON).read_text())
    info["phases"]["inference"]["transport_floor_ns"] = 0.25 * ms
    (tmp_path / RUN_JSON).write_text(json.dumps(info))
    values = by_name(LatencyMetric(plot=False).analyze(RunRecords(tmp_path)))

    assert values["latency.roundtrip.count"].value == 5
    assert values["latency.roundtrip.p50"].value == pytest.approx(4.0)  # sorted [2,3,4,5,6][floor(5*0.5)]
    assert values["latency.roundtrip.mean"].value == pytest.approx(4.0)
    assert values["latency.roundtrip.min"].value == pytest.approx(2.0)
    assert values["latency.roundtrip.max"].value == pytest.approx(6.0)
    assert values["latency.transport_floor"].value == pytest.approx(0.25)
    assert values["latency.roundtrip.p50"].details["transport_floor_ms"] == pytest.approx(0.25)
    assert values["latency.roundtrip.p50"].details["measured_by"] == "harness"
    assert values["latency.p50"].value == pytest.approx(1.0)
    assert values["latency.p50"].details["reported_by"] == "participant (policy process)"


def test_a_trusted_run_has_no_round_trip_values(tmp_path: Path) -> None:
    write_run(tmp_path, [1_000_000, 2_000_000], [])
    names = set(by_name(LatencyMetric(plot=False).analyze(RunRecords(tmp_path))))
    assert "latency.p50" in names
    assert not {n for n in names if n.startswith("latency.roundtrip") or n == "latency.transport_floor"}


def test_the_analysis_imports_no_plotting_library(tmp_path: Path) -> None:
    """The plot is written without matplotlib: its import alone cost more than the whole analysis (issue #13)."""
    write_run(tmp_path, [1_000_000, 2_000_000, 3_000_000], [])
    code = (
        "import sys; from a2perf_latency.metric import LatencyMetric; from a2perf_core.metrics import RunRecords; "
        f"LatencyMetric().analyze(RunRecords({str(tmp_path)!r})); "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert (tmp_path / PLOT_SVG).exists()
