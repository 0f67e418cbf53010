"""The clip loader and the reference motion against the real clip files and hand-computed values."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from a2perf_quadruped_locomotion import laikago, rotations
from a2perf_quadruped_locomotion.errors import MotionClipError
from a2perf_quadruped_locomotion.motion import ReferenceMotion, load_motion_clip, parse_motion_clip
from scipy.spatial.transform import Rotation, Slerp

DT = 0.01667


def raw_frames(path: Path) -> np.ndarray:
    return np.array(json.loads(path.read_text())["Frames"], dtype=float)


@pytest.mark.parametrize(
    ("name", "frames", "duration", "rotation_offsets"),
    [("pace", 39, 38 * DT, False), ("trot", 33, 32 * DT, False), ("spin", 46, 45 * DT, True)],
)
def test_real_clips_load_with_their_published_shape(clip_file, name, frames, duration, rotation_offsets):
    clip = load_motion_clip(clip_file(name))
    assert clip.num_frames == frames
    assert clip.duration == pytest.approx(duration, abs=1e-12)
    assert clip.loop
    assert clip.cycle_offset_position
    assert clip.cycle_offset_rotation is rotation_offsets
    assert clip.name == f"dog_{name}"


def test_loading_moves_frame_zero_to_the_origin_and_keeps_the_rest(clip_file):
    raw = raw_frames(clip_file("spin"))
    clip = load_motion_clip(clip_file("spin"))
    np.testing.assert_allclose(clip.frames[0, :2], [0.0, 0.0])
    np.testing.assert_allclose(clip.frames[:, :2], raw[:, :2] - raw[0, :2])
    np.testing.assert_allclose(clip.frames[:, 2], raw[:, 2])
    np.testing.assert_allclose(clip.frames[:, 7:], raw[:, 7:])
    norms = np.linalg.norm(clip.frames[:, 3:7], axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-12)
    assert np.all(clip.frames[:, 6] >= 0.0)


def test_finite_difference_velocities_of_the_first_and_last_frames(clip_file):
    raw = raw_frames(clip_file("pace"))
    clip = load_motion_clip(clip_file("pace"))
    np.testing.assert_allclose(clip.velocities[0, 0:3], (raw[1, 0:3] - raw[0, 0:3]) / DT, atol=1e-9)
    np.testing.assert_allclose(clip.velocities[0, 6:], (raw[1, 7:] - raw[0, 7:]) / DT, atol=1e-9)
    # angular velocity: rotation vector of q1 * q0^-1 over dt (scipy as the independent reference)
    q0, q1 = Rotation.from_quat(raw[0, 3:7]), Rotation.from_quat(raw[1, 3:7])
    np.testing.assert_allclose(clip.velocities[0, 3:6], (q1 * q0.inv()).as_rotvec() / DT, atol=1e-6)
    np.testing.assert_array_equal(clip.velocities[-1], clip.velocities[-2])


def test_interpolation_between_frames_is_lerp_and_slerp(clip_file):
    raw = raw_frames(clip_file("trot"))
    clip = load_motion_clip(clip_file("trot"))
    k, fraction = 7, 0.25
    pose = clip.pose((k + fraction) * DT)
    expected_xyz = 0.75 * (raw[k, :3] - [*raw[0, :2], 0]) + 0.25 * (raw[k + 1, :3] - [*raw[0, :2], 0])
    np.testing.assert_allclose(pose[:3], expected_xyz, atol=1e-9)
    np.testing.assert_allclose(pose[7:], 0.75 * raw[k, 7:] + 0.25 * raw[k + 1, 7:], atol=1e-9)
    slerp = Slerp([0.0, 1.0], Rotation.from_quat(raw[k : k + 2, 3:7]))
    expected_rotation = slerp([fraction]).as_quat()[0]
    expected_rotation *= np.sign(expected_rotation[3])
    np.testing.assert_allclose(pose[3:7], expected_rotation, atol=1e-9)
    # exactly on a frame: that frame
    np.testing.assert_allclose(clip.pose(3 * DT)[7:], raw[3, 7:], atol=1e-9)


def test_phase_wraps_and_counts_cycles(clip_file):
    clip = load_motion_clip(clip_file("pace"))
    duration = 38 * DT
    assert clip.phase(duration) == pytest.approx(0.0)
    assert clip.phase(1.5 * duration) == pytest.approx(0.5)
    assert clip.cycle_count(duration - 1e-9) == 0
    assert clip.cycle_count(duration) == 1
    assert clip.cycle_count(3.2 * duration) == 3


def test_pace_adds_its_cycle_displacement_each_cycle(clip_file):
    raw = raw_frames(clip_file("pace"))
    clip = load_motion_clip(clip_file("pace"))
    delta_x = raw[-1, 0] - raw[0, 0]
    assert delta_x == pytest.approx(0.68773)
    np.testing.assert_allclose(clip.cycle_delta_position, [raw[-1, 0] - raw[0, 0], raw[-1, 1] - raw[0, 1], 0.0])
    t = 0.5 * DT
    first_cycle = clip.pose(t)
    two_cycles_later = clip.pose(2 * clip.duration + t)
    np.testing.assert_allclose(two_cycles_later[0], first_cycle[0] + 2 * 0.68773, atol=1e-9)
    np.testing.assert_allclose(two_cycles_later[2:], first_cycle[2:], atol=1e-9)
    # hand value: halfway between frames 0 and 1 of the file, plus two cycles
    assert two_cycles_later[0] == pytest.approx(0.5 * (raw[1, 0] - raw[0, 0]) + 2 * 0.68773, abs=1e-9)
    # the end of a cycle meets the start of the next one
    np.testing.assert_allclose(clip.pose(clip.duration - 1e-9)[:3], clip.pose(clip.duration)[:3], atol=1e-6)


def test_spin_turns_its_position_offsets_with_the_heading_it_has_reached(clip_file):
    raw = raw_frames(clip_file("spin"))
    clip = load_motion_clip(clip_file("spin"))
    relative = Rotation.from_quat(raw[-1, 3:7]) * Rotation.from_quat(raw[0, 3:7]).inv()
    forward = relative.apply([1.0, 0.0, 0.0])
    delta_heading = math.atan2(forward[1], forward[0])
    assert clip.cycle_delta_heading == pytest.approx(delta_heading, abs=1e-12)
    delta = np.array([raw[-1, 0] - raw[0, 0], raw[-1, 1] - raw[0, 1], 0.0])

    def about_z(angle: float) -> Rotation:
        return Rotation.from_euler("z", angle)

    pose = clip.pose(2 * clip.duration)  # frame 0 of the third cycle
    frame0 = np.array([0.0, 0.0, raw[0, 2]])
    expected = about_z(2 * delta_heading).apply(frame0) + delta + about_z(delta_heading).apply(delta)
    np.testing.assert_allclose(pose[:3], expected, atol=1e-9)
    expected_rotation = (about_z(2 * delta_heading) * Rotation.from_quat(raw[0, 3:7])).as_quat()
    expected_rotation *= np.sign(expected_rotation[3])
    np.testing.assert_allclose(pose[3:7], expected_rotation, atol=1e-9)
    # velocities turn with the cycle too
    v0 = clip.velocity(0.0)
    v2 = clip.velocity(2 * clip.duration)
    np.testing.assert_allclose(v2[:3], about_z(2 * delta_heading).apply(v0[:3]), atol=1e-9)
    np.testing.assert_allclose(v2[6:], v0[6:], atol=1e-12)


def test_vectorised_evaluation_matches_one_time_at_a_time(clip_file):
    clip = load_motion_clip(clip_file("spin"))
    times = np.array([0.0, 0.1, 0.77, 2.3, 5.01])
    poses, velocities = clip.pose_and_velocity(times)
    for i, t in enumerate(times):
        np.testing.assert_allclose(poses[i], clip.pose(t), atol=1e-12)
        np.testing.assert_allclose(velocities[i], clip.velocity(t), atol=1e-12)


def test_reference_aligns_to_the_robot_and_resyncs_only_xy(clip_file):
    clip = load_motion_clip(clip_file("spin"))
    reference = ReferenceMotion(clip)
    robot = rotations.multiply(rotations.about_z(0.7), laikago.INIT_ORIENTATION)
    reference.align(0.3, np.array([1.5, -2.0]), robot)
    pose = reference.pose(0.3)
    np.testing.assert_allclose(pose[:2], [1.5, -2.0], atol=1e-12)
    # the raw URDF x axes line up (A2Perf's rule); the body heading is within the clip's tilt of it
    assert float(rotations.heading(pose[3:7])) == pytest.approx(float(rotations.heading(robot)), abs=1e-9)
    assert float(laikago.body_heading(pose[3:7])) == pytest.approx(0.7, abs=0.01)
    assert pose[2] == pytest.approx(clip.pose(0.3)[2])
    heading_before = reference.origin_heading
    reference.resync_xy(1.0, np.array([0.25, 0.5]))
    np.testing.assert_allclose(reference.pose(1.0)[:2], [0.25, 0.5], atol=1e-12)
    assert reference.origin_heading == heading_before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"LoopMode": "Wrap", "FrameDuration": 0.1}', "needs LoopMode"),
        ('{"LoopMode": "Bounce", "FrameDuration": 0.1, "Frames": [[0]]}', "LoopMode must be"),
        ('{"LoopMode": "Wrap", "FrameDuration": 0.1, "Frames": [[0, 1, 2], [0, 1, 2]]}', "rows of 19"),
        ('{"LoopMode": "Wrap", "FrameDuration": 0, "Frames": ' + json.dumps([[0] * 19] * 2) + "}", "positive"),
    ],
)
def test_bad_clip_files_raise_a_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(MotionClipError, match=message):
        load_motion_clip(path)


def test_missing_clip_file_names_the_path(tmp_path):
    with pytest.raises(MotionClipError, match="cannot read motion clip"):
        load_motion_clip(tmp_path / "nope.txt")


def test_clamped_clip_holds_its_last_frame():
    frames = [[0.0, 0.0, 0.4, 0, 0, 0, 1] + [0.1 * i] * 12 for i in range(3)]
    clip = parse_motion_clip({"LoopMode": "Clamp", "FrameDuration": 0.5, "Frames": frames})
    assert clip.duration == 1.0
    np.testing.assert_allclose(clip.pose(5.0)[7:], 0.2)
    np.testing.assert_allclose(clip.pose(0.25)[7:], 0.05)


def test_rotation_helpers_agree_with_scipy():
    rng = np.random.default_rng(3)
    a = rotations.normalize(rng.normal(size=(6, 4)))
    b = rotations.normalize(rng.normal(size=(6, 4)))
    expected = (Rotation.from_quat(a) * Rotation.from_quat(b)).as_quat()
    product = rotations.standardize(rotations.multiply(a, b))
    np.testing.assert_allclose(product, rotations.standardize(expected), atol=1e-12)
    v = rng.normal(size=(6, 3))
    np.testing.assert_allclose(rotations.rotate(a, v), Rotation.from_quat(a).apply(v), atol=1e-12)
    euler = (0.3, -0.2, 1.1)
    np.testing.assert_allclose(rotations.from_euler(*euler), Rotation.from_euler("xyz", euler).as_quat(), atol=1e-12)
    roll, pitch = rotations.roll_pitch(rotations.from_euler(*euler))
    assert (roll, pitch) == pytest.approx(euler[:2])
    assert float(rotations.angle(rotations.about_z(3.0))) == pytest.approx(3.0)
    assert float(rotations.angle(rotations.about_z(4.0))) == pytest.approx(2 * math.pi - 4.0)
