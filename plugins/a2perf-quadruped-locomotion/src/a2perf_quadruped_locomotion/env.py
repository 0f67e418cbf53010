"""The motion-imitation environment: a simulated Laikago rewarded for tracking a reference clip.

Each env owns two PyBullet ``DIRECT`` clients: the simulated world (ground + robot), and a
kinematics-only copy of the robot that is never stepped and only answers "where are the feet of
the reference pose" for the end-effector reward. The reference pose and velocity themselves are
computed analytically from the clip (:mod:`a2perf_quadruped_locomotion.motion`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import gymnasium as gym
import numpy as np
import pybullet as p
import pybullet_data

from a2perf_quadruped_locomotion import laikago, rotations
from a2perf_quadruped_locomotion.action_filter import ButterworthActionFilter
from a2perf_quadruped_locomotion.errors import QuadrupedConfigError
from a2perf_quadruped_locomotion.motion import (
    JOINTS,
    ROOT_POS,
    ROOT_ROT,
    MotionClip,
    ReferenceMotion,
    finite_difference_velocities,
    load_motion_clip,
)
from a2perf_quadruped_locomotion.randomization import RobotDynamics, apply_dynamics

MODES = ("train", "test")
ACTION_LIMIT = 2.0 * np.pi
HISTORY_LENGTH = 3
#: how many control steps ahead the observed reference poses are
TARGET_FRAME_STEPS = (1, 2, 10, 30)
REFERENCE_STATE_INIT_PROBABILITY = 0.9
MAX_WARMUP_S = 0.25
#: 1 kHz readings kept for the observation latency (covers the 40 ms randomised maximum)
LATENCY_BUFFER = 100

REWARD_WEIGHTS = {"pose": 0.5, "velocity": 0.05, "end_effector": 0.2, "root_pose": 0.15, "root_velocity": 0.1}
END_EFFECTOR_HEIGHT_SCALE = 3.0
MAX_ROOT_DISTANCE_M = 1.0
MAX_ROOT_ROTATION_RAD = np.pi / 2

IMU = slice(0, 12)
LAST_ACTION = slice(12, 48)
MOTOR_ANGLES = slice(48, 84)
TARGET_FRAMES = slice(84, 160)
OBSERVATION_SIZE = 160
#: control steps of reference evaluated at once (an episode of the registered tasks + lookahead)
EPISODE_TABLE_STEPS = 640
_INIT_INVERSE = tuple(float(v) for v in laikago.INIT_ORIENTATION_INVERSE)
_OFFSET_MINUS_PI = laikago.MOTOR_OFFSET - np.pi
_MAX_CHANGE = np.full(laikago.NUM_MOTORS, laikago.MAX_MOTOR_ANGLE_CHANGE_PER_SUBSTEP)
_TWO_PI = np.full(laikago.NUM_MOTORS, 2.0 * np.pi)
_ACTION_LOW = np.full(laikago.NUM_MOTORS, -ACTION_LIMIT)
_ACTION_HIGH = np.full(laikago.NUM_MOTORS, ACTION_LIMIT)


def imu_quaternion(orientation: Sequence[float]) -> list[float]:
    """``orientation ⊗ INIT⁻¹`` in plain floats: the base orientation the IMU reports."""
    x1, y1, z1, w1 = orientation
    x2, y2, z2, w2 = _INIT_INVERSE
    return [
        w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
        w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
        w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
    ]


def body_rate(orientation: Sequence[float], angular_velocity: Sequence[float]) -> tuple[float, float]:
    """World angular velocity turned into the IMU frame, ``Rᵀ ω``: its x (roll) and y (pitch) rates."""
    matrix = p.getMatrixFromQuaternion(imu_quaternion(orientation))  # row-major
    wx, wy, wz = angular_velocity
    return (
        matrix[0] * wx + matrix[3] * wy + matrix[6] * wz,
        matrix[1] * wx + matrix[4] * wy + matrix[7] * wz,
    )


def rotation_angle_between(q1: Sequence[float], q2: Sequence[float]) -> float:
    """Angle of ``q1 ⊗ conj(q2)`` in ``[0, π]``: how far apart two orientations are."""
    x1, y1, z1, w1 = q1
    x2, y2, z2, w2 = q2
    # q1 ⊗ conj(q2)
    x = -w1 * x2 + x1 * w2 - y1 * z2 + z1 * y2
    y = -w1 * y2 + x1 * z2 + y1 * w2 - z1 * x2
    z = -w1 * z2 - x1 * y2 + y1 * x2 + z1 * w2
    w = w1 * w2 + x1 * x2 + y1 * y2 + z1 * z2
    return 2.0 * math.atan2(math.sqrt(x * x + y * y + z * z), abs(w))


def _heading_frame(points: np.ndarray, root: np.ndarray, heading: float) -> np.ndarray:
    """xy of ``points - root`` turned by ``-heading`` about z, ``(n, 2)``."""
    c, s = math.cos(heading), math.sin(heading)
    return (points[:, :2] - root[:2]) @ np.array([[c, -s], [s, c]])


def imitation_reward(
    *,
    ref_joints: np.ndarray,
    sim_joints: np.ndarray,
    ref_joint_velocities: np.ndarray,
    sim_joint_velocities: np.ndarray,
    ref_root_position: np.ndarray,
    sim_root_position: np.ndarray,
    ref_root_rotation: Sequence[float],
    sim_root_rotation: Sequence[float],
    ref_end_effectors: np.ndarray,
    sim_end_effectors: np.ndarray,
    ref_root_linear_velocity: np.ndarray,
    sim_root_linear_velocity: np.ndarray,
    ref_root_angular_velocity: np.ndarray,
    sim_root_angular_velocity: np.ndarray,
) -> tuple[float, dict[str, float]]:
    """The motion-imitation reward in ``[0, 1]`` and its five terms (each in ``[0, 1]``).

    Joint quantities are URDF angles; positions, rotations (xyzw, URDF body frame) and velocities
    are in the world frame; end effectors are ``(8, 3)`` world positions of link centres of mass,
    compared relative to each model's root in its own heading frame (heights in the world).
    """
    joint_error = ref_joints - sim_joints
    pose_error = float(joint_error @ joint_error)
    velocity_difference = ref_joint_velocities - sim_joint_velocities
    velocity_error = float(velocity_difference @ velocity_difference)

    ref_rotation = [float(v) for v in ref_root_rotation]
    sim_rotation = [float(v) for v in sim_root_rotation]
    ref_local = _heading_frame(ref_end_effectors, ref_root_position, laikago.heading_of(*ref_rotation))
    sim_local = _heading_frame(sim_end_effectors, sim_root_position, laikago.heading_of(*sim_rotation))
    dxy = ref_local - sim_local
    dz = ref_end_effectors[:, 2] - sim_end_effectors[:, 2]
    end_effector_error = float(np.vdot(dxy, dxy)) + END_EFFECTOR_HEIGHT_SCALE * float(dz @ dz)

    theta = rotation_angle_between(ref_rotation, sim_rotation)
    root_offset = ref_root_position - sim_root_position
    root_pose_error = float(root_offset @ root_offset) + 0.5 * theta * theta
    linear = ref_root_linear_velocity - sim_root_linear_velocity
    angular = ref_root_angular_velocity - sim_root_angular_velocity
    root_velocity_error = float(linear @ linear) + 0.1 * float(angular @ angular)
    terms = {
        "pose": math.exp(-5.0 * pose_error),
        "velocity": math.exp(-0.1 * velocity_error),
        "end_effector": math.exp(-40.0 * end_effector_error),
        "root_pose": math.exp(-20.0 * root_pose_error),
        "root_velocity": math.exp(-2.0 * root_velocity_error),
    }
    return sum(REWARD_WEIGHTS[k] * v for k, v in terms.items()), terms


class QuadrupedLocomotionEnv(gym.Env):
    """A Laikago imitating a reference motion clip (Peng et al. 2020), at 1 kHz physics / 30 Hz control.

    Action: 12 offsets (rad, SDK convention) added to the standing pose. Observation: 160 floats,
    see the README. Reward in ``[0, 1]`` per step. No time limit inside: the registered tasks add
    a 600-step ``TimeLimit``, which reports truncation.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(
        self,
        motion: MotionClip | str | Path,
        *,
        mode: str = "test",
        seed: int | None = None,
        render_mode: str | None = None,
        render_size: tuple[int, int] = (320, 240),
        reference_state_init_probability: float = REFERENCE_STATE_INIT_PROBABILITY,
        stale_reset_history: bool = True,
        long_way_angular_velocity: bool = True,
    ):
        """``stale_reset_history`` and ``long_way_angular_velocity`` reproduce two behaviours of
        A2Perf's env that move results (on in ``-v0``, off in ``-v1``; see the README)."""
        if mode not in MODES:
            raise QuadrupedConfigError(f"mode must be one of {MODES}, not {mode!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise QuadrupedConfigError(f"render_mode must be None or 'rgb_array', not {render_mode!r}")
        if not 0.0 <= reference_state_init_probability <= 1.0:
            raise QuadrupedConfigError(
                f"reference_state_init_probability must be in [0, 1], not {reference_state_init_probability!r}"
            )
        self.reference_state_init_probability = float(reference_state_init_probability)
        clip = motion if isinstance(motion, MotionClip) else load_motion_clip(motion)
        if long_way_angular_velocity:
            long_way = finite_difference_velocities(clip.frames, clip.frame_duration, short_way=False)
            clip = attrs.evolve(clip, velocities=long_way)
        self.clip = clip
        self.stale_reset_history = bool(stale_reset_history)
        self.long_way_angular_velocity = bool(long_way_angular_velocity)
        self.mode = mode
        self.render_mode = render_mode
        self.render_size = (int(render_size[0]), int(render_size[1]))
        self._initial_seed = seed
        self.reference = ReferenceMotion(self.clip)

        self.action_space = gym.spaces.Box(-ACTION_LIMIT, ACTION_LIMIT, (laikago.NUM_MOTORS,), dtype=np.float32)
        self.observation_space = self._observation_space()

        self._client = -1
        self._kinematic_client = -1
        self._connect()
        self._filter = ButterworthActionFilter()
        self._dynamics = RobotDynamics.nominal()
        self._dynamics_rng: np.random.Generator | None = None
        #: 1 kHz motor angle history, SDK convention shifted by +π (so wrapping is one ``%``)
        self._history_q = np.zeros((LATENCY_BUFFER, laikago.NUM_MOTORS))
        self._history_orientation = np.zeros((LATENCY_BUFFER, 4))
        #: body-frame angular rate [ω_x, ω_y], recorded with the orientation
        self._history_rate = np.zeros((LATENCY_BUFFER, 2))
        self._history_head = 0
        self._history_count = 0
        self._sensor_imu = np.zeros((HISTORY_LENGTH, 4))
        self._sensor_action = np.zeros((HISTORY_LENGTH, laikago.NUM_MOTORS))
        self._sensor_motors = np.zeros((HISTORY_LENGTH, laikago.NUM_MOTORS))
        self._interpolation = (np.arange(laikago.SUBSTEPS_PER_ACTION) + 1.0)[:, None] / laikago.SUBSTEPS_PER_ACTION
        self._target_steps = np.array([0, *TARGET_FRAME_STEPS])
        self._observation_buffer = np.empty(OBSERVATION_SIZE)
        self._target_buffer = np.empty((len(TARGET_FRAME_STEPS), 19))
        self._needs_reset = True

    # --- construction ------------------------------------------------------------------------

    def _observation_space(self) -> gym.spaces.Box:
        angle, rate = 2.0 * np.pi, 2000.0 * np.pi
        imu = np.tile([angle, angle, rate, rate], HISTORY_LENGTH)
        action_low = np.tile(laikago.STANDING_POSE_SDK - ACTION_LIMIT, HISTORY_LENGTH)
        action_high = np.tile(laikago.STANDING_POSE_SDK + ACTION_LIMIT, HISTORY_LENGTH)
        motors = np.full(HISTORY_LENGTH * laikago.NUM_MOTORS, np.pi)
        reach = self._max_reference_displacement()
        joints_low = np.minimum(laikago.JOINT_LOWER_URDF, self.clip.frames[:, JOINTS].min(axis=0))
        joints_high = np.maximum(laikago.JOINT_UPPER_URDF, self.clip.frames[:, JOINTS].max(axis=0))
        frame_low = np.concatenate([np.full(3, -reach), np.full(4, -1.0), joints_low])
        frame_high = np.concatenate([np.full(3, reach), np.full(4, 1.0), joints_high])
        low = np.concatenate([-imu, action_low, -motors, np.tile(frame_low, len(TARGET_FRAME_STEPS))])
        high = np.concatenate([imu, action_high, motors, np.tile(frame_high, len(TARGET_FRAME_STEPS))])
        return gym.spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)

    def _max_reference_displacement(self) -> float:
        """Bound on the observed reference root displacement: at least 2 m, more for fast clips."""
        horizon = max(TARGET_FRAME_STEPS) * laikago.CONTROL_TIME_STEP_S
        times = np.linspace(0.0, 2.0 * self.clip.duration, 400)
        start = self.clip.pose(times)[:, ROOT_POS]
        ahead = self.clip.pose(times + horizon)[:, ROOT_POS]
        largest = float(np.max(np.linalg.norm(ahead - start, axis=1)))
        return max(2.0, 1.5 * largest + 0.5)

    def _connect(self) -> None:
        self._client = client = p.connect(p.DIRECT)
        p.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=client)
        p.setGravity(0.0, 0.0, laikago.GRAVITY, physicsClientId=client)
        p.setPhysicsEngineParameter(
            numSolverIterations=laikago.SOLVER_ITERATIONS, enableConeFriction=0, physicsClientId=client
        )
        p.setTimeStep(laikago.SIM_TIME_STEP_S, physicsClientId=client)
        self._ground = p.loadURDF(laikago.GROUND_URDF_PATH, physicsClientId=client)
        self._robot = p.loadURDF(
            laikago.URDF_PATH, laikago.INIT_POSITION, laikago.INIT_ORIENTATION, physicsClientId=client
        )
        for link in range(-1, p.getNumJoints(self._robot, physicsClientId=client)):
            p.changeDynamics(self._robot, link, linearDamping=0.0, angularDamping=0.0, physicsClientId=client)
        self._nominal_mass = {}
        self._nominal_inertia = {}
        for link in (*laikago.CHASSIS_LINKS, *laikago.LEG_LINKS):
            info = p.getDynamicsInfo(self._robot, link, physicsClientId=client)
            self._nominal_mass[link] = info[0]
            self._nominal_inertia[link] = tuple(info[2])
        motors = list(laikago.MOTOR_JOINTS)
        p.setJointMotorControlArray(
            self._robot, motors, p.VELOCITY_CONTROL, forces=[0.0] * len(motors), physicsClientId=client
        )
        self._place_robot(laikago.INIT_POSITION, laikago.INIT_ORIENTATION, laikago.STANDING_POSE_URDF)
        self._initial_state = p.saveState(physicsClientId=client)

        self._kinematic_client = p.connect(p.DIRECT)
        p.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=self._kinematic_client)
        self._kinematic_robot = p.loadURDF(laikago.URDF_PATH, useFixedBase=True, physicsClientId=self._kinematic_client)

    def _restore_initial_world(self) -> None:
        """Back to the state saved after loading, with no cached contacts, so that episodes with
        the same seed are identical however many came before. ``restoreState`` alone keeps the
        solver's contact manifolds; one step with the robot far from the ground drops them."""
        client = self._client
        p.resetBasePositionAndOrientation(self._robot, [0.0, 0.0, 100.0], [0.0, 0.0, 0.0, 1.0], physicsClientId=client)
        p.stepSimulation(physicsClientId=client)
        p.restoreState(self._initial_state, physicsClientId=client)

    def _place_robot(
        self,
        position: np.ndarray,
        orientation: np.ndarray,
        joints: np.ndarray,
        linear_velocity: np.ndarray | None = None,
        angular_velocity: np.ndarray | None = None,
        joint_velocities: np.ndarray | None = None,
    ) -> None:
        client, robot = self._client, self._robot
        p.resetBasePositionAndOrientation(robot, list(position), list(orientation), physicsClientId=client)
        zero = [0.0, 0.0, 0.0]
        p.resetBaseVelocity(
            robot,
            zero if linear_velocity is None else list(linear_velocity),
            zero if angular_velocity is None else list(angular_velocity),
            physicsClientId=client,
        )
        velocities = np.zeros(laikago.NUM_MOTORS) if joint_velocities is None else joint_velocities
        for joint, angle, velocity in zip(laikago.MOTOR_JOINTS, joints, velocities, strict=True):
            p.resetJointState(robot, joint, float(angle), float(velocity), physicsClientId=client)

    # --- gymnasium API -----------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Start an episode: 90% from the reference state at a random time, else standing with a
        short warm-up. ``options={"motion_time": t}`` starts from the reference state at ``t``, or
        for ``t < 0`` standing, with the clip starting after ``-t`` seconds."""
        if self._client < 0:
            raise QuadrupedConfigError("this environment was closed; make a new one")
        if seed is None and self._initial_seed is not None:
            seed, self._initial_seed = self._initial_seed, None
        super().reset(seed=seed)
        rng = self.np_random
        if seed is not None or self._dynamics_rng is None:
            # randomisation draws from a generator of its own, as A2Perf's randomiser does, so a
            # seed gives the same start times in both modes (and as in A2Perf's env)
            stream = None if seed is None else np.random.SeedSequence(seed).spawn(1)[0]
            self._dynamics_rng = np.random.default_rng(stream)
        self._restore_initial_world()
        if self.mode == "train":
            self._dynamics = RobotDynamics.sample(self._dynamics_rng)
        else:
            self._dynamics = RobotDynamics.nominal()
        if self.mode == "train":
            apply_dynamics(p, self._client, self._robot, self._dynamics, self._nominal_mass, self._nominal_inertia)
        self._set_latency(self._dynamics.latency_s)
        strength = np.asarray(self._dynamics.motor_strength)
        self._kp = laikago.KP * strength
        self._kd = laikago.KD * strength

        # A2Perf's clock: motion time = time since reset + offset (- warm-up), see _reference_times
        if rng.random() < self.reference_state_init_probability:
            self._clip_offset, self._warmup_s = float(rng.uniform(0.0, self.clip.duration)), 0.0
        else:
            self._clip_offset, self._warmup_s = float(rng.uniform(0.0, MAX_WARMUP_S)), MAX_WARMUP_S
        if options and "motion_time" in options:
            start = options["motion_time"]
            if isinstance(start, bool) or not isinstance(start, (int, float)) or not math.isfinite(start):
                raise QuadrupedConfigError(f"options['motion_time'] must be a time in seconds, not {start!r}")
            self._warmup_s = 0.0 if start >= 0.0 else max(MAX_WARMUP_S, -float(start))
            self._clip_offset = float(start) + self._warmup_s
        self._steps = 0
        start_time = self._clip_offset - self._warmup_s
        self.reference.align(max(start_time, 0.0), laikago.INIT_POSITION[:2], laikago.INIT_ORIENTATION)
        # warm-up reference: the standing pose at the origin offset, facing as the clip's first
        # frame does once the clip is turned onto the robot (A2Perf's rule; with the robot starting
        # in its initial pose, that is the initial pose itself)
        turn = self.reference.origin_heading + float(rotations.heading(self.clip.frames[0, ROOT_ROT]))
        turn -= float(rotations.heading(laikago.INIT_ORIENTATION))
        self._warmup_pose = np.concatenate(
            [
                [0.0, 0.0, laikago.INIT_POSITION[2]],
                rotations.multiply(rotations.about_z(turn), laikago.INIT_ORIENTATION),
                laikago.STANDING_POSE_URDF,
            ]
        )
        self._previous_phase = float(self.clip.phase(start_time))
        self._table_origin_xy = self.reference.origin_xy.copy()
        self._table_poses = np.empty((0, 19))
        self._table_velocities = np.empty((0, 18))
        self._extend_reference_table(EPISODE_TABLE_STEPS)
        poses, velocities = self._reference_rows(0)
        pose, velocity = poses[0], velocities[0]
        self._history_head = -1
        self._history_count = 0
        if self.stale_reset_history:
            self._read_standing_history()
        self._place_robot(pose[ROOT_POS], pose[ROOT_ROT], pose[JOINTS], velocity[0:3], velocity[3:6], velocity[6:])
        self._read_motors()
        self._record_orientation()
        observed = self._observed_motor_angles()
        self._filter.init_history(observed)
        self._previous_target: np.ndarray | None = None
        if not self.stale_reset_history:
            self._sensor_action[:] = observed
            self._sensor_motors[:] = observed
        self._needs_reset = False
        delayed_orientation = self._delayed_orientation()
        if not self.stale_reset_history:
            self._sensor_imu[:] = self._imu_reading(delayed_orientation)
        observation = self._observation(poses, delayed_orientation)
        return observation, {"motion_time": start_time}

    def _checked_action(self, action: Any) -> np.ndarray:
        """The action as 12 finite floats; anything else is an error (a NaN would poison every later
        reward of the episode). Finite values outside the action space are clipped to it."""
        try:
            values = np.asarray(action, dtype=float)
        except (TypeError, ValueError):
            raise QuadrupedConfigError(f"action must be {laikago.NUM_MOTORS} numbers, got {action!r}") from None
        if values.shape != (laikago.NUM_MOTORS,):
            raise QuadrupedConfigError(f"action must have shape ({laikago.NUM_MOTORS},), got {values.shape}")
        if not np.all(np.isfinite(values)):
            bad = np.flatnonzero(~np.isfinite(values)).tolist()
            raise QuadrupedConfigError(f"action has non-finite values at motors {bad}: {values.tolist()}")
        return values

    def _read_standing_history(self) -> None:
        """A2Perf's reset: a reading of the standing robot (where its reset put it) goes into the
        1 kHz history, and its sensor histories are filled from it (the last-action one with
        zeros), all before the robot is moved onto the reference. So its reset observation shows
        the standing pose, and with the 2 ms latency the action filter starts from it."""
        self._read_motors()
        self._record_orientation()
        self._sensor_motors[:] = self._observed_motor_angles()
        self._sensor_imu[:] = self._imu_reading(self._delayed_orientation())
        self._sensor_action[:] = 0.0

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self._needs_reset:
            raise QuadrupedConfigError("call reset() before step()")
        action = self._checked_action(action)
        target = laikago.STANDING_POSE_SDK + np.minimum(np.maximum(action, _ACTION_LOW), _ACTION_HIGH)
        self._last_action = target
        filtered = self._filter(target)
        if self._previous_target is None:
            targets = np.broadcast_to(filtered, (laikago.SUBSTEPS_PER_ACTION, laikago.NUM_MOTORS))
        else:
            previous = self._previous_target
            targets = previous + self._interpolation * (filtered - previous)
        self._previous_target = filtered
        self._run_substeps(targets)
        self._steps += 1
        # the reference lags the robot by one step (see _reference_times)
        reference_step = self._steps - 1
        time = float(self._reference_times(np.array([reference_step]))[0])

        client, robot = self._client, self._robot
        position, orientation = p.getBasePositionAndOrientation(robot, physicsClientId=client)
        linear_velocity, angular_velocity = p.getBaseVelocity(robot, physicsClientId=client)
        position = np.array(position)
        cycles = time / self.clip.duration
        phase = cycles - math.floor(cycles) if self.clip.loop else min(max(cycles, 0.0), 1.0)
        if phase < self._previous_phase:  # a new cycle (or the clip starting after warm-up)
            if time < 0.0:  # the warm-up pose stands at the origin offset itself
                self.reference.origin_xy = position[:2].copy()
            else:
                self.reference.resync_xy(time, position[:2])
        self._previous_phase = phase
        frames, velocities = self._reference_rows(reference_step)
        reference_pose, reference_velocity = frames[0], velocities[0]
        reference_rotation = reference_pose[ROOT_ROT].tolist()

        # A2Perf reads the robot's feet from PyBullet's cached link states, which hold the poses
        # at the start of the last 1 ms physics step (no forward kinematics pass); so do we
        sim_links = p.getLinkStates(robot, laikago.END_EFFECTOR_LINKS, physicsClientId=client)
        reward, terms = imitation_reward(
            ref_joints=reference_pose[JOINTS],
            sim_joints=self._q_urdf,
            ref_joint_velocities=reference_velocity[6:],
            sim_joint_velocities=self._qd_urdf,
            ref_root_position=reference_pose[ROOT_POS],
            sim_root_position=position,
            ref_root_rotation=reference_rotation,
            sim_root_rotation=orientation,
            ref_end_effectors=self._kinematic_end_effectors(reference_pose),
            sim_end_effectors=np.array([link[0] for link in sim_links]),
            ref_root_linear_velocity=reference_velocity[0:3],
            sim_root_linear_velocity=np.array(linear_velocity),
            ref_root_angular_velocity=reference_velocity[3:6],
            sim_root_angular_velocity=np.array(angular_velocity),
        )
        terminated = self._fell(reference_pose[ROOT_POS], reference_rotation, position, orientation)

        self._sensor_imu[1:] = self._sensor_imu[:-1]
        delayed_orientation = self._delayed_orientation()
        self._sensor_imu[0] = self._imu_reading(delayed_orientation)
        self._sensor_action[1:] = self._sensor_action[:-1]
        self._sensor_action[0] = self._last_action
        self._sensor_motors[1:] = self._sensor_motors[:-1]
        self._sensor_motors[0] = self._observed_motor_angles()
        observation = self._observation(frames, delayed_orientation)
        info = {"motion_time": time, "reward_terms": terms}
        return observation, reward, terminated, False, info

    def render(self) -> np.ndarray | None:
        """An RGB frame from PyBullet's software renderer, the camera following the robot."""
        if self.render_mode != "rgb_array":
            return None
        if self._client < 0:
            raise QuadrupedConfigError("this environment was closed; make a new one")
        width, height = self.render_size
        position, _ = p.getBasePositionAndOrientation(self._robot, physicsClientId=self._client)
        view = p.computeViewMatrixFromYawPitchRoll(
            cameraTargetPosition=[position[0], position[1], 0.3],
            distance=1.4,
            yaw=35.0,
            pitch=-25.0,
            roll=0.0,
            upAxisIndex=2,
            physicsClientId=self._client,
        )
        projection = p.computeProjectionMatrixFOV(
            fov=60.0, aspect=width / height, nearVal=0.05, farVal=20.0, physicsClientId=self._client
        )
        _, _, rgba, _, _ = p.getCameraImage(
            width,
            height,
            viewMatrix=view,
            projectionMatrix=projection,
            renderer=p.ER_TINY_RENDERER,
            physicsClientId=self._client,
        )
        return np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[:, :, :3].copy()

    def close(self) -> None:
        """Disconnect both PyBullet clients; safe to call more than once."""
        for name in ("_client", "_kinematic_client"):
            client = getattr(self, name, -1)
            if client >= 0:
                if p.isConnected(client):
                    p.disconnect(client)
                setattr(self, name, -1)
        self._needs_reset = True

    @property
    def physics_client(self) -> int:
        """PyBullet client id of the simulated world (``-1`` once closed)."""
        return self._client

    @property
    def dynamics(self) -> RobotDynamics:
        """The robot's dynamics this episode (nominal in ``mode="test"``)."""
        return self._dynamics

    # --- simulation ----------------------------------------------------------------------------

    def _set_latency(self, latency_s: float) -> None:
        self._latency_s = latency_s
        ratio = latency_s / laikago.SIM_TIME_STEP_S
        self._latency_steps = int(ratio)
        self._latency_blend = ratio - self._latency_steps
        if self._latency_blend < 1e-9:
            self._latency_blend = 0.0
        # the base orientation is only read for the observation, at the step's end: record it
        # only in the substeps the latency interpolation can reach
        oldest = self._latency_steps + 1
        last = laikago.SUBSTEPS_PER_ACTION - 1
        self._orientation_from_substep = last - oldest if oldest < last else 0

    def _read_motors(self) -> None:
        """Read the 12 joints, push the SDK angles onto the 1 kHz history."""
        states = p.getJointStates(self._robot, laikago.MOTOR_JOINTS, physicsClientId=self._client)
        self._q_urdf = np.array([s[0] for s in states])
        self._qd_urdf = np.array([s[1] for s in states])
        self._history_head = head = (self._history_head + 1) % LATENCY_BUFFER
        self._history_q[head] = self._q_urdf * laikago.MOTOR_DIRECTION - _OFFSET_MINUS_PI
        if self._history_count < LATENCY_BUFFER:
            self._history_count += 1

    def _record_orientation(self) -> None:
        """Push the base orientation and body-frame rate onto the 1 kHz history (IMU readings)."""
        _, orientation = p.getBasePositionAndOrientation(self._robot, physicsClientId=self._client)
        _, angular_velocity = p.getBaseVelocity(self._robot, physicsClientId=self._client)
        self._history_orientation[self._history_head] = orientation
        self._history_rate[self._history_head] = body_rate(orientation, angular_velocity)

    def _delayed(self, history: np.ndarray) -> np.ndarray:
        """The reading ``latency`` seconds ago, linearly interpolated between 1 kHz samples."""
        head, count = self._history_head, self._history_count
        steps = self._latency_steps
        if (steps == 0 and self._latency_blend == 0.0) or count == 1:
            return history[head]
        if steps + 1 >= count:
            return history[(head - count + 1) % LATENCY_BUFFER]
        newer = history[(head - steps) % LATENCY_BUFFER]
        blend = self._latency_blend
        if blend == 0.0:
            return newer
        older = history[(head - steps - 1) % LATENCY_BUFFER]
        return (1.0 - blend) * newer + blend * older

    def _observed_motor_angles(self) -> np.ndarray:
        """Motor angles as the robot reports them: SDK convention, delayed, wrapped to ``[-π, π)``."""
        return self._delayed(self._history_q) % (2.0 * np.pi) - np.pi

    def _run_substeps(self, targets: np.ndarray) -> None:
        """33 physics steps, each with a PD torque towards the interpolated, rate-clipped target.

        The hot loop of the env: one joint read, a dozen small array operations and one torque
        call per 1 ms step. Angles are handled shifted by +π (history and targets alike), so the
        observed angle's wrap to [-π, π) is a single ``%``.
        """
        client, robot = self._client, self._robot
        joints = laikago.MOTOR_JOINTS
        direction = laikago.MOTOR_DIRECTION
        kp_urdf = self._kp * direction  # τ_urdf = dir·kp·(target_sdk − q_sdk) − kd·q̇_urdf
        kd = self._kd
        # array operands throughout: NumPy 2 pays a scalar conversion for every Python float
        max_change, two_pi = _MAX_CHANGE, _TWO_PI
        shifted_targets = targets + math.pi
        torque_control = p.TORQUE_CONTROL
        set_torques, step_simulation, read_joints = p.setJointMotorControlArray, p.stepSimulation, p.getJointStates
        get_base = p.getBasePositionAndOrientation
        maximum, minimum, remainder, multiply = np.maximum, np.minimum, np.remainder, np.multiply
        history, orientations, rates = self._history_q, self._history_orientation, self._history_rate
        get_velocity = p.getBaseVelocity
        steps, blend = self._latency_steps, self._latency_blend
        no_latency = steps == 0 and blend == 0.0
        record_from = self._orientation_from_substep
        head, count = self._history_head, self._history_count
        current, qd_urdf = history[head], self._qd_urdf
        for i in range(laikago.SUBSTEPS_PER_ACTION):
            if no_latency or count == 1:
                delayed = history[head]
            elif steps + 1 >= count:
                delayed = history[(head - count + 1) % LATENCY_BUFFER]
            elif blend == 0.0:
                delayed = history[(head - steps) % LATENCY_BUFFER]
            else:
                delayed = (1.0 - blend) * history[(head - steps) % LATENCY_BUFFER] + blend * history[
                    (head - steps - 1) % LATENCY_BUFFER
                ]
            observed = remainder(delayed, two_pi)  # wrapped observed angle, +π
            target = minimum(maximum(shifted_targets[i], observed - max_change), observed + max_change)
            torque = kp_urdf * (target - current) - kd * qd_urdf
            set_torques(robot, joints, torque_control, forces=torque, physicsClientId=client)
            step_simulation(physicsClientId=client)
            states = read_joints(robot, joints, physicsClientId=client)
            q_urdf = np.array([state[0] for state in states])
            qd_urdf = np.array([state[1] for state in states])
            head = (head + 1) % LATENCY_BUFFER
            current = history[head]
            multiply(q_urdf, direction, out=current)
            current -= _OFFSET_MINUS_PI
            if count < LATENCY_BUFFER:
                count += 1
            if i >= record_from:
                orientation = orientations[head] = get_base(robot, physicsClientId=client)[1]
                rates[head] = body_rate(orientation, get_velocity(robot, physicsClientId=client)[1])
        self._history_head, self._history_count = head, count
        self._q_urdf, self._qd_urdf = q_urdf, qd_urdf

    def _imu_reading(self, delayed_orientation: Sequence[float]) -> list[float]:
        """[roll, pitch, ω_x, ω_y], all ``latency`` old (the rates interpolated like the angles)."""
        roll, pitch = rotations.roll_pitch(imu_quaternion(delayed_orientation))
        rate_x, rate_y = self._delayed(self._history_rate)
        return [roll, pitch, float(rate_x), float(rate_y)]

    def _delayed_orientation(self) -> list[float]:
        delayed = self._delayed(self._history_orientation)
        return (delayed / math.sqrt(float(delayed @ delayed))).tolist()

    def _fell(
        self,
        reference_position: np.ndarray,
        reference_rotation: Sequence[float],
        position: np.ndarray,
        orientation: Sequence[float],
    ) -> bool:
        """Body contact with the ground, or too far from the reference in position or rotation."""
        if self._steps > 1:
            contacts = p.getContactPoints(bodyA=self._robot, bodyB=self._ground, physicsClientId=self._client)
            allowed = laikago.END_EFFECTOR_LINKS
            if any(contact[3] not in allowed for contact in contacts):
                return True
        offset = reference_position - position
        if float(offset @ offset) > MAX_ROOT_DISTANCE_M**2:
            return True
        return rotation_angle_between(reference_rotation, orientation) > MAX_ROOT_ROTATION_RAD

    # --- reference ---------------------------------------------------------------------------

    def _reference_times(self, rows: np.ndarray) -> np.ndarray:
        """Motion time of reference row ``r``: the reference after env step ``r + 1`` (row 0 also
        serves at reset), computed in A2Perf's order of floating-point operations.

        A2Perf's clock is ``time since reset + clip offset − one control step (− warm-up)``: the
        reference does not advance on the first step, so it lags the robot by one step all
        episode. The same rounding matters: when the first step's time rounds below the start
        time, the phase looks as if it wrapped and the reference xy re-syncs, as in A2Perf.
        """
        substeps = laikago.SUBSTEPS_PER_ACTION
        elapsed = (substeps * (np.asarray(rows) + 1)).astype(float) * laikago.SIM_TIME_STEP_S
        times = elapsed + self._clip_offset
        times += -(substeps * laikago.SIM_TIME_STEP_S)
        if self._warmup_s:
            times -= self._warmup_s
        return times

    def _extend_reference_table(self, steps: int) -> None:
        """Evaluate the reference for the next ``steps`` rows in one vectorised call.

        Reference times are fixed once the episode starts and the heading offset only changes at
        reset, so the clip is evaluated once per episode; cycle re-syncs only shift xy, applied
        at lookup (to the warm-up pose too, which stands at the origin offset).
        """
        start = len(self._table_poses)
        times = self._reference_times(np.arange(start, start + steps))
        poses, velocities = self._reference_at(times)
        poses[:, 0:2] += self._table_origin_xy - self.reference.origin_xy
        self._table_poses = np.concatenate([self._table_poses, poses])
        self._table_velocities = np.concatenate([self._table_velocities, velocities])

    def _reference_rows(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """Reference poses at ``row`` and each target-frame step ahead ``(5, 19)``, and the
        matching velocities ``(5, 18)``, with the current xy re-sync applied."""
        rows = self._target_steps + row
        if row + TARGET_FRAME_STEPS[-1] >= len(self._table_poses):
            self._extend_reference_table(
                max(EPISODE_TABLE_STEPS, row + TARGET_FRAME_STEPS[-1] + 1 - len(self._table_poses))
            )
        poses = self._table_poses[rows]
        poses[:, 0:2] += self.reference.origin_xy - self._table_origin_xy
        return poses, self._table_velocities[rows]

    def _reference_at(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Reference poses and velocities at any times; before the clip starts, the standing pose."""
        poses, velocities = self.reference.pose_and_velocity(np.maximum(times, 0.0))
        warm = times < 0.0
        if np.any(warm):
            poses[warm] = self._warmup_pose
            poses[warm, 0:2] += self.reference.origin_xy
            velocities[warm] = 0.0
        return poses, velocities

    def _kinematic_end_effectors(self, pose: np.ndarray) -> np.ndarray:
        """World centres of mass of the 8 toe and lower-leg links for a reference pose."""
        client, robot = self._kinematic_client, self._kinematic_robot
        p.resetBasePositionAndOrientation(robot, list(pose[ROOT_POS]), list(pose[ROOT_ROT]), physicsClientId=client)
        p.resetJointStatesMultiDof(
            robot, laikago.MOTOR_JOINTS, [[float(q)] for q in pose[JOINTS]], physicsClientId=client
        )
        links = p.getLinkStates(robot, laikago.END_EFFECTOR_LINKS, computeForwardKinematics=1, physicsClientId=client)
        return np.array([link[0] for link in links])

    def _observation(self, frames: np.ndarray, delayed_orientation: Sequence[float]) -> np.ndarray:
        """Sensor histories, then the reference 1, 2, 10 and 30 steps ahead in the robot's
        heading frame (heading from the delayed IMU), relative to the reference root now."""
        observation = self._observation_buffer
        observation[IMU] = self._sensor_imu.ravel()
        observation[LAST_ACTION] = self._sensor_action.ravel()
        observation[MOTOR_ANGLES] = self._sensor_motors.ravel()
        heading = laikago.heading_of(*delayed_orientation)
        c, s = math.cos(heading), math.sin(heading)
        ahead = frames[1:]
        targets = self._target_buffer
        targets[:, 0:2] = (ahead[:, 0:2] - frames[0, 0:2]) @ np.array([[c, -s], [s, c]])
        targets[:, 2] = ahead[:, 2] - frames[0, 2]
        # about_z(-heading) ⊗ q is a linear map of q; then w >= 0
        hc, hs = math.cos(0.5 * heading), math.sin(0.5 * heading)
        turn = np.array([[hc, -hs, 0.0, 0.0], [hs, hc, 0.0, 0.0], [0.0, 0.0, hc, hs], [0.0, 0.0, -hs, hc]])
        turned = ahead[:, ROOT_ROT] @ turn
        negative = turned[:, 3] < 0.0
        if negative.any():
            turned[negative] *= -1.0
        targets[:, ROOT_ROT] = turned
        targets[:, JOINTS] = ahead[:, JOINTS]
        observation[TARGET_FRAMES] = targets.ravel()
        return observation.astype(np.float32)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def make_env(
    motion_asset: str | None = None,
    motion_file: str | Path | None = None,
    mode: str = "test",
    seed: int | None = None,
    render_mode: str | None = None,
    **kwargs: Any,
) -> QuadrupedLocomotionEnv:
    """Entry point of the registered tasks: ``motion_file`` (any clip in the same format) wins over
    the task's ``motion_asset``."""
    if motion_file is None:
        if motion_asset is None:
            raise QuadrupedConfigError("give motion_file=<path to a clip> or motion_asset=<data asset name>")
        from a2perf_core.data import asset_path

        motion_file = asset_path(motion_asset)
    return QuadrupedLocomotionEnv(motion_file, mode=mode, seed=seed, render_mode=render_mode, **kwargs)
