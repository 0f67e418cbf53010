"""Datasets: the id form, loading through Minari's own root, and the recorded data cost."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

from a2perf_core import datasets
from a2perf_core.errors import A2PerfError, DataMissingError

minari = pytest.importorskip("minari")
from minari.data_collector import EpisodeBuffer  # noqa: E402


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    return tmp_path


def make_dataset(dataset_id: str, cost: dict | None) -> None:
    """20 random CartPole steps as one Minari dataset, written from buffers (Minari's collector needs jax)."""
    env = gym.make("CartPole-v1")
    observation, _ = env.reset(seed=0)
    observations, actions, rewards, terminations, truncations = [observation], [], [], [], []
    for _ in range(20):
        action = env.action_space.sample()
        observation, reward, terminated, truncated, _ = env.step(action)
        for column, value in zip(
            (observations, actions, rewards, terminations, truncations),
            (observation, action, reward, terminated, truncated),
            strict=True,
        ):
            column.append(value)
        if terminated or truncated:
            break
    truncations[-1] = not terminations[-1]
    episode = EpisodeBuffer(
        id=0,
        seed=0,
        observations=observations,
        actions=actions,
        rewards=rewards,
        terminations=terminations,
        truncations=truncations,
    )
    dataset = minari.create_dataset_from_buffers(dataset_id, [episode], env=env, algorithm_name="random")
    if cost is not None:
        dataset.storage.update_metadata({datasets.DATA_COST_KEY: json.dumps(cost)})


def test_dataset_id_is_minari_namespaced():
    assert (
        datasets.dataset_id("CircuitTraining-Synthetic-v0", "expert") == "a2perf/CircuitTraining-Synthetic-v0/expert-v0"
    )


def test_load_and_cost_round_trip(root):
    cost = {"energy_kwh": 0.25, "env_steps": 1200, "wall_time_s": 31.5, "sources": []}
    make_dataset("a2perf/CartPole-v1/expert-v0", cost)
    assert datasets.dataset_root() == root
    loaded = datasets.load("a2perf/CartPole-v1/expert-v0")
    assert loaded.total_steps >= 8  # CartPole falls after 8 steps at the earliest
    assert datasets.data_cost(loaded) == cost
    assert datasets.data_cost("a2perf/CartPole-v1/expert-v0") == cost


def test_missing_dataset_is_one_line(root):
    with pytest.raises(DataMissingError, match="a2perf data collect") as info:
        datasets.load("a2perf/CartPole-v1/novice-v0")
    assert "\n" not in str(info.value)


def test_dataset_without_cost_is_refused(root):
    make_dataset("a2perf/CartPole-v1/novice-v0", None)
    with pytest.raises(A2PerfError, match="records no data cost"):
        datasets.data_cost("a2perf/CartPole-v1/novice-v0")
