"""The bundled example submission through all phases on a task of every installed domain.

Slow: each domain's real environment runs (the web navigation one in a headless Chromium).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def installed_domains() -> dict[str, str]:
    """domain -> a task of it whose data is present (preferring one that needs no data)."""
    result = subprocess.run(
        [sys.executable, "-m", "a2perf_core", "tasks", "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=_all_plugins_env(),
    )
    chosen: dict[str, str] = {}
    for row in sorted(json.loads(result.stdout), key=lambda r: (bool(r["data"]), r["id"])):
        if row["data_present"] and row["domain"] != "example":
            chosen.setdefault(row["domain"], row["id"])
    return chosen


def _all_plugins_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "A2PERF_LOAD_PLUGINS"}


@pytest.mark.slow
def test_example_submission_runs_every_phase_on_every_domain(tmp_path):
    domains = installed_domains()
    assert domains, "no domain plugin is installed"
    for domain, task in sorted(domains.items()):
        out = tmp_path / domain
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "a2perf_core",
                "run",
                "--task",
                task,
                "--out",
                str(out),
                "--participant-arg",
                "num_episodes=1",
                "--gin-param",
                "RunSettings.num_inference_episodes = 2",
                "--gin-param",
                "RunSettings.num_generalization_episodes = 1",
                "--timeout",
                "600",
            ],
            capture_output=True,
            text=True,
            env=_all_plugins_env(),
            timeout=900,
        )
        assert result.returncode == 0, f"{task}: {result.stderr[-3000:]}"
        info = json.loads((out / "run.json").read_text())
        assert {p: r["status"] for p, r in info["phases"].items()} == {
            "train": "ok",
            "inference": "ok",
            "generalization": "ok",
        }, task
        episodes = (out / "inference_episodes.csv").read_text().splitlines()
        assert len(episodes) == 3, task
        assert (out / "train_log.csv").read_text().count("\n") >= 2, task
        generalization = (out / "generalization_episodes.csv").read_text().splitlines()[1:]
        assert generalization and all(line.split(",")[0] for line in generalization), task
        names = {m["name"] for m in json.loads((out / "metrics.json").read_text())}
        assert {"wall_clock.train", "wall_clock.inference", "wall_clock.generalization"} <= names, task
