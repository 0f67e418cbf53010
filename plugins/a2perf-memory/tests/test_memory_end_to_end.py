"""Through the real runner: memory values per phase, and none when the plugin is switched off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def a2perf_run(out: Path, disabled: str) -> dict:
    environ = {**os.environ, "A2PERF_DISABLE_PLUGINS": disabled}
    command = [sys.executable, "-c", "from a2perf_core.cli import main; main()", "run", "--out", str(out)]
    done = subprocess.run(command, env=environ, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    info = json.loads((out / "run.json").read_text())
    assert not info.get("metric_errors")
    return {(v["name"], v["phase"]): v for v in json.loads((out / "metrics.json").read_text())}


@pytest.mark.slow
def test_memory_per_phase_and_absent_when_switched_off(tmp_path: Path) -> None:
    values = a2perf_run(tmp_path / "with", disabled="a2perf-energy")
    for phase in ("train", "inference"):
        peak = values["memory.peak", phase]
        assert peak["unit"] == "MiB" and peak["value"] > 10
        assert values["memory.spike_missed", phase]["value"] is False
        assert (tmp_path / "with" / f"memory_{phase}.csv").exists()

    values = a2perf_run(tmp_path / "without", disabled="a2perf-energy,a2perf-memory")
    assert not any(name.startswith("memory.") for name, _ in values)
    assert ("wall_clock.train", "train") in values and ("latency.p50", "inference") in values
    assert not list((tmp_path / "without").glob("memory_*.csv"))
