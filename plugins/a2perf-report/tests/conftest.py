"""Fixtures of the report tests: run folders written the way the runner writes them, real runs of
two submissions × three seeds on two tasks (made once per session), and a headless Chromium."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

from a2perf_core.testing_data import missing_prerequisite

PHASES = ("train", "inference", "generalization")


def metric(name: str, value: Any, unit: str = "", direction: str = "none", phase: str | None = "inference") -> dict:
    return {"name": name, "value": value, "unit": unit, "direction": direction, "phase": phase, "description": ""}


def write_run(
    run_dir: Path,
    *,
    submission: str,
    task: str,
    seed: int,
    metrics: Sequence[dict],
    failed_phase: str | None = None,
    returns: Sequence[float] = (),
    latencies_ns: Sequence[int] = (),
) -> Path:
    """A run folder as the runner leaves it (the fields the report reads), with its records."""
    run_dir.mkdir(parents=True, exist_ok=True)
    phases = {
        p: {"status": "ok", "reason": None}
        if p != failed_phase
        else {"status": "failed", "reason": "exception: ValueError: boom in infer_once"}
        for p in PHASES
    }
    info = {
        "format": "a2perf-run/2",
        "task": task,
        "seed": seed,
        "phases_requested": list(PHASES),
        "phases": phases,
        "submission": {"reference": f"agents/{submission}", "content_hash": None, "loader": "folder"},
        "settings": {
            "phases": list(PHASES),
            "gin_files": [],
            "gin_params": ["RunSettings.num_inference_episodes = 3"],
            "participant_args": {"lr": 0.001},
            "timeout_s": None,
            "max_memory_mib": None,
        },
        "gin_config": "RunSettings.num_inference_episodes = 3\n",
        "versions": {"a2perf-core": "0.1.0"},
        "machine": {"cpu_model": "test CPU", "logical_cpus": 2},
    }
    (run_dir / "run.json").write_text(json.dumps(info))
    (run_dir / "metrics.json").write_text(json.dumps(list(metrics)))
    if returns:
        with (run_dir / "inference_episodes.csv").open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["episode", "return", "length"])
            writer.writerows([i, r, 10] for i, r in enumerate(returns))
        with (run_dir / "train_log.csv").open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["global_step", "episode_return", "episode_length", "wall_time_s", "finished"])
            writer.writerows([10 * (i + 1), r, 10, 0.1 * (i + 1), 1] for i, r in enumerate(returns))
    if latencies_ns:
        np.save(run_dir / "latencies_ns.npy", np.asarray(latencies_ns, dtype=np.int64))
    return run_dir


@pytest.fixture(scope="session")
def written_run() -> Callable[..., Path]:
    return write_run


@pytest.fixture(scope="session")
def metric_value() -> Callable[..., dict]:
    return metric


# --- real runs ---------------------------------------------------------------------------------

SECOND_TASK = "ExampleCorridor-v0"
QUICK = [
    "--gin-param",
    "RunSettings.num_inference_episodes = 2",
    "--gin-param",
    "RunSettings.num_generalization_episodes = 1",
    "--seeds",
    "0,1,2",
]


def _a2perf(*args: str, cwd: Path, report: bool = True) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "a2perf_core", *args]
    env = None if report else {**os.environ, "A2PERF_DISABLE_PLUGINS": "a2perf-report"}
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, f"{' '.join(args)}\n{result.stdout}\n{result.stderr}"
    return result


@attrs.frozen
class RealRuns:
    root: Path
    #: --out folder of the ``a2perf run`` that wrote its report after the run -> what it printed on stdout
    outputs: dict[Path, str]


@pytest.fixture(scope="session")
def real_runs(tmp_path_factory: pytest.TempPathFactory) -> RealRuns:
    """``runs/<submission>/<task>/seed_N``: the bundled example and a copy that seeds its policy
    differently, three seeds each, on the default task and on the example domain's corridor."""
    pytest.importorskip("a2perf_circuit_training", reason="needs the default task's plugin installed")
    pytest.importorskip("a2perf_example_domain", reason="needs the example domain installed (nox -s tests)")
    root = tmp_path_factory.mktemp("report-runs")
    _a2perf("init-submission", "agents/reseeded", cwd=root)
    inference = root / "agents" / "reseeded" / "inference.py"
    source = inference.read_text()
    assert 'load_kwargs.get("seed", seed))' in source
    inference.write_text(source.replace('load_kwargs.get("seed", seed))', 'load_kwargs.get("seed", seed) + 1000)'))
    outputs = {}
    for submission in ("example", "reseeded"):
        reference = [] if submission == "example" else ["agents/reseeded"]
        for task, folder in ((None, "synthetic"), (SECOND_TASK, "corridor")):
            out = f"runs/{submission}/{folder}"
            first = not outputs  # the after-run report of one invocation is enough to test; it costs seconds
            args = ["run", *reference, *(["--task", task] if task else []), "--out", out, *QUICK]
            result = _a2perf(*args, cwd=root, report=first)
            if first:
                outputs[root / out] = result.stdout
    return RealRuns(root / "runs", outputs)


# --- a headless Chromium -----------------------------------------------------------------------


def _browser_paths() -> tuple[str | None, str | None]:
    chrome = os.environ.get("A2PERF_CHROME") or shutil.which("chromium") or shutil.which("chromium-browser")
    return chrome, os.environ.get("A2PERF_CHROMEDRIVER") or shutil.which("chromedriver")


@pytest.fixture
def chromium() -> Iterator[Any]:
    """A headless Chromium under chromedriver that keeps the page's console log."""
    chrome, driver_path = _browser_paths()
    if not (chrome and driver_path):
        missing_prerequisite("needs Chromium and chromedriver (Debian: apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chrome
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def reading() -> Any:
    """The helpers of ``report_reading.py`` (tests are imported by path, so it is loaded the same way)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("report_reading", Path(__file__).with_name("report_reading.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
