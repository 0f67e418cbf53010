"""``-v0`` against the original: the same actions give A2Perf's rewards, poses and observations.

``data/a2perf_reference.json`` holds short trajectories recorded from Google's motion_imitation env
(the one A2Perf wraps), unmodified (see ``data/README.md``): every clip, from its start, from
mid-cycle and after a warm-up, with open-loop tracking or zero actions. Physics diverges
chaotically after a while, so the tight comparison covers the first 8 steps; whether and when the
episode ends is compared over the whole recording. ``-v1``'s corrections are checked against the
same recordings: they must move exactly what they claim to.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import numpy as np
import pybullet as p
import pytest
from a2perf_quadruped_locomotion import laikago
from a2perf_quadruped_locomotion.env import LAST_ACTION, MOTOR_ANGLES, QuadrupedLocomotionEnv

REFERENCE = json.loads((Path(__file__).parent / "data" / "a2perf_reference.json").read_text())
#: physics can change between PyBullet releases: failures name both versions
VERSIONS = f"recorded with pybullet {REFERENCE['pybullet']}, running {importlib.metadata.version('pybullet')}"
TERMS = ("pose", "velocity", "end_effector", "root_pose", "root_velocity")
CLOSE_STEPS = 8
CASES = pytest.mark.parametrize(
    "case", REFERENCE["cases"], ids=[f"{c['clip']}-from-{c['start']}-{c['policy']}" for c in REFERENCE["cases"]]
)
#: the recorded spin start that crosses the frames where A2Perf's angular velocity goes the long way
LONG_WAY_CASE = ("dog_spin", 0.55)


def make(clip_file, case: dict, **kwargs) -> QuadrupedLocomotionEnv:
    return QuadrupedLocomotionEnv(clip_file(case["clip"].removeprefix("dog_")), **kwargs)


def a2perf_spins_the_reference(clip, time: float) -> bool:
    """Whether A2Perf's reference angular velocity is wrong at ``time``: between two frames whose
    quaternions lie in opposite hemispheres it takes the long way round (angle near 2π, so
    hundreds of rad/s). Only dog_spin has such a pair."""
    q = clip.frames[:, 3:7]
    bad = np.flatnonzero(np.sum(q[1:] * q[:-1], axis=1) < 0)  # velocity rows i -> i + 1
    bad = set(bad.tolist()) | ({len(q) - 1} if len(q) - 2 in bad else set())  # last row repeats
    first = int(np.floor(clip.phase(max(time, 0.0)) * (clip.num_frames - 1)))
    return time >= 0.0 and bool({first, min(first + 1, clip.num_frames - 1)} & bad)


@CASES
def test_v0_gives_a2perfs_trajectory(clip_file, case):
    env = make(clip_file, case)
    try:
        observation, _ = env.reset(seed=0, options={"motion_time": case["start"]})
        np.testing.assert_allclose(observation, case["reset_observation"], atol=1e-4, err_msg="reset")
        client, robot = env.physics_client, env._robot
        start = np.array(p.getBasePositionAndOrientation(robot, physicsClientId=client)[0])
        for k, expected in enumerate(case["steps"], start=1):
            observation, reward, terminated, truncated, info = env.step(np.array(expected["action"]))
            where = f"step {k}, {VERSIONS}"
            assert terminated == expected["done"], where
            assert not truncated
            if k > CLOSE_STEPS:
                continue
            position, orientation = p.getBasePositionAndOrientation(robot, physicsClientId=client)
            terms = [info["reward_terms"][name] for name in TERMS]
            assert reward == pytest.approx(expected["reward"], abs=1e-4), where
            np.testing.assert_allclose(terms, expected["terms"], atol=1e-4, err_msg=where)
            # A2Perf places the robot at a constant xy offset when starting mid-clip (it computes
            # the position offset before turning the clip); everything it measures is relative
            displacement = np.subtract(expected["base_position"], case["start_position"])
            np.testing.assert_allclose(position - start, displacement, atol=1e-4, err_msg=where)
            np.testing.assert_allclose(orientation, expected["base_orientation"], atol=1e-4, err_msg=where)
            np.testing.assert_allclose(env._q_urdf, expected["joint_angles"], atol=1e-4, err_msg=where)
            if "observation" in expected:
                np.testing.assert_allclose(observation, expected["observation"], atol=1e-4, err_msg=where)
        assert k == len(case["steps"])
    finally:
        env.close()


@CASES
def test_v1_reset_observation_shows_the_real_start(clip_file, case):
    """A2Perf's reset observation holds the standing pose (and zero last actions) whatever the
    start; ``-v1``'s holds the robot's actual motor angles, newest to oldest."""
    env = make(clip_file, case, stale_reset_history=False)
    try:
        observation, _ = env.reset(seed=0, options={"motion_time": case["start"]})
        actual = laikago.MOTOR_DIRECTION * env._q_urdf - laikago.MOTOR_OFFSET
        for history in (MOTOR_ANGLES, LAST_ACTION):
            np.testing.assert_allclose(observation[history], np.tile(actual, 3), atol=1e-5)
        stale = np.array(case["reset_observation"])
        if case["start"] >= 0.0:  # a reference start is not the standing pose
            assert np.max(np.abs(observation[MOTOR_ANGLES] - stale[MOTOR_ANGLES])) > 0.05
        np.testing.assert_allclose(stale[LAST_ACTION], 0.0)
    finally:
        env.close()


@CASES
def test_v1_first_step_filters_from_the_real_start(clip_file, case):
    """With the real start in the history the first step's reward moves (for reference starts,
    where the start differs from the standing pose) and nothing else about the setup does."""
    v1 = make(clip_file, case, stale_reset_history=False)
    try:
        v1.reset(seed=0, options={"motion_time": case["start"]})
        _, reward, _, _, _ = v1.step(np.array(case["steps"][0]["action"]))
    finally:
        v1.close()
    difference = abs(reward - case["steps"][0]["reward"])
    if case["start"] >= 0.0:
        assert difference > 0.01, difference
    else:  # a standing start: the stale reading is the real one
        assert difference < 1e-4, difference


def test_v1_takes_the_spin_reference_the_short_way(clip_file):
    """On the frames where A2Perf's reference spins at hundreds of rad/s its root-velocity term is
    0 for any policy; ``-v1``'s is not. Elsewhere both agree."""
    case = next(c for c in REFERENCE["cases"] if (c["clip"], c["start"]) == LONG_WAY_CASE)
    env = make(clip_file, case, long_way_angular_velocity=False)
    crossed = 0
    try:
        env.reset(seed=0, options={"motion_time": case["start"]})
        for k, expected in enumerate(case["steps"][:CLOSE_STEPS], start=1):
            _, _, _, _, info = env.step(np.array(expected["action"]))
            ours = info["reward_terms"]["root_velocity"]
            if a2perf_spins_the_reference(env.clip, info["motion_time"]):
                assert expected["terms"][-1] < 1e-6 < 0.1 < ours, f"step {k}"
                crossed += 1
            else:
                assert ours == pytest.approx(expected["terms"][-1], abs=1e-4), f"step {k}"
    finally:
        env.close()
    assert crossed == 1
