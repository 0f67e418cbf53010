"""Facts about the Laikago model: joint layout, the SDK/URDF angle conventions, and its gains.

Actions and observed motor angles use the robot's "SDK" convention; PyBullet and the motion clips
use URDF angles: ``urdf = (sdk + offset) * direction``.
"""

from __future__ import annotations

import math

import numpy as np

from a2perf_quadruped_locomotion import rotations

URDF_PATH = "laikago/laikago_toes_limits.urdf"
GROUND_URDF_PATH = "plane_implicit.urdf"

NUM_MOTORS = 12
#: PyBullet joint indices of the 12 revolute joints, FR, FL, RR, RL × (abduction, hip, knee)
MOTOR_JOINTS = (0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14)
TOE_LINKS = (3, 7, 11, 15)
LOWER_LEG_LINKS = (2, 6, 10, 14)
#: links allowed to touch the ground and tracked by the end-effector reward: toes and lower legs
END_EFFECTOR_LINKS = (2, 3, 6, 7, 10, 11, 14, 15)
#: links grouped for mass/inertia randomisation: base + hip motors, then legs + toes
CHASSIS_LINKS = (-1, 0, 4, 8, 12)
LEG_LINKS = (1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15)

MOTOR_OFFSET = np.tile([0.0, -0.6, 0.66], 4)
MOTOR_DIRECTION = np.array([-1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
STANDING_POSE_SDK = np.tile([0.0, 0.67, -1.25], 4)

KP = np.full(NUM_MOTORS, 220.0)
KD = np.tile([0.3, 2.0, 2.0], 4)

INIT_POSITION = np.array([0.0, 0.0, 0.48])
#: the URDF is modelled y-up with the head along +z; this turns it x-forward, z-up
INIT_ORIENTATION = rotations.from_euler(np.pi / 2, 0.0, np.pi / 2)
INIT_ORIENTATION_INVERSE = rotations.conjugate(INIT_ORIENTATION)

#: joint limits the URDF declares (and PyBullet enforces), per leg: abduction, hip, knee
JOINT_LOWER_URDF = np.tile([-0.873, -1.3, -2.164], 4)
JOINT_UPPER_URDF = np.tile([1.0472, 3.4, 0.0], 4)

SIM_TIME_STEP_S = 0.001
SUBSTEPS_PER_ACTION = 33
CONTROL_TIME_STEP_S = SIM_TIME_STEP_S * SUBSTEPS_PER_ACTION
SOLVER_ITERATIONS = 9
GRAVITY = -10.0
DEFAULT_LATENCY_S = 0.002
MAX_MOTOR_ANGLE_CHANGE_PER_SUBSTEP = 0.2

#: 2nd-order Butterworth low-pass, 4 Hz cutoff at the 30.3 Hz control rate
FILTER_B = np.array([0.10669, 0.21339, 0.10669])
FILTER_A = np.array([1.0, -0.88772, 0.31449])


def sdk_to_urdf(angles: np.ndarray) -> np.ndarray:
    """Motor angles in the SDK convention to the URDF convention."""
    return (np.asarray(angles) + MOTOR_OFFSET) * MOTOR_DIRECTION


def urdf_to_sdk(angles: np.ndarray) -> np.ndarray:
    """URDF joint angles to the SDK convention (``direction`` is its own inverse)."""
    return np.asarray(angles) * MOTOR_DIRECTION - MOTOR_OFFSET


def imu_orientation(urdf_orientation: np.ndarray) -> np.ndarray:
    """Base orientation with the URDF's y-up modelling rotation removed (x forward, z up)."""
    return rotations.multiply(urdf_orientation, INIT_ORIENTATION_INVERSE)


def body_heading(urdf_orientation: np.ndarray) -> np.ndarray | float:
    """Which way the robot (or a clip's root) faces, measured from the default orientation."""
    return rotations.heading(imu_orientation(urdf_orientation))


STANDING_POSE_URDF = sdk_to_urdf(STANDING_POSE_SDK)

#: the robot's forward axis expressed in the URDF body frame
_FORWARD_IN_URDF_BODY = tuple(float(v) for v in rotations.rotate(INIT_ORIENTATION_INVERSE, np.array([1.0, 0.0, 0.0])))


def heading_of(x: float, y: float, z: float, w: float) -> float:
    """:func:`body_heading` of one URDF orientation, in plain floats (called every control step)."""
    ux, uy, uz = _FORWARD_IN_URDF_BODY
    fx = (1.0 - 2.0 * (y * y + z * z)) * ux + 2.0 * (x * y - z * w) * uy + 2.0 * (x * z + y * w) * uz
    fy = 2.0 * (x * y + z * w) * ux + (1.0 - 2.0 * (x * x + z * z)) * uy + 2.0 * (y * z - x * w) * uz
    return math.atan2(fy, fx)
