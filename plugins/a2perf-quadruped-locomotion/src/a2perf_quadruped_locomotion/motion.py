"""Reference motion clips: loading the motion-imitation JSON format and evaluating it at any time.

A clip is JSON (usually in a ``.txt`` file) with ``LoopMode`` ("Wrap" or "Clamp"),
``FrameDuration`` in seconds, optional ``EnableCycleOffsetPosition``/``EnableCycleOffsetRotation``,
and ``Frames``: rows of 19 floats, root position xyz, root quaternion xyzw (URDF body frame) and
12 joint angles in URDF convention (FR, FL, RR, RL × abduction, hip, knee).

Everything here is NumPy: the reference the robot imitates is computed analytically, so the
simulation needs no second robot.
"""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import numpy as np

from a2perf_quadruped_locomotion import rotations
from a2perf_quadruped_locomotion.errors import MotionClipError

POSE_SIZE = 19
VELOCITY_SIZE = 18  # root linear (3), root angular (3), joints (12)
ROOT_POS = slice(0, 3)
ROOT_ROT = slice(3, 7)
JOINTS = slice(7, 19)


@attrs.frozen(eq=False)
class MotionClip:
    """A loaded clip: frames with root xy starting at the origin, quaternions unit with ``w >= 0``,
    and per-frame finite-difference velocities."""

    name: str
    frames: np.ndarray
    velocities: np.ndarray
    frame_duration: float
    loop: bool
    cycle_offset_position: bool
    cycle_offset_rotation: bool
    #: how far the root moves in one cycle (xy only; zero when position offsets are off)
    cycle_delta_position: np.ndarray = attrs.field(init=False)
    #: how far the root turns in one cycle (zero when rotation offsets are off)
    cycle_delta_heading: float = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        delta = np.zeros(3)
        if self.cycle_offset_position:
            delta = self.frames[-1, ROOT_POS] - self.frames[0, ROOT_POS]
            delta[2] = 0.0
        heading = 0.0
        if self.cycle_offset_rotation:
            relative = rotations.multiply(self.frames[-1, ROOT_ROT], rotations.conjugate(self.frames[0, ROOT_ROT]))
            heading = float(rotations.heading(relative))
        object.__setattr__(self, "cycle_delta_position", delta)
        object.__setattr__(self, "cycle_delta_heading", heading)

    @property
    def num_frames(self) -> int:
        return len(self.frames)

    @property
    def duration(self) -> float:
        """Length of one cycle, ``(frames - 1) * FrameDuration``."""
        return (self.num_frames - 1) * self.frame_duration

    def phase(self, times: np.ndarray | float) -> np.ndarray:
        """Position within the cycle in ``[0, 1)`` (wrapping clips) or ``[0, 1]`` (clamped)."""
        phase = np.asarray(times, dtype=float) / self.duration
        if self.loop:
            return phase - np.floor(phase)
        return np.clip(phase, 0.0, 1.0)

    def cycle_count(self, times: np.ndarray | float) -> np.ndarray:
        """Completed cycles at ``times`` (always 0 for clamped clips)."""
        times = np.asarray(times, dtype=float)
        if not self.loop:
            return np.zeros(times.shape, dtype=int)
        return np.floor(times / self.duration).astype(int)

    def _blend(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        scaled = self.phase(times) * (self.num_frames - 1)
        first = np.minimum(np.floor(scaled).astype(int), self.num_frames - 1)
        second = np.minimum(first + 1, self.num_frames - 1)
        fraction = np.where(first == second, 0.0, scaled - first)
        return first, second, fraction

    def _cycle_offsets(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-time root translation and rotation accumulated over completed cycles."""
        count = self.cycle_count(times)
        delta_heading = self.cycle_delta_heading
        delta = self.cycle_delta_position
        if delta_heading == 0.0:
            return count[..., None] * delta, rotations.about_z(np.zeros(count.shape))
        # sum_{i < n} Rz(i·Δh)·Δp, as a geometric series in the complex plane
        n = np.maximum(count, 0)
        step = np.exp(1j * delta_heading)
        series = (1.0 - step**n) / (1.0 - step)
        shift = complex(delta[0], delta[1]) * series
        offsets = np.stack([shift.real, shift.imag, np.zeros(n.shape)], axis=-1)
        return offsets, rotations.about_z(n * delta_heading)

    def pose_and_velocity(self, times: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Interpolated pose(s) (19 values) and velocities (root linear, root angular, 12 joints)
        at ``times`` (seconds since the clip started), with cycle offsets applied: positions,
        joints and velocities lerped, rotation slerped."""
        times = np.asarray(times, dtype=float)
        first, second, fraction = self._blend(times)
        f0, f1 = self.frames[first], self.frames[second]
        w = fraction[..., None]
        position = (1.0 - w) * f0[..., ROOT_POS] + w * f1[..., ROOT_POS]
        rotation = rotations.slerp(f0[..., ROOT_ROT], f1[..., ROOT_ROT], fraction)
        joints = (1.0 - w) * f0[..., JOINTS] + w * f1[..., JOINTS]
        velocity = (1.0 - w) * self.velocities[first] + w * self.velocities[second]
        offset_position, offset_rotation = self._cycle_offsets(times)
        position = rotations.rotate(offset_rotation, position) + offset_position
        rotation = rotations.standardize(rotations.multiply(offset_rotation, rotation))
        linear = rotations.rotate(offset_rotation, velocity[..., 0:3])
        angular = rotations.rotate(offset_rotation, velocity[..., 3:6])
        pose = np.concatenate([position, rotation, joints], axis=-1)
        return pose, np.concatenate([linear, angular, velocity[..., 6:]], axis=-1)

    def pose(self, times: np.ndarray | float) -> np.ndarray:
        """Interpolated pose(s) of 19 values at ``times``; see :meth:`pose_and_velocity`."""
        return self.pose_and_velocity(times)[0]

    def velocity(self, times: np.ndarray | float) -> np.ndarray:
        """Interpolated velocities at ``times``; see :meth:`pose_and_velocity`."""
        return self.pose_and_velocity(times)[1]


def finite_difference_velocities(frames: np.ndarray, frame_duration: float, *, short_way: bool = True) -> np.ndarray:
    """Velocities from frame ``i`` to ``i + 1``; the last frame repeats the one before.

    With ``short_way=False`` the root rotation between two frames whose quaternions lie in
    opposite hemispheres is taken the long way round (angle in ``(π, 2π]``), as A2Perf does.
    """
    if len(frames) < 2:
        return np.zeros((len(frames), VELOCITY_SIZE))
    linear = np.diff(frames[:, ROOT_POS], axis=0) / frame_duration
    relative = rotations.multiply(frames[1:, ROOT_ROT], rotations.conjugate(frames[:-1, ROOT_ROT]))
    angular = rotations.to_axis_angle_vector(relative, short_way=short_way) / frame_duration
    joints = np.diff(frames[:, JOINTS], axis=0) / frame_duration
    velocities = np.concatenate([linear, angular, joints], axis=1)
    return np.concatenate([velocities, velocities[-1:]], axis=0)


def parse_motion_clip(data: dict, name: str = "clip") -> MotionClip:
    """Build a :class:`MotionClip` from the decoded JSON of a clip file."""
    try:
        loop_mode = data["LoopMode"]
        frame_duration = float(data["FrameDuration"])
        frames = np.array(data["Frames"], dtype=float)
    except (KeyError, TypeError, ValueError) as exc:
        raise MotionClipError(
            f"motion clip {name!r} needs LoopMode, FrameDuration and Frames (rows of {POSE_SIZE} numbers): {exc}"
        ) from exc
    if loop_mode not in ("Wrap", "Clamp"):
        raise MotionClipError(f"motion clip {name!r}: LoopMode must be 'Wrap' or 'Clamp', not {loop_mode!r}")
    if frames.ndim != 2 or frames.shape[1] != POSE_SIZE or len(frames) < 2:
        raise MotionClipError(
            f"motion clip {name!r}: Frames must be at least 2 rows of {POSE_SIZE} numbers, got shape {frames.shape}"
        )
    if not frame_duration > 0.0:
        raise MotionClipError(f"motion clip {name!r}: FrameDuration must be positive, got {frame_duration}")
    if not np.all(np.isfinite(frames)):
        raise MotionClipError(f"motion clip {name!r}: Frames contain non-finite numbers")
    frames = frames.copy()
    frames[:, 0:2] -= frames[0, 0:2]
    norms = np.linalg.norm(frames[:, ROOT_ROT], axis=1)
    if np.any(norms < 1e-9):
        raise MotionClipError(f"motion clip {name!r}: a frame has a zero root quaternion")
    frames[:, ROOT_ROT] = rotations.standardize(frames[:, ROOT_ROT] / norms[:, None])
    return MotionClip(
        name=name,
        frames=frames,
        velocities=finite_difference_velocities(frames, frame_duration),
        frame_duration=frame_duration,
        loop=loop_mode == "Wrap",
        cycle_offset_position=bool(data.get("EnableCycleOffsetPosition", False)),
        cycle_offset_rotation=bool(data.get("EnableCycleOffsetRotation", False)),
    )


def load_motion_clip(path: str | Path) -> MotionClip:
    """Read a clip file; errors name the file and what is wrong with it."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise MotionClipError(f"cannot read motion clip {str(path)!r}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MotionClipError(f"motion clip {str(path)!r} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise MotionClipError(f"motion clip {str(path)!r} must hold a JSON object")
    return parse_motion_clip(data, name=path.stem)


@attrs.define(eq=False)
class ReferenceMotion:
    """A clip placed in the world: an extra heading turn and xy shift (the "origin offset") that
    align it with the simulated robot at reset, with the xy shift re-synced each cycle."""

    clip: MotionClip
    origin_heading: float = 0.0
    origin_xy: np.ndarray = attrs.field(factory=lambda: np.zeros(2))

    def _origin_rotation(self) -> np.ndarray:
        return rotations.about_z(self.origin_heading)

    def pose_and_velocity(self, times: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """The clip's poses and velocities turned and shifted by the origin offset."""
        pose, velocity = self.clip.pose_and_velocity(times)
        rotation = self._origin_rotation()
        pose[..., ROOT_POS] = rotations.rotate(rotation, pose[..., ROOT_POS])
        pose[..., 0:2] += self.origin_xy
        pose[..., ROOT_ROT] = rotations.standardize(rotations.multiply(rotation, pose[..., ROOT_ROT]))
        velocity[..., 0:3] = rotations.rotate(rotation, velocity[..., 0:3])
        velocity[..., 3:6] = rotations.rotate(rotation, velocity[..., 3:6])
        return pose, velocity

    def pose(self, times: np.ndarray | float) -> np.ndarray:
        return self.pose_and_velocity(times)[0]

    def velocity(self, times: np.ndarray | float) -> np.ndarray:
        return self.pose_and_velocity(times)[1]

    def align(self, time: float, robot_xy: np.ndarray, robot_orientation: np.ndarray) -> None:
        """Turn and shift the clip so its root at ``time`` is at the robot's xy and faces its way.

        ``robot_orientation`` is the robot's URDF base quaternion. As in A2Perf, the turn is the
        difference of the two quaternions' raw headings (where each turns the URDF x axis), not of
        the body headings: the two differ by a few milliradians when the clip's root is rolled or
        pitched at ``time``, and the raw one is what A2Perf's results were measured with.
        """
        raw = self.clip.pose(time)
        turn = rotations.heading(np.asarray(robot_orientation, dtype=float)) - rotations.heading(raw[ROOT_ROT])
        self.origin_heading = float(turn)
        self.resync_xy(time, robot_xy)

    def resync_xy(self, time: float, robot_xy: np.ndarray) -> None:
        """Shift the clip (heading kept) so its root at ``time`` is at the robot's xy."""
        raw_position = self.clip.pose(time)[ROOT_POS]
        turned = rotations.rotate(self._origin_rotation(), raw_position)
        self.origin_xy = np.asarray(robot_xy, dtype=float)[:2] - turned[:2]
