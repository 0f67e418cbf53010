"""Augmented Random Search, V2-t (Mania, Guy and Recht 2018, Algorithm 2): a linear policy on
normalised states, improved along the random directions whose perturbed returns were best.

One iteration, for the policy matrix ``M`` and the states' running mean ``mu`` and standard
deviation ``sigma``:

1. draw ``N`` directions ``delta_k`` (standard normal, the shape of ``M``);
2. play ``M + nu delta_k`` and ``M - nu delta_k``, acting ``a = M' (s - mu) / sigma``: returns
   ``r+_k`` and ``r-_k``;
3. keep the ``b`` directions with the largest ``max(r+_k, r-_k)``; ``sigma_R`` is the standard
   deviation of their ``2b`` returns;
4. ``M <- M + alpha / (b sigma_R) * sum_k (r+_k - r-_k) delta_k``;

and ``mu``, ``sigma`` are the mean and standard deviation of every state seen so far, ``sigma``
at least ``MIN_STD`` (before any state, ``sigma = 1``). The floor is this baseline's choice: the
quadruped's observation has coordinates that hardly vary early on (standard deviations of 0.004),
and divided by those the ``nu delta`` perturbations of the next iteration knocked the robot over.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

MIN_STD = 0.1


@dataclass
class RunningStat:
    """Count, mean and sum of squared deviations of the states seen, merged batch by batch (Chan et al.)."""

    mean: np.ndarray
    m2: np.ndarray
    count: int = 0

    @classmethod
    def empty(cls, dim: int) -> RunningStat:
        return cls(np.zeros(dim), np.zeros(dim))

    @classmethod
    def of(cls, states: np.ndarray) -> RunningStat:
        states = np.asarray(states, dtype=np.float64).reshape(len(states), -1)
        mean = states.mean(axis=0) if len(states) else np.zeros(states.shape[1])
        return cls(mean, ((states - mean) ** 2).sum(axis=0), len(states))

    def merge(self, other: RunningStat) -> None:
        total = self.count + other.count
        if other.count == 0:
            return
        delta = other.mean - self.mean
        self.mean = self.mean + delta * (other.count / total)
        self.m2 = self.m2 + other.m2 + delta**2 * (self.count * other.count / total)
        self.count = total

    @property
    def std(self) -> np.ndarray:
        if not self.count:
            return np.ones_like(self.m2)
        return np.maximum(np.sqrt(self.m2 / self.count), MIN_STD)


def act(matrix: np.ndarray, mean: np.ndarray, std: np.ndarray, state: np.ndarray) -> np.ndarray:
    """The linear policy's action on a state normalised by ``mean`` and ``std``."""
    return matrix @ ((np.asarray(state, dtype=np.float64) - mean) / std)


def ars_update(
    matrix: np.ndarray,
    directions: np.ndarray,
    returns_plus: np.ndarray,
    returns_minus: np.ndarray,
    step_size: float,
    top: int,
) -> np.ndarray:
    """Step 3 and 4: the new policy matrix from the returns along each direction (``directions`` has
    shape ``(N, *matrix.shape)``). Returns that do not vary give no step."""
    returns_plus, returns_minus = np.asarray(returns_plus, float), np.asarray(returns_minus, float)
    best = np.argsort(-np.maximum(returns_plus, returns_minus), kind="stable")[:top]
    sigma_r = np.concatenate([returns_plus[best], returns_minus[best]]).std()
    if sigma_r == 0.0:
        return matrix
    weights = returns_plus[best] - returns_minus[best]
    return matrix + step_size / (len(best) * sigma_r) * np.tensordot(weights, directions[best], axes=1)


def ars_iteration(
    matrix: np.ndarray,
    play: Callable[[Sequence[np.ndarray]], np.ndarray],
    rng: np.random.Generator,
    directions: int,
    top: int,
    step_size: float,
    noise: float,
) -> np.ndarray:
    """One iteration: ``play`` gets the ``2N`` perturbed matrices (``+`` of each direction, then its
    ``-``, pair by pair) and returns their returns in that order."""
    deltas = rng.standard_normal((directions, *matrix.shape))
    perturbed = [matrix + sign * noise * delta for delta in deltas for sign in (1.0, -1.0)]
    returns = np.asarray(play(perturbed), dtype=float).reshape(directions, 2)
    return ars_update(matrix, deltas, returns[:, 0], returns[:, 1], step_size, top)
