"""Fixtures of the core's tests: the example third-party domain, installed the way a user would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_DOMAIN = REPO / "docs" / "examples" / "a2perf-example-domain"


@pytest.fixture(autouse=True)
def only_builtin_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The core's tests see the built-ins only, whatever else is installed (fixtures add more)."""
    from a2perf_core.plugins import set_plugins

    monkeypatch.setenv("A2PERF_LOAD_PLUGINS", "")
    old = set_plugins(None)
    yield
    set_plugins(old)


@pytest.fixture(scope="session")
def example_domain_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the example domain, pip-installed into it (a private site dir)."""
    target = tmp_path_factory.mktemp("example-site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(EXAMPLE_DOMAIN)],
        check=True,
    )
    return target


@pytest.fixture
def with_example_domain(example_domain_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The example domain is installed for this process and its children; plugins rediscovered."""
    from a2perf_core.plugins import set_plugins

    monkeypatch.syspath_prepend(str(example_domain_site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(example_domain_site), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("A2PERF_LOAD_PLUGINS", "a2perf-example-domain")
    old = set_plugins(None)
    yield example_domain_site
    set_plugins(old)


@pytest.fixture
def run_python():
    """Run code in a fresh interpreter (the plugin set and Gymnasium registry start empty)."""

    def run(code: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **(env_extra or {})}
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)

    return run


# Tiny Minari datasets, written straight from episode buffers: Minari's own DataCollector needs jax, which the
# test environment lacks; ``create_dataset_from_buffers`` does not.

#: a data cost as ``a2perf data collect`` records it (the cost :func:`write_dataset` gives a dataset)
DATASET_COST = {"energy_kwh": 0.001, "env_steps": 0, "wall_time_s": 1.5, "sources": []}


def _buffer_columns(space: Any, values: list[Any]) -> Any:
    """A list of points of ``space`` as Minari's buffers hold them (a ``Dict`` as a dict of lists)."""
    import numpy as np
    from gymnasium import spaces

    if isinstance(space, spaces.Dict):
        return {key: _buffer_columns(entry, [v[key] for v in values]) for key, entry in space.spaces.items()}
    return [np.asarray(v) for v in values]


def write_dataset(
    dataset_id: str,
    env: Any,
    act: Callable[[Any], Any],
    episodes: int,
    cost: dict[str, Any] | None = DATASET_COST,
    seed: int = 0,
) -> Any:
    """``episodes`` episodes of ``act(observation) -> action`` in ``env`` as the dataset ``dataset_id``
    (with ``cost`` as its data cost; none when ``cost`` is None)."""
    import json
    import warnings

    minari = pytest.importorskip("minari")
    from minari.data_collector import EpisodeBuffer

    from a2perf_core.datasets import DATA_COST_KEY

    buffers = []
    for episode in range(episodes):
        observation, _ = env.reset(seed=seed + episode)
        observations, actions, rewards, terminations, truncations = [observation], [], [], [], []
        done = False
        while not done:
            action = act(observation)
            observation, reward, terminated, truncated, _ = env.step(action)
            observations.append(observation)
            actions.append(action)
            rewards.append(float(reward))
            terminations.append(bool(terminated))
            truncations.append(bool(truncated))
            done = terminated or truncated
        buffers.append(
            EpisodeBuffer(
                id=episode,
                seed=seed + episode,
                observations=_buffer_columns(env.observation_space, observations),
                actions=_buffer_columns(env.action_space, actions),
                rewards=rewards,
                terminations=terminations,
                truncations=truncations,
            )
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Minari's advice to name an author, a permalink, ...
        dataset = minari.create_dataset_from_buffers(
            dataset_id,
            buffers,
            observation_space=env.observation_space,
            action_space=env.action_space,
            algorithm_name="test rollout",
            jpeg_encoding=False,
        )
    if cost is not None:
        dataset.storage.update_metadata({DATA_COST_KEY: json.dumps(cost)})
    return dataset


@pytest.fixture
def minari_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh Minari root (``MINARI_DATASETS_PATH``) for this test and the runs it starts."""
    root = tmp_path / "minari"
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    return root


@pytest.fixture
def minari_dataset(minari_root: Path) -> Callable[..., Any]:
    """:func:`write_dataset`, into :func:`minari_root`."""
    return write_dataset


@pytest.fixture
def signal_and_wait() -> Callable[[subprocess.Popen, int, float, str], None]:
    """Send a signal to a process and wait for it to end; a test failure (the process killed) when it is
    still running ``timeout`` seconds later."""

    def stop(process: subprocess.Popen, stop: int, timeout: float, what: str) -> None:
        process.send_signal(stop)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail(f"{what} was still running {timeout:g} s after {signal.Signals(stop).name}")

    return stop
