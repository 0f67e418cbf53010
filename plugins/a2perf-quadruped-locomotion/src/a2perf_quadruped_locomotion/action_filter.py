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
        self.inputs = np.zeros((2, size))
        self.outputs = np.zeros((2, size))

    def init_history(self, value: np.ndarray) -> None:
        """Start from rest at ``value`` (both histories filled), so the first output is ``value``
        when the input is ``value``."""
        self.inputs[:] = value
        self.outputs[:] = value

    def __call__(self, x: np.ndarray) -> np.ndarray:
        b, a = self.b, self.a
        y = b[0] * x + b[1] * self.inputs[0] + b[2] * self.inputs[1] - a[1] * self.outputs[0] - a[2] * self.outputs[1]
        self.inputs[1] = self.inputs[0]
        self.inputs[0] = x
        self.outputs[1] = self.outputs[0]
        self.outputs[0] = y
        return y
