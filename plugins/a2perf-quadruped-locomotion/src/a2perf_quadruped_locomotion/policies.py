"""Baseline policies: reference for what a learned policy has to beat."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from a2perf_quadruped_locomotion import laikago
from a2perf_quadruped_locomotion.action_filter import ButterworthActionFilter
from a2perf_quadruped_locomotion.env import ACTION_LIMIT, MOTOR_ANGLES, TARGET_FRAMES

#: the joints of the first observed target frame (the reference one control step ahead)
NEXT_REFERENCE_JOINTS = slice(TARGET_FRAMES.start + 7, TARGET_FRAMES.start + 19)


class ReferenceTrackingPolicy:
    """Open loop: command the reference's joint angles one step ahead through the PD controller.

    The env low-pass filters actions; this policy keeps a copy of that filter and inverts it, so
    the filtered target the motors chase is exactly the reference pose (as far as the ±2π action
    range allows). It uses no feedback on the body: it shows how far replaying the clip gets.
    Call :meth:`reset` with each episode's first observation.
    """

    def __init__(self) -> None:
        self._filter = ButterworthActionFilter()

    def reset(self, observation: np.ndarray) -> None:
        self._filter.init_history(np.asarray(observation[MOTOR_ANGLES][: laikago.NUM_MOTORS], dtype=float))

    def __call__(self, observation: np.ndarray) -> np.ndarray:
        wanted = laikago.urdf_to_sdk(np.asarray(observation[NEXT_REFERENCE_JOINTS], dtype=float))
        f = self._filter
        b, a = f.b, f.a
        command = (wanted - b[1] * f.inputs[0] - b[2] * f.inputs[1] + a[1] * f.outputs[0] + a[2] * f.outputs[1]) / b[0]
        action = np.clip(command - laikago.STANDING_POSE_SDK, -ACTION_LIMIT, ACTION_LIMIT)
        f(laikago.STANDING_POSE_SDK + action)
        return action.astype(np.float32)


def zero_policy(observation: np.ndarray) -> np.ndarray:
    """Hold the standing pose."""
    return np.zeros(laikago.NUM_MOTORS, dtype=np.float32)


class PretrainedImitationPolicy:
    """Peng et al.'s trained policy for a clip, run with NumPy (no TensorFlow needed).

    The file is a stable-baselines model zip (data asset ``quadruped-policy-dog-*``): its inner
    ``parameters`` zip holds the weights as ``.npy`` arrays. The actor is an MLP 160 → 512 → 256
    → 12 with ReLU on the raw observation; acting deterministically means taking the Gaussian's
    mean, clipped to the action space. The value and Q heads are not needed to act.
    """

    LAYERS = ("model/pi_fc0", "model/pi_fc1", "model/pi")

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self._layers = [(weights[f"{name}/w:0"], weights[f"{name}/b:0"]) for name in self.LAYERS]

    @classmethod
    def from_file(cls, path: str | Path) -> PretrainedImitationPolicy:
        with zipfile.ZipFile(path) as model, zipfile.ZipFile(io.BytesIO(model.read("parameters"))) as parameters:
            weights = {
                name.removesuffix(".npy"): np.load(io.BytesIO(parameters.read(name))) for name in parameters.namelist()
            }
        return cls(weights)

    def __call__(self, observation: np.ndarray) -> np.ndarray:
        hidden = np.asarray(observation, dtype=float)
        for weight, bias in self._layers[:-1]:
            hidden = np.maximum(hidden @ weight + bias, 0.0)
        weight, bias = self._layers[-1]
        return np.clip(hidden @ weight + bias, -ACTION_LIMIT, ACTION_LIMIT).astype(np.float32)


def pretrained_policy_asset(task_id: str) -> str:
    """The data asset of Peng et al.'s policy trained on the clip of ``task_id``
    (``QuadrupedLocomotion-DogPace-v1`` -> ``quadruped-policy-dog-pace``)."""
    from a2perf_quadruped_locomotion.errors import QuadrupedConfigError
    from a2perf_quadruped_locomotion.plugin import CLIPS, PRETRAINED_POLICIES

    parts = task_id.split("-")
    if len(parts) != 3 or parts[0] != "QuadrupedLocomotion" or parts[1] not in CLIPS:
        raise QuadrupedConfigError(f"{task_id!r} is not a quadruped locomotion task (QuadrupedLocomotion-<clip>-vN)")
    clip = CLIPS[parts[1]][1].removesuffix(".txt")
    return PRETRAINED_POLICIES[clip][0]


def pretrained_policy_for_task(task_id: str) -> PretrainedImitationPolicy:
    """Peng et al.'s trained policy for the clip of ``task_id``; a missing file is an error naming the
    ``a2perf data fetch`` command that gets it."""
    from a2perf_core.data import asset_path

    return PretrainedImitationPolicy.from_file(asset_path(pretrained_policy_asset(task_id)))
