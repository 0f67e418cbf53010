"""The simulated Laikago: API contract, observation content, seeding, termination, randomisation."""

from __future__ import annotations

import math

import numpy as np
import pybullet as p
import pytest
from a2perf_quadruped_locomotion import laikago, plugin, rotations
from a2perf_quadruped_locomotion.action_filter import ButterworthActionFilter
from a2perf_quadruped_locomotion.env import (
    OBSERVATION_SIZE,
    QuadrupedLocomotionEnv,
    imitation_reward,
    make_env,
)
from a2perf_quadruped_locomotion.errors import QuadrupedConfigError
from a2perf_quadruped_locomotion.randomization import INERTIA_RANGE, LATENCY_RANGE_S, MASS_RANGE


@pytest.fixture
def pace_env(clip_file):
    env = QuadrupedLocomotionEnv(clip_file("pace"))
    yield env
    env.close()


def rollout(env: QuadrupedLocomotionEnv, seed: int, actions: np.ndarray) -> tuple[list[np.ndarray], list[float]]:
    observation, _ = env.reset(seed=seed)
    observations, rewards = [observation], []
    for action in actions:
        observation, reward, terminated, truncated, _ = env.step(action)
        observations.append(observation)
        rewards.append(reward)
        if terminated or truncated:
            break
    return observations, rewards


def test_registered_task_makes_a_time_limited_env(a2perf_plugins):
    from a2perf_core.envs import make

    a2perf_plugins(plugin)
    env = make("QuadrupedLocomotion-DogTrot-v0")
    try:
        assert env.spec.max_episode_steps == 600
        assert env.unwrapped.clip.num_frames == 33
        assert env.unwrapped.mode == "test"
        observation, _ = env.reset(seed=0)
        assert observation.shape == (OBSERVATION_SIZE,) and observation.dtype == np.float32
    finally:
        env.close()


def test_motion_file_overrides_the_task_clip(clip_file, a2perf_plugins):
    from a2perf_core.envs import make

    a2perf_plugins(plugin)
    env = make("QuadrupedLocomotion-DogPace-v0", motion_file=str(clip_file("spin")))
    try:
        assert env.unwrapped.clip.num_frames == 46
    finally:
        env.close()


def test_missing_clip_says_how_to_fetch_it(a2perf_plugins, monkeypatch, tmp_path):
    from a2perf_core.errors import DataMissingError

    a2perf_plugins(plugin)
    monkeypatch.setenv("A2PERF_DATA_PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("A2PERF_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(DataMissingError, match="a2perf data fetch quadruped-dog-pace"):
        make_env(motion_asset="quadruped-dog-pace")


def test_bad_arguments_are_user_errors(clip_file):
    with pytest.raises(QuadrupedConfigError, match="mode"):
        QuadrupedLocomotionEnv(clip_file("pace"), mode="eval")
    with pytest.raises(QuadrupedConfigError, match="render_mode"):
        QuadrupedLocomotionEnv(clip_file("pace"), render_mode="human")
    with pytest.raises(QuadrupedConfigError, match="motion_file"):
        make_env()


@pytest.fixture
def corrected_pace_env(clip_file):
    """``-v1``'s behaviour: the reset observation and the action filter start from the real state."""
    env = QuadrupedLocomotionEnv(clip_file("pace"), stale_reset_history=False, long_way_angular_velocity=False)
    yield env
    env.close()


def test_v1_reset_observation_reflects_the_actual_start_state(corrected_pace_env):
    pace_env = corrected_pace_env
    for seed in range(4):
        observation, info = pace_env.reset(seed=seed)
        client, robot = pace_env.physics_client, pace_env._robot
        joints = np.array([s[0] for s in p.getJointStates(robot, laikago.MOTOR_JOINTS, physicsClientId=client)])
        expected_motors = (laikago.urdf_to_sdk(joints) + math.pi) % (2 * math.pi) - math.pi
        motors = observation[48:84].reshape(3, 12)
        np.testing.assert_allclose(motors, np.tile(expected_motors, (3, 1)), atol=1e-5)
        np.testing.assert_allclose(observation[12:48].reshape(3, 12), motors, atol=1e-6)
        _, orientation = p.getBasePositionAndOrientation(robot, physicsClientId=client)
        imu_quaternion = p.multiplyTransforms([0, 0, 0], orientation, [0, 0, 0], laikago.INIT_ORIENTATION_INVERSE)[1]
        roll, pitch, _ = p.getEulerFromQuaternion(imu_quaternion)
        np.testing.assert_allclose(observation[0:2], [roll, pitch], atol=1e-5)
        # the reference was aligned to the robot: the start pose is the reference pose
        reference = pace_env.reference.pose(max(info["motion_time"], 0.0))
        if info["motion_time"] >= 0.0:
            np.testing.assert_allclose(joints, reference[7:], atol=1e-9)


def test_observations_stay_in_the_declared_space(pace_env):
    rng = np.random.default_rng(0)
    actions = rng.uniform(-0.5, 0.5, size=(25, 12))
    observations, rewards = rollout(pace_env, 3, actions)
    for observation in observations:
        assert observation.dtype == np.float32
        assert pace_env.observation_space.contains(observation)
    assert all(0.0 <= r <= 1.0 for r in rewards)
    # the observed last action is the absolute target: standing pose + action
    np.testing.assert_allclose(observations[1][12:24], laikago.STANDING_POSE_SDK + actions[0], atol=1e-6)
    np.testing.assert_allclose(observations[2][24:36], laikago.STANDING_POSE_SDK + actions[0], atol=1e-6)


def test_same_seed_same_trajectory_across_envs_and_resets(clip_file):
    # large actions: hard contacts and joint limits, so any state leaking between resets shows
    actions = np.random.default_rng(1).uniform(-2.0, 2.0, size=(12, 12))
    first = QuadrupedLocomotionEnv(clip_file("trot"), seed=7)
    second = QuadrupedLocomotionEnv(clip_file("trot"))
    try:
        obs_a, rew_a = rollout(first, 7, actions)
        rollout(second, 3, actions[:5])  # a different episode first: resets must not leak state
        obs_b, rew_b = rollout(second, 7, actions)
        np.testing.assert_array_equal(np.array(obs_a), np.array(obs_b))
        assert rew_a == rew_b
        obs_c, _ = rollout(second, 8, actions[:1])
        assert not np.array_equal(obs_a[0], obs_c[0])
    finally:
        first.close()
        second.close()


def test_constructor_seed_seeds_the_first_reset(clip_file):
    a = QuadrupedLocomotionEnv(clip_file("pace"), seed=11)
    b = QuadrupedLocomotionEnv(clip_file("pace"))
    try:
        np.testing.assert_array_equal(a.reset()[0], b.reset(seed=11)[0])
    finally:
        a.close()
        b.close()


def test_passes_gymnasiums_env_checker(clip_file):
    from gymnasium.utils.env_checker import check_env

    env = QuadrupedLocomotionEnv(clip_file("spin"), render_mode="rgb_array", render_size=(64, 48))
    try:
        check_env(env)
    finally:
        env.close()


def test_close_releases_both_physics_clients(clip_file):
    env = QuadrupedLocomotionEnv(clip_file("pace"))
    env.reset(seed=0)
    clients = (env.physics_client, env._kinematic_client)
    assert all(p.getConnectionInfo(c)["isConnected"] for c in clients)
    env.close()
    assert not any(p.getConnectionInfo(c)["isConnected"] for c in clients)
    env.close()  # twice is fine
    with pytest.raises(QuadrupedConfigError, match="closed"):
        env.reset()


def test_render_gives_an_rgb_frame(clip_file):
    env = QuadrupedLocomotionEnv(clip_file("pace"), render_mode="rgb_array", render_size=(80, 60))
    try:
        env.reset(seed=0)
        frame = env.render()
        assert frame.shape == (60, 80, 3) and frame.dtype == np.uint8
        assert frame.std() > 5  # not a blank image
    finally:
        env.close()


def test_moving_the_robot_far_from_the_reference_terminates(pace_env):
    pace_env.reset(seed=0)
    client, robot = pace_env.physics_client, pace_env._robot
    position, orientation = p.getBasePositionAndOrientation(robot, physicsClientId=client)
    p.resetBasePositionAndOrientation(
        robot, [position[0] + 1.5, position[1], position[2]], orientation, physicsClientId=client
    )
    _, _, terminated, truncated, _ = pace_env.step(np.zeros(12))
    assert terminated and not truncated


def test_upside_down_robot_terminates(pace_env):
    pace_env.reset(seed=0)
    client, robot = pace_env.physics_client, pace_env._robot
    position, orientation = p.getBasePositionAndOrientation(robot, physicsClientId=client)
    flipped = rotations.multiply(rotations.from_euler(math.pi, 0.0, 0.0), np.array(orientation))
    p.resetBasePositionAndOrientation(robot, [position[0], position[1], 0.6], list(flipped), physicsClientId=client)
    _, _, terminated, _, _ = pace_env.step(np.zeros(12))
    assert terminated


def test_reward_terms_against_hand_computed_values():
    rest = {
        "ref_joints": np.zeros(12),
        "sim_joints": np.zeros(12),
        "ref_joint_velocities": np.zeros(12),
        "sim_joint_velocities": np.zeros(12),
        "ref_root_position": np.array([0.0, 0.0, 0.45]),
        "sim_root_position": np.array([0.0, 0.0, 0.45]),
        "ref_root_rotation": laikago.INIT_ORIENTATION,
        "sim_root_rotation": laikago.INIT_ORIENTATION,
        "ref_end_effectors": np.tile([0.2, 0.1, 0.02], (8, 1)),
        "sim_end_effectors": np.tile([0.2, 0.1, 0.02], (8, 1)),
        "ref_root_linear_velocity": np.zeros(3),
        "sim_root_linear_velocity": np.zeros(3),
        "ref_root_angular_velocity": np.zeros(3),
        "sim_root_angular_velocity": np.zeros(3),
    }
    reward, terms = imitation_reward(**rest)
    assert reward == pytest.approx(1.0)
    changed = dict(rest)
    changed["sim_joints"] = np.array([0.1, 0.2] + [0.0] * 10)  # Σ = 0.05
    changed["sim_joint_velocities"] = np.array([1.0, 2.0] + [0.0] * 10)  # Σ = 5
    changed["sim_root_position"] = np.array([0.1, 0.0, 0.45])  # 0.01
    # the robot turned by 0.2 rad about z: θ = 0.2 and, seen from its own heading, the feet moved
    turned = rotations.multiply(rotations.about_z(0.2), laikago.INIT_ORIENTATION)
    changed["sim_root_rotation"] = turned
    changed["sim_end_effectors"] = np.tile([0.3, 0.1, 0.05], (8, 1))
    changed["sim_root_linear_velocity"] = np.array([0.0, 0.5, 0.0])  # 0.25
    changed["sim_root_angular_velocity"] = np.array([0.0, 0.0, 1.0])  # 0.1 * 1
    reward, terms = imitation_reward(**changed)
    assert terms["pose"] == pytest.approx(math.exp(-5 * 0.05))
    assert terms["velocity"] == pytest.approx(math.exp(-0.1 * 5))
    assert terms["root_pose"] == pytest.approx(math.exp(-20 * (0.01 + 0.5 * 0.04)))
    assert terms["root_velocity"] == pytest.approx(math.exp(-2 * (0.25 + 0.1)))
    # end effector: ref local (0.2, 0.1); sim local = Rz(-0.2)·(0.3 - 0.1, 0.1, ·)
    c, s = math.cos(0.2), math.sin(0.2)
    sim_local = (c * 0.2 + s * 0.1, -s * 0.2 + c * 0.1)
    per_link = (0.2 - sim_local[0]) ** 2 + (0.1 - sim_local[1]) ** 2 + 3 * (0.02 - 0.05) ** 2
    assert terms["end_effector"] == pytest.approx(math.exp(-40 * 8 * per_link))
    weights = {"pose": 0.5, "velocity": 0.05, "end_effector": 0.2, "root_pose": 0.15, "root_velocity": 0.1}
    assert reward == pytest.approx(sum(weights[k] * terms[k] for k in weights))


def test_action_filter_step_response_by_hand():
    action_filter = ButterworthActionFilter(size=1)
    action_filter.init_history(np.zeros(1))
    y0 = action_filter(np.ones(1))[0]
    y1 = action_filter(np.ones(1))[0]
    assert y0 == pytest.approx(0.10669)
    assert y1 == pytest.approx(0.10669 + 0.21339 + 0.88772 * 0.10669)
    for _ in range(200):
        y = action_filter(np.ones(1))[0]
    assert y == pytest.approx(1.0, abs=1e-4)
    # initialised at rest at q, fed q: stays at q
    action_filter.init_history(np.array([0.7]))
    assert action_filter(np.array([0.7]))[0] == pytest.approx(0.7)


def test_train_mode_randomises_dynamics_reproducibly_and_test_mode_does_not(clip_file):
    train = QuadrupedLocomotionEnv(clip_file("pace"), mode="train")
    test = QuadrupedLocomotionEnv(clip_file("pace"), mode="test")
    try:
        train.reset(seed=5)
        first = train.dynamics
        train.reset(seed=6)
        assert train.dynamics != first
        train.reset(seed=5)
        assert train.dynamics == first
        assert MASS_RANGE[0] <= min(first.mass_ratios) <= max(first.mass_ratios) <= MASS_RANGE[1]
        assert INERTIA_RANGE[0] <= min(first.inertia_ratios) and max(first.inertia_ratios) <= INERTIA_RANGE[1]
        assert LATENCY_RANGE_S[0] <= first.latency_s <= LATENCY_RANGE_S[1]
        base_mass = p.getDynamicsInfo(train._robot, -1, physicsClientId=train.physics_client)[0]
        assert base_mass == pytest.approx(13.715 * first.mass_ratios[0])
        toe_friction = p.getDynamicsInfo(train._robot, 3, physicsClientId=train.physics_client)[1]
        assert toe_friction == pytest.approx(first.foot_friction)
        for _ in range(3):
            test.reset(seed=5)
            assert test.dynamics.latency_s == 0.002 and test.dynamics.mass_ratios == (1.0, 1.0)
        # a randomised episode still produces valid observations (latency up to 40 ms)
        observations, _ = rollout(train, 9, np.zeros((5, 12)))
        assert all(train.observation_space.contains(o) for o in observations)
    finally:
        train.close()
        test.close()


def test_a_seed_gives_the_same_start_times_in_both_modes(clip_file):
    """As in A2Perf, where the randomiser has a generator of its own: randomising the dynamics
    does not move the start times a seed draws, in the seeded episode or the ones after it."""
    train = QuadrupedLocomotionEnv(clip_file("trot"), mode="train")
    test = QuadrupedLocomotionEnv(clip_file("trot"), mode="test")
    try:
        for seed in (0, 3):
            starts = []
            for env in (train, test):
                starts.append(
                    [env.reset(seed=seed)[1]["motion_time"]] + [env.reset()[1]["motion_time"] for _ in range(2)]
                )
            assert starts[0] == starts[1]
    finally:
        train.close()
        test.close()


def test_warmup_start_stands_in_the_default_pose(clip_file):
    env = QuadrupedLocomotionEnv(clip_file("pace"), reference_state_init_probability=0.0)
    try:
        observation, info = env.reset(seed=0)
        assert -0.25 <= info["motion_time"] < 0.0
        np.testing.assert_allclose(observation[48:60], laikago.STANDING_POSE_SDK, atol=1e-6)
        np.testing.assert_allclose(observation[0:2], [0.0, 0.0], atol=1e-6)
    finally:
        env.close()


def test_precomputed_reference_matches_direct_evaluation_across_cycle_resyncs(clip_file):
    """The per-episode reference table must agree with evaluating the clip afresh, including after
    the xy re-sync at each cycle wrap (pace wraps every 19 control steps)."""
    env = QuadrupedLocomotionEnv(clip_file("pace"))
    try:
        for seed in (0, 4):  # seed 4 starts with a warm-up (negative motion time)
            _, info = env.reset(seed=seed)
            assert (info["motion_time"] < 0) is (seed == 4)
            resyncs, origin = 0, env.reference.origin_xy.copy()
            for _ in range(26):
                observation, _, terminated, _, info = env.step(np.zeros(12))
                if not np.array_equal(origin, env.reference.origin_xy):
                    resyncs, origin = resyncs + 1, env.reference.origin_xy.copy()
                times = info["motion_time"] + np.array([0, 1, 2, 10, 30]) * 0.033
                direct_poses, direct_velocities = env._reference_at(times)
                table_poses, table_velocities = env._reference_rows(env._steps - 1)  # the reference lags a step
                np.testing.assert_allclose(table_poses, direct_poses, atol=1e-9)
                np.testing.assert_allclose(table_velocities, direct_velocities, atol=1e-9)
                # the observed target frames, recomputed with the generic quaternion helpers
                delayed = env._delayed(env._history_orientation)
                heading = float(laikago.body_heading(delayed / np.linalg.norm(delayed)))
                turn = rotations.about_z(-heading)
                for k in range(4):
                    frame = observation[84 + 19 * k : 84 + 19 * (k + 1)]
                    relative = rotations.rotate(turn, direct_poses[k + 1, :3] - direct_poses[0, :3])
                    rotation = rotations.standardize(rotations.multiply(turn, direct_poses[k + 1, 3:7]))
                    np.testing.assert_allclose(frame[:3], relative, atol=1e-5)
                    np.testing.assert_allclose(frame[3:7], rotation, atol=1e-6)
                    np.testing.assert_allclose(frame[7:], direct_poses[k + 1, 7:], atol=1e-6)
                if terminated:
                    break
            assert resyncs >= 1
    finally:
        env.close()


def test_reset_can_start_at_a_chosen_motion_time(pace_env):
    observation, info = pace_env.reset(seed=2, options={"motion_time": 0.0})
    assert info["motion_time"] == 0.0
    client, robot = pace_env.physics_client, pace_env._robot
    joints = np.array([s[0] for s in p.getJointStates(robot, laikago.MOTOR_JOINTS, physicsClientId=client)])
    np.testing.assert_allclose(joints, pace_env.clip.frames[0, 7:], atol=1e-9)
    position, _ = p.getBasePositionAndOrientation(robot, physicsClientId=client)
    np.testing.assert_allclose(position, [0.0, 0.0, pace_env.clip.frames[0, 2]], atol=1e-9)
    for bad in (float("nan"), "soon", True):
        with pytest.raises(QuadrupedConfigError, match="motion_time"):
            pace_env.reset(options={"motion_time": bad})


def test_a_negative_motion_time_starts_standing_with_that_much_warm_up(pace_env):
    observation, info = pace_env.reset(seed=2, options={"motion_time": -0.1})
    assert info["motion_time"] == pytest.approx(-0.1, abs=1e-12)
    np.testing.assert_allclose(observation[48:60], laikago.STANDING_POSE_SDK, atol=1e-6)
    times = [pace_env.step(np.zeros(12))[4]["motion_time"] for _ in range(5)]
    # the reference clock stands still on the first step, then advances one control step per step
    np.testing.assert_allclose(times, -0.1 + 0.033 * np.arange(5), atol=1e-12)
