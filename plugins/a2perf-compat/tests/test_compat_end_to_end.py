"""A submission written to A2Perf's template, with A2Perf's own gin file, runs unchanged.

Slow and needs a browser: it drives the real web navigation domain.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TEMPLATE_TRAIN = """
import gymnasium as gym
from a2perf.domains import web_navigation  # noqa: F401 - registers the ids, as in A2Perf


def train():
    env = gym.make("WebNavigation-DifficultyLevel-01-v0")
    env.action_space.seed(0)
    observation, _ = env.reset(seed=0)
    done = False
    while not done:  # A2Perf's observation carries no mask: any action of its Discrete(12500)
        observation, _, terminated, truncated, _ = env.step(env.action_space.sample())
        done = terminated or truncated
    env.close()
"""

TEMPLATE_INFERENCE = """
def load_policy(env, **load_kwargs):
    env.action_space.seed(0)
    return env.action_space


def preprocess_observation(observation, time_step_spec=None):
    return observation


def infer_once(policy, preprocessed_observation):
    return int(policy.sample())
"""


@pytest.mark.slow
@pytest.mark.browser
def test_a2perf_template_and_gin_file_run_unchanged(tmp_path):
    pytest.importorskip("a2perf_web_navigation", reason="needs the web navigation plugin installed")
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "__init__.py").write_text("")
    (submission / "requirements.txt").write_text("numpy\ngymnasium\n")
    (submission / "train.py").write_text(textwrap.dedent(TEMPLATE_TRAIN))
    (submission / "inference.py").write_text(textwrap.dedent(TEMPLATE_INFERENCE))
    gin_file = Path(__file__).parent / "a2perf_web_navigation_train.gin"
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k != "A2PERF_LOAD_PLUGINS"}
    result = subprocess.run(
        [sys.executable, "-m", "a2perf_core", "run", str(submission), "--gin-file", str(gin_file), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "warning: Submission.run_offline_metrics_only is accepted but has no effect" in result.stderr
    info = json.loads((out / "run.json").read_text())
    assert info["task"] == "WebNavigation-Difficulty-01-v0"
    assert {p: r["status"] for p, r in info["phases"].items()} == {"train": "ok"}
    assert (out / "train_log.csv").read_text().count("\n") == 2  # header and the one episode
    assert info["settings"]["metric_options"]["energy"]["region"] == "Massachusetts"
