"""Through the real runner: energy values per phase and the tracker's start-up outside the wall time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_energy_per_phase_without_latency(tmp_path: Path) -> None:
    out = tmp_path / "run"
    environ = {**os.environ, "A2PERF_DISABLE_PLUGINS": "a2perf-latency"}
    command = [sys.executable, "-c", "from a2perf_core.cli import main; main()", "run", "--out", str(out)]
    done = subprocess.run(command, env=environ, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr

    info = json.loads((out / "run.json").read_text())
    assert not info.get("metric_errors")
    values = {(v["name"], v["phase"]): v for v in json.loads((out / "metrics.json").read_text())}
    assert not any(name.startswith("latency.") for name, _ in values)
    for phase in ("train", "inference"):
        assert values["energy.total", phase]["value"] > 0
        assert values["energy.cpu_method", phase]["value"]
        assert (out / f"emissions_{phase}.csv").exists()
        # codecarbon's start-up (seconds) happens before the participant's span, which both values cover
        assert info["phases"][phase]["wall_time_s"] < values["energy.duration", phase]["value"] + 1.0
    assert values["energy.total", "train"]["details"]["measure_power_secs"] == 5.0
    assert values["energy.total", "inference"]["details"]["measure_power_secs"] == 1.0
