"""The harness end to end on the example corridor domain: honest records and every failure mode."""

from __future__ import annotations

import json
import os
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from a2perf_core.cli import main

ALWAYS_RIGHT = """
def load_policy(env, **load_kwargs):
    return {"step": 1, **load_kwargs}

def preprocess_observation(observation):
    return observation

def infer_once(policy, observation):
    return policy["step"]
"""

TRAIN_OK = """
from a2perf_core import participant

def train():
    participant.log_scalar("learning_rate", 0.5, step=0)
    env = participant.make_env()
    env.reset(seed=participant.seed())
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(1)
        done = terminated or truncated
    env.close()
"""


def write_submission(
    root: Path, train: str = TRAIN_OK, inference: str = ALWAYS_RIGHT, requirements: str = "numpy>=1.24\n"
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "__init__.py").write_text("")
    (root / "requirements.txt").write_text(requirements)
    (root / "train.py").write_text(textwrap.dedent(train))
    (root / "inference.py").write_text(textwrap.dedent(inference))
    return root


def run_cli(*args: str):
    return CliRunner().invoke(main, ["run", *args], catch_exceptions=False)


def phases(run_dir: Path) -> dict:
    return json.loads((run_dir / "run.json").read_text())["phases"]


def test_inference_returns_come_from_the_participants_policy(with_example_domain, tmp_path):
    submission = write_submission(tmp_path / "sub")
    out = tmp_path / "run"
    result = run_cli(str(submission), "--task", "ExampleCorridor-v0", "--out", str(out))
    assert result.exit_code == 0, result.output
    episodes = (out / "inference_episodes.csv").read_text().splitlines()
    # corridor of length 5, always stepping right: 5 steps of -0.1 and +1 at the end
    assert [tuple(map(float, line.split(","))) for line in episodes[1:]] == [(e, 0.5, 5) for e in range(3)]
    latencies = np.load(out / "latencies_ns.npy")
    warmup = np.load(out / "warmup_latencies_ns.npy")
    info = phases(out)
    assert (len(warmup), len(latencies)) == (2, 3 * 5 - 2)
    assert info["inference"]["timed_calls"] == len(latencies)
    assert info["inference"]["harness_overhead_ns_per_call"] > 0
    assert (latencies > 0).all()
    scalars = (out / "train_scalars.csv").read_text().splitlines()
    assert scalars[0] == "name,value,step,wall_time_s" and scalars[1].startswith("learning_rate,0.5,0,")
    train_log = (out / "train_log.csv").read_text().splitlines()
    assert train_log[0] == "global_step,episode_return,episode_length,wall_time_s,finished"
    assert train_log[1].split(",")[:3] == ["5", "0.5", "5"]
    general = (out / "generalization_episodes.csv").read_text().splitlines()
    assert general[1:] == ["ExampleCorridor-v0,0,0.5,5", "ExampleCorridor-v0,1,0.5,5"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert {m["name"] for m in metrics} >= {"wall_clock.train", "wall_clock.inference", "wall_clock.generalization"}
    run = json.loads((out / "run.json").read_text())
    assert run["versions"]["a2perf-core"] and run["machine"]["logical_cpus"] >= 1
    assert "RunSettings.num_inference_episodes = 3" in run["gin_config"]


A2PERF_TEMPLATE = """
def load_policy(env, **load_kwargs):
    return {"step": 1}

def preprocess_observation(observation, time_step_spec):
    assert time_step_spec is None
    return {"wrapped": observation}

def infer_once(*, policy, preprocessed_observation):
    assert "wrapped" in preprocessed_observation
    return policy["step"]
"""


def test_a2perf_keyword_spellings_run_unchanged(with_example_domain, tmp_path):
    submission = write_submission(tmp_path / "sub", inference=A2PERF_TEMPLATE)
    out = tmp_path / "run"
    result = run_cli(str(submission), "--task", "ExampleCorridor-v0", "--phase", "inference", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert phases(out)["inference"]["episodes"] == 3


def test_participant_args_and_gin_params_reach_the_participant(with_example_domain, tmp_path):
    inference = ALWAYS_RIGHT.replace('return policy["step"]', 'return policy["step"] * policy["scale"]')
    submission = write_submission(tmp_path / "sub", inference=inference)
    out = tmp_path / "run"
    result = run_cli(
        str(submission),
        "--task",
        "ExampleCorridor-v0",
        "--phase",
        "inference",
        "--out",
        str(out),
        "--participant-arg",
        "scale=0",
        "--gin-param",
        "RunSettings.num_inference_episodes = 1",
        "--gin-param",
        "RunSettings.num_warmup_calls = 0",
    )
    assert result.exit_code == 0, result.output
    # standing still: 20 steps of -0.1 until the time limit
    episode, total, length = (out / "inference_episodes.csv").read_text().splitlines()[1].split(",")
    assert (episode, length) == ("0", "20") and float(total) == pytest.approx(-2.0)
    assert len(np.load(out / "latencies_ns.npy")) == 20


def grandchild_then(failure: str) -> str:
    """An inference module that leaves a sleeping grandchild behind, then fails in the given way."""
    return f"""
import os, subprocess, sys, time
def load_policy(env, **kw):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    with open(os.path.join(os.environ["A2PERF_RUN_DIR"], "grandchild.pid"), "w") as f:
        f.write(str(child.pid))
    {failure}
    return 1
def preprocess_observation(observation):
    return observation
def infer_once(policy, observation):
    return 1
"""


#: the hang case's limit: it applies to the inference phase alone (train is resumed), so it only
#: needs to cover the child's start-up until load_policy, not a whole training phase
HANG_TIMEOUT_S = 4
FAILURES = {
    "exception": ("raise RuntimeError('policy file is corrupt')", "RuntimeError: policy file is corrupt"),
    "exit": ("sys.exit(3)", "exited with code 3"),
    "segfault": ("import ctypes; ctypes.string_at(0)", "SIGSEGV"),
    "hang": ("time.sleep(600)", f"timed out after {HANG_TIMEOUT_S} s"),
    "memory": ("blob = bytearray(400 * 2**20); time.sleep(600)", "exceeded the memory limit"),
}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        return "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_a_failing_phase_is_recorded_and_earlier_results_kept(with_example_domain, tmp_path, failure):
    code, reason = FAILURES[failure]
    submission = write_submission(tmp_path / "sub", inference=grandchild_then(code))
    out = tmp_path / "run"
    options = ["--task", "ExampleCorridor-v0", "--out", str(out), "--max-memory", "300M"]
    if failure == "hang":  # train under the default limit first, so the short limit is the inference phase's
        assert run_cli(str(submission), *options, "--phase", "train").exit_code == 0
        options += ["--resume", "--timeout", str(HANG_TIMEOUT_S)]
    else:
        options += ["--timeout", "15"]
    result = run_cli(str(submission), *options)
    assert result.exit_code == 1
    info = phases(out)
    assert info["train"]["status"] == "ok"
    assert info["inference"]["status"] == "failed"
    assert reason in info["inference"]["reason"]
    assert info["generalization"]["status"] == "not run"
    assert (out / "train_log.csv").read_text().splitlines()[1].startswith("5,0.5,5,")
    assert any(m["name"] == "wall_clock.train" for m in json.loads((out / "metrics.json").read_text()))
    grandchild = int((out / "grandchild.pid").read_text())
    deadline = time.monotonic() + 5
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(grandchild), "the participant's grandchild outlived the phase"


def test_resume_skips_completed_phases(with_example_domain, tmp_path):
    submission = write_submission(tmp_path / "sub")
    out = tmp_path / "run"
    first = run_cli(str(submission), "--task", "ExampleCorridor-v0", "--phase", "train", "--out", str(out))
    assert first.exit_code == 0, first.output
    first_train = phases(out)["train"]["started"]
    result = run_cli(str(submission), "--task", "ExampleCorridor-v0", "--out", str(out), "--resume")
    assert result.exit_code == 0, result.output
    info = phases(out)
    assert info["train"]["started"] == first_train and info["train"]["resumed"] is True
    assert info["inference"]["status"] == info["generalization"]["status"] == "ok"


def test_several_seeds_write_sibling_runs_and_a_summary(with_example_domain, tmp_path):
    submission = write_submission(tmp_path / "sub")
    out = tmp_path / "runs"
    result = run_cli(
        str(submission), "--task", "ExampleCorridor-v0", "--phase", "inference", "--seeds", "0,1", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert json.loads((out / "seed_1" / "run.json").read_text())["seed"] == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runs"] == ["seed_0", "seed_1"]
    wall = [a for a in summary["aggregate"] if a["name"] == "wall_clock.inference"][0]
    assert wall["n"] == 2 and wall["mean"] > 0 and wall["std"] is not None


def test_validate_lists_every_problem(tmp_path):
    submission = write_submission(
        tmp_path / "sub",
        train="def train_model():\n    pass\n",
        inference="def load_policy():\n    pass\ndef infer_once(policy, observation):\n    pass\n",
        requirements="numpy>=1.24\nthis is not a requirement\n",
    )
    (submission / "__init__.py").unlink()
    result = CliRunner().invoke(main, ["validate", str(submission)])
    assert result.exit_code == 2
    for problem in (
        "missing file __init__.py",
        "requirements.txt, line 2",
        "no top-level function train()",
        "load_policy() must accept env",
        "no top-level function preprocess_observation()",
    ):
        assert problem in result.output
    assert "Traceback" not in result.output


def test_invalid_submission_starts_nothing(with_example_domain, tmp_path):
    submission = write_submission(tmp_path / "sub", inference="def infer_once(:\n")
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(submission), "--task", "ExampleCorridor-v0", "--out", str(out)])
    assert result.exit_code == 2
    assert "syntax error on line 1" in result.output
    assert not out.exists()


def test_init_submission_writes_a_template_that_runs(with_example_domain, tmp_path):
    target = tmp_path / "mine"
    created = CliRunner().invoke(main, ["init-submission", str(target), "--domain", "example"])
    assert created.exit_code == 0, created.output
    assert CliRunner().invoke(main, ["validate", str(target)]).exit_code == 0
    result = run_cli(str(target), "--task", "ExampleCorridor-v0", "--out", str(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    again = CliRunner().invoke(main, ["init-submission", str(target)])
    assert again.exit_code == 2 and "not empty" in again.output


def test_unknown_task_is_a_clear_error(with_example_domain, tmp_path):
    result = CliRunner().invoke(main, ["run", "--task", "ExampleCoridor-v0", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "Did you mean: ExampleCorridor-v0" in result.output


def test_an_importable_package_is_a_submission(with_example_domain, tmp_path, monkeypatch):
    package = write_submission(tmp_path / "site" / "corridor_agent")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path / 'site'}:{os.environ['PYTHONPATH']}")
    out = tmp_path / "run"
    result = run_cli("corridor_agent", "--task", "ExampleCorridor-v0", "--phase", "inference", "--out", str(out))
    assert result.exit_code == 0, result.output
    run = json.loads((out / "run.json").read_text())
    assert run["submission"]["loader"] == "module"
    assert phases(out)["inference"]["episodes"] == 3
    assert package.is_dir()


def test_train_env_kwargs_apply_to_training_only(with_example_domain, tmp_path):
    submission = write_submission(tmp_path / "sub")
    out = tmp_path / "run"
    result = run_cli(
        str(submission),
        "--task",
        "ExampleCorridor-v0",
        "--out",
        str(out),
        "--gin-param",
        "RunSettings.train_env_kwargs = {'length': 2}",
        "--gin-param",
        "RunSettings.num_inference_episodes = 1",
    )
    assert result.exit_code == 0, result.output
    assert (out / "train_log.csv").read_text().splitlines()[1].split(",")[2] == "2"
    assert (out / "inference_episodes.csv").read_text().splitlines()[1].split(",")[2] == "5"
    info = phases(out)
    assert info["train"]["ru_maxrss_kib"] > 10_000  # a Python process with Gymnasium loaded
