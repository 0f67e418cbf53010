"""The behaviour-cloning baseline (``baselines/bc``): it clones the actions of its datasets, discrete and
continuous, never picks an action the env's mask forbids, and runs the offline track end to end.

That it learns from ``participant.datasets()`` with no env is what the offline track checks; the
numbers here are exact because the datasets' experts are: the corridor's expert always steps right,
so a perfect clone walks the corridor of 5 cells in 5 steps, returning ``5 * -0.1 + 1.0 = 0.5``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from click.testing import CliRunner

from a2perf_core.cli import main

pytest.importorskip("minari")
pytest.importorskip("torch")

BC = Path(__file__).resolve().parent.parent / "baselines" / "bc"
TASK = "ExampleCorridor-v0"
EXPERT = f"a2perf/{TASK}/expert-v0"


@pytest.fixture
def bc(monkeypatch, tmp_path) -> dict[str, ModuleType]:
    """The baseline's modules, imported by path as the runner imports them, with a run directory of their own."""
    monkeypatch.syspath_prepend(str(BC))
    (tmp_path / "participant").mkdir()
    monkeypatch.setenv("A2PERF_RUN_DIR", str(tmp_path / "participant"))
    modules = {}
    for name in ("bc_model", "train", "inference"):
        spec = importlib.util.spec_from_file_location(name, BC / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, name, module)
        spec.loader.exec_module(module)
        modules[name] = module
    return modules


def train_on(bc: dict[str, ModuleType], monkeypatch, dataset_ids: list[str], steps: int) -> None:
    monkeypatch.setenv("A2PERF_DATASETS", json.dumps(dataset_ids))
    monkeypatch.setenv("A2PERF_NUM_TRAIN_STEPS", str(steps))
    bc["train"].train()


def pendulum_expert(observation: np.ndarray) -> np.ndarray:
    """A fixed linear controller of Pendulum's (cos, sin, angular velocity) observation, within its torque bounds."""
    return np.clip(np.array([-1.5 * observation[1] - 0.5 * observation[2]], dtype=np.float32), -2.0, 2.0)


@pytest.mark.slow
def test_clones_a_continuous_controller(bc, minari_dataset, monkeypatch):
    env = gym.make("Pendulum-v1")
    minari_dataset("a2perf/Pendulum-v1/expert-v0", env, pendulum_expert, episodes=4)
    train_on(bc, monkeypatch, ["a2perf/Pendulum-v1/expert-v0"], steps=600)
    policy = bc["inference"].load_policy(env)
    errors, spread = [], []
    for seed in range(3):  # states of other episodes than the training ones
        observation, _ = env.reset(seed=100 + seed)
        for _ in range(50):
            action = bc["inference"].infer_once(policy, bc["inference"].preprocess_observation(observation))
            assert env.action_space.contains(action)
            expert = pendulum_expert(observation)
            errors.append(abs(float(action[0] - expert[0])))
            spread.append(float(expert[0]))
            observation, *_ = env.step(expert)
    assert np.mean(errors) < 0.1 * np.std(spread), (np.mean(errors), np.std(spread))


class MaskedChoice(gym.Env):
    """Three actions, one observation; the mask forbids action 1 (the one the dataset's expert always took)."""

    observation_space = gym.spaces.Dict(
        {"x": gym.spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32), "legal": gym.spaces.MultiBinary(3)}
    )
    action_space = gym.spaces.Discrete(3)

    def __init__(self, mask: tuple[int, ...] = (1, 1, 1)) -> None:
        self.mask = np.array(mask, dtype=np.int8)
        self.t = 0

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        self.t = 0
        return self._observation(), {}

    def step(self, action: int) -> tuple[dict, float, bool, bool, dict]:
        self.t += 1
        return self._observation(), float(action == 1), self.t >= 10, False, {}

    def action_masks(self) -> np.ndarray:
        return self.mask.astype(bool)

    def _observation(self) -> dict:
        return {"x": np.array([self.t / 10, 0.5], dtype=np.float32), "legal": self.mask.copy()}


def test_a_dict_observation_is_flattened_and_the_mask_is_respected(bc, minari_dataset, monkeypatch):
    minari_dataset("a2perf/MaskedChoice-v0/expert-v0", MaskedChoice(), lambda observation: 1, episodes=3)
    train_on(bc, monkeypatch, ["a2perf/MaskedChoice-v0/expert-v0"], steps=200)
    inference = bc["inference"]
    free = MaskedChoice()
    observation, _ = free.reset(seed=0)
    assert inference.infer_once(inference.load_policy(free), observation) == 1
    masked = MaskedChoice(mask=(1, 0, 1))
    observation, _ = masked.reset(seed=0)
    assert inference.infer_once(inference.load_policy(masked), observation) in (0, 2)


def test_without_datasets_it_says_what_to_declare(bc, monkeypatch):
    with pytest.raises(ValueError, match="declare them"):
        train_on(bc, monkeypatch, [], steps=10)


@pytest.mark.slow
def test_the_offline_track_end_to_end_clones_the_corridor_expert(minari_dataset, with_example_domain, tmp_path):
    from a2perf_example_domain.corridor import CorridorEnv

    minari_dataset(EXPERT, CorridorEnv(), lambda observation: 1, episodes=3)
    out = tmp_path / "run"
    args = ["run", str(BC), "--task", TASK, "--out", str(out), "--offline"]
    for binding in (f"RunSettings.datasets = [{EXPERT!r}]", "RunSettings.num_train_steps = 200"):
        args += ["--gin-param", binding]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    record = json.loads((out / "run.json").read_text())
    assert {p: r["status"] for p, r in record["phases"].items()} == dict.fromkeys(
        ("train", "inference", "generalization"), "ok"
    )
    assert [d["id"] for d in record["datasets"]] == [EXPERT]
    returns = [float(line.split(",")[1]) for line in (out / "inference_episodes.csv").read_text().splitlines()[1:]]
    assert returns and all(r == pytest.approx(0.5) for r in returns), returns
    assert "bc_loss" in (out / "train_scalars.csv").read_text()
    assert not (out / "train_log.csv").exists() or len((out / "train_log.csv").read_text().splitlines()) <= 1


def test_observation_keys_choose_what_the_network_sees(bc, minari_dataset, monkeypatch):
    minari_dataset("a2perf/MaskedChoice-v0/expert-v0", MaskedChoice(), lambda observation: 1, episodes=3)
    monkeypatch.setenv("A2PERF_DATASETS", json.dumps(["a2perf/MaskedChoice-v0/expert-v0"]))
    monkeypatch.setenv("A2PERF_NUM_TRAIN_STEPS", "100")
    bc["train"].train(observation_keys=["x"])
    policy = bc["inference"].load_policy(MaskedChoice())
    assert list(policy.observation_space.spaces) == ["x"]
    observation, _ = MaskedChoice().reset(seed=0)
    assert bc["inference"].infer_once(policy, observation) == 1
    with pytest.raises(ValueError, match=r"no entries \['nowhere'\]"):
        bc["train"].train(observation_keys=["nowhere"])
