"""The low-pass filter between the policy and the motors, per joint."""

from __future__ import annotations

import numpy as np

from a2perf_quadruped_locomotion import laikago


class ButterworthActionFilter:
    """Direct-form 2nd-order IIR filter, ``y = b0 x + b1 x₋₁ + b2 x₋₂ − a1 y₋₁ − a2 y₋₂``, per joint.

    Smooths the policy's targets so a jittery policy cannot excite the legs; unit gain at DC.
    """

    def __init__(
        self, size: int = laikago.NUM_MOTORS, b: np.ndarray = laikago.FILTER_B, a: np.ndarray = laikago.FILTER_A
    ):
        self.b = np.asarray(b, dtype=float)
        self.a = np.asarray(a, dtype=float)
        # state rows: x, x₋₁, x₋₂, y₋₁, y₋₂; one product per call gives y
        self._coefficients = np.array([self.b[0], self.b[1], self.b[2], -self.a[1], -self.a[2]])
        self._state = np.zeros((5, size))
        self.inputs = self._state[1:3]
        self.outputs = self._state[3:5]

    def init_history(self, value: np.ndarray) -> None:
        """Start from rest at ``value`` (both histories filled), so the first output is ``value``
        when the input is ``value``."""
        self._state[1:] = value

    def __call__(self, x: np.ndarray) -> np.ndarray:
        state = self._state
        state[0] = x
        y = self._coefficients @ state
        state[2] = state[1]
        state[1] = state[0]
        state[4] = state[3]
        state[3] = y
        return y
