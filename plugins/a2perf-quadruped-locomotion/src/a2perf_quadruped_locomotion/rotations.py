"""Quaternion helpers in PyBullet's ``(x, y, z, w)`` order, vectorised over leading axes.

Written for NumPy only so the clip maths can be tested without a physics engine; every function
accepts a single quaternion ``(4,)`` or a stack ``(..., 4)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

IDENTITY = np.array([0.0, 0.0, 0.0, 1.0])


def multiply(q1: np.ndarray, q2: np.ndarray) -> np.ndarray:
    """Hamilton product ``q1 ⊗ q2`` (apply ``q2`` first, then ``q1``)."""
    q1 = np.asarray(q1, dtype=float)
    q2 = np.asarray(q2, dtype=float)
    x1, y1, z1, w1 = q1[..., 0], q1[..., 1], q1[..., 2], q1[..., 3]
    x2, y2, z2, w2 = q2[..., 0], q2[..., 1], q2[..., 2], q2[..., 3]
    return np.stack(
        [
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
        ],
        axis=-1,
    )


def conjugate(q: np.ndarray) -> np.ndarray:
    """The inverse of a unit quaternion."""
    q = np.asarray(q, dtype=float)
    return q * np.array([-1.0, -1.0, -1.0, 1.0])


def normalize(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q, dtype=float)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def standardize(q: np.ndarray) -> np.ndarray:
    """The same rotation with ``w >= 0``, so equal rotations have equal coordinates."""
    q = np.asarray(q, dtype=float)
    return np.where(q[..., 3:4] < 0.0, -q, q)


def about_z(angle: np.ndarray | float) -> np.ndarray:
    """Rotation by ``angle`` radians about the world z axis."""
    half = 0.5 * np.asarray(angle, dtype=float)
    zeros = np.zeros_like(half)
    return np.stack([zeros, zeros, np.sin(half), np.cos(half)], axis=-1)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.cross`` for 3-vectors, without its per-call axis bookkeeping (hot path)."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vector(s) ``v`` by unit quaternion(s) ``q``."""
    q = np.asarray(q, dtype=float)
    v = np.asarray(v, dtype=float)
    u = q[..., :3]
    w = q[..., 3:4]
    t = 2.0 * _cross(u, v)
    return v + w * t + _cross(u, t)


def heading(q: np.ndarray) -> np.ndarray | float:
    """Yaw of the rotated x axis, ``atan2(y, x)``: which way a body frame with x forward points."""
    forward = rotate(q, np.array([1.0, 0.0, 0.0]))
    return np.arctan2(forward[..., 1], forward[..., 0])


def angle(q: np.ndarray) -> np.ndarray | float:
    """Rotation angle of a unit quaternion, in ``[0, π]`` (the shorter way round)."""
    q = np.asarray(q, dtype=float)
    return 2.0 * np.arctan2(np.linalg.norm(q[..., :3], axis=-1), np.abs(q[..., 3]))


def to_axis_angle_vector(q: np.ndarray, *, short_way: bool = True) -> np.ndarray:
    """Rotation vector (axis times angle) of a unit quaternion: angle in ``[0, π]``, or with
    ``short_way=False`` in ``[0, 2π]``, read from ``q`` as given (``w < 0`` is the long way)."""
    q = standardize(q) if short_way else np.asarray(q, dtype=float)
    sin_half = np.linalg.norm(q[..., :3], axis=-1, keepdims=True)
    theta = 2.0 * np.arctan2(sin_half, q[..., 3:4])
    scale = np.where(sin_half > 1e-12, theta / np.maximum(sin_half, 1e-12), 2.0)
    return q[..., :3] * scale


def slerp(q0: np.ndarray, q1: np.ndarray, fraction: np.ndarray | float) -> np.ndarray:
    """Spherical interpolation along the shorter arc; ``fraction`` broadcasts over the stack."""
    q0 = np.asarray(q0, dtype=float)
    q1 = np.asarray(q1, dtype=float)
    fraction = np.asarray(fraction, dtype=float)[..., None]
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0.0, -q1, q1)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_theta = np.sin(theta)
    close = sin_theta < 1e-8
    safe = np.where(close, 1.0, sin_theta)
    w0 = np.where(close, 1.0 - fraction, np.sin((1.0 - fraction) * theta) / safe)
    w1 = np.where(close, fraction, np.sin(fraction * theta) / safe)
    return normalize(w0 * q0 + w1 * q1)


def roll_pitch(q: Sequence[float]) -> tuple[float, float]:
    """Roll and pitch of PyBullet's Euler convention (``R = Rz(yaw)·Ry(pitch)·Rx(roll)``)."""
    x, y, z, w = (float(v) for v in q)
    roll = math.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    pitch = math.asin(max(-1.0, min(1.0, 2.0 * (w * y - z * x))))
    return roll, pitch


def from_euler(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """Quaternion of PyBullet's ``getQuaternionFromEuler``."""
    cr, sr = np.cos(roll / 2), np.sin(roll / 2)
    cp, sp = np.cos(pitch / 2), np.sin(pitch / 2)
    cy, sy = np.cos(yaw / 2), np.sin(yaw / 2)
    return np.array(
        [
            sr * cp * cy - cr * sp * sy,
            cr * sp * cy + sr * cp * sy,
            cr * cp * sy - sr * sp * cy,
            cr * cp * cy + sr * sp * sy,
        ]
    )
