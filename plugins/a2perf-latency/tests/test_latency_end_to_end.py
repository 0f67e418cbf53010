"""Through the real runner: a policy that sleeps 10 ms per call, with the energy plugin switched off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SLEEP_MS = 10.0

SLOW_POLICY = f"""

import time as _time

_template_infer_once = infer_once


def infer_once(policy, observation):
    _time.sleep({SLEEP_MS / 1000!r})
    return _template_infer_once(policy, observation)
"""


def a2perf(*args: str, disabled: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "A2PERF_DISABLE_PLUGINS": disabled}
    command = [sys.executable, "-c", "from a2perf_core.cli import main; main()", *args]
    return subprocess.run(command, env=environ, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_sleeping_policy_through_the_runner_without_energy(tmp_path: Path) -> None:
    submission = tmp_path / "submission"
    assert a2perf("init-submission", str(submission), disabled="").returncode == 0
    with (submission / "inference.py").open("a") as f:
        f.write(SLOW_POLICY)
    out = tmp_path / "run"
    done = a2perf("run", str(submission), "--phase", "inference", "--out", str(out), disabled="a2perf-energy")
    assert done.returncode == 0, done.stdout + done.stderr

    info = json.loads((out / "run.json").read_text())
    assert info["phases"]["inference"]["status"] == "ok"
    assert not info.get("metric_errors")
    values = {v["name"]: v for v in json.loads((out / "metrics.json").read_text())}
    assert not any(name.startswith("energy.") for name in values)
    assert "memory.peak" in values and "wall_clock.inference" in values
    p50 = values["latency.p50"]
    assert p50["unit"] == "ms"
    assert SLEEP_MS <= p50["value"] < SLEEP_MS * 1.5
    assert values["latency.count"]["value"] > 0
    assert (out / "latency_inference.svg").exists()
    assert (out / "latency_summary_ms.csv").read_text().startswith("statistic,value_ms,samples")
