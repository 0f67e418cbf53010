"""The ARS baseline's update (``baselines/ars_quadruped/ars.py``): hand-computed steps, its running
state statistics against numpy, and convergence on a linear-quadratic problem with a known optimum."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ARS_FILE = Path(__file__).resolve().parent.parent / "baselines" / "ars_quadruped" / "ars.py"


@pytest.fixture(scope="module")
def ars():
    spec = importlib.util.spec_from_file_location("ars_under_test", ARS_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_the_update_uses_the_top_directions_scaled_by_their_returns_spread(ars):
    matrix = np.zeros((1, 2))
    directions = np.array([[[1.0, 0.0]], [[0.0, 1.0]], [[1.0, 1.0]]])
    plus, minus = np.array([3.0, 0.0, 1.0]), np.array([1.0, 2.0, 1.0])
    # top 2 by max(r+, r-): direction 0 (3) and 1 (2); their returns 3, 0, 1, 2 have std sqrt(1.25)
    updated = ars.ars_update(matrix, directions, plus, minus, step_size=0.5, top=2)
    expected = 0.5 / (2 * np.sqrt(1.25)) * (2.0 * np.array([1.0, 0.0]) + -2.0 * np.array([0.0, 1.0]))
    np.testing.assert_allclose(updated, expected.reshape(1, 2))


def test_returns_that_do_not_vary_give_no_step(ars):
    matrix = np.ones((2, 3))
    directions = np.ones((4, 2, 3))
    assert ars.ars_update(matrix, directions, np.full(4, 2.0), np.full(4, 2.0), 0.1, 2) is matrix


def test_running_statistics_merge_to_numpys_mean_and_std(ars):
    rng = np.random.default_rng(3)
    batches = [rng.normal(5.0, 2.0, size=(n, 3)) for n in (1, 7, 30, 4)]
    batches[2][:, 2] = 1.5  # a batch in which one coordinate does not vary
    stat = ars.RunningStat.empty(3)
    for batch in batches:
        stat.merge(ars.RunningStat.of(batch))
    everything = np.concatenate(batches)
    assert stat.count == 42
    np.testing.assert_allclose(stat.mean, everything.mean(axis=0))
    np.testing.assert_allclose(stat.std, everything.std(axis=0))
    constant = ars.RunningStat.of(np.full((5, 2), 4.0))
    np.testing.assert_allclose(constant.std, [ars.MIN_STD] * 2)  # no variance: centred, not blown up
    np.testing.assert_allclose(ars.RunningStat.empty(2).std, [1.0, 1.0])


def test_ars_finds_the_optimum_of_a_linear_quadratic_problem(ars):
    """Return of ``M``: ``-sum_s |M s - K s|^2`` over fixed states; the optimum is ``M = K``."""
    rng = np.random.default_rng(0)
    target = rng.normal(size=(2, 4))
    states = rng.normal(size=(4, 16))

    def play(matrices):
        return [-float(np.sum((m @ states - target @ states) ** 2)) for m in matrices]

    matrix = np.zeros((2, 4))
    start = np.linalg.norm(matrix - target)
    for _ in range(500):
        matrix = ars.ars_iteration(matrix, play, rng, directions=8, top=4, step_size=0.02, noise=0.02)
    assert np.linalg.norm(matrix - target) < 0.05 * start  # a fixed step size ends near, not at, the optimum
