"""Record short trajectories of the original motion-imitation env, the reference our env is tested against.

Runs Google's 2020 ``motion_imitation`` package (the env A2Perf wraps; its sdist is on the package
index as ``motion_imitation==0.0.6``) with the same fixed action sequences our test replays, and
writes per-step rewards, reward terms, base poses and observations to ``a2perf_reference.json``.

It needs an environment of its own, since that code predates NumPy 2 and Gymnasium;
``nox -s a2perf-reference`` builds one and re-records (use the same PyBullet as the tests). By hand::

    python3 -m venv old && old/bin/pip install "numpy<2" "gym==0.26.2" pybullet attrs absl-py scipy six
    pip download --no-deps --no-binary :all: motion_imitation==0.0.6 && tar xzf motion_imitation-0.0.6.tar.gz
    old/bin/python record_a2perf_reference.py motion_imitation-0.0.6 path/to/quadruped/motions

Three shims let the 2020 code import on Python 3.11 with gym 0.26 (``collections.Sequence``,
``gym``'s new ``np_random`` Generator, a ``tensorflow`` import used only for logging); none touches
the simulation. One documented difference is applied on purpose: A2Perf fills the motor-angle
history before moving the robot onto the reference, so its first step filters from the standing
pose; we clear that history after reset, as our env does (the "stale reset observation" fix).
"""

from __future__ import annotations

import collections
import collections.abc
import importlib.metadata
import json
import sys
import types
from pathlib import Path

import numpy as np

CLIPS = ("pace", "trot", "spin")
STEPS = 20
#: observations kept per case (160 floats each): the first few after reset
OBSERVED_STEPS = 3
MOTOR_JOINTS = (0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14)
OFFSET = np.tile([0.0, -0.6, 0.66], 4)
DIRECTION = np.array([-1.0, 1, 1, 1, 1, 1, -1, 1, 1, 1, 1, 1])
STANDING = np.tile([0.0, 0.67, -1.25], 4)


def _install_shims() -> None:
    import gym.utils.seeding

    for name in ("Sequence", "Mapping", "Iterable"):
        setattr(collections, name, getattr(collections.abc, name))
    gym.utils.seeding.np_random = lambda seed=None: (np.random.RandomState(seed), seed)
    sys.modules["tensorflow"] = types.ModuleType("tensorflow")


def _rounded(values) -> list[float]:
    """Nine significant digits: far below the test's tolerances, and a third of the file size."""
    return [float(f"{float(v):.9g}") for v in values]


def clip_joints(frames: np.ndarray, frame_duration: float, time: float) -> np.ndarray:
    """The clip's 12 URDF joint angles at ``time`` (looping, linear between frames)."""
    duration = (len(frames) - 1) * frame_duration
    phase = (time % duration) / duration
    position = phase * (len(frames) - 1)
    f0 = min(int(position), len(frames) - 2)
    blend = position - f0
    return (1.0 - blend) * frames[f0, 7:19] + blend * frames[f0 + 1, 7:19]


def tracking_actions(clip_file: Path, start: float) -> np.ndarray:
    """Open-loop actions: the clip's joint angles one control step ahead, as offsets from standing."""
    data = json.loads(clip_file.read_text())
    frames = np.asarray(data["Frames"], dtype=float)
    times = start + 0.033 * np.arange(1, STEPS + 1)
    joints = np.array([clip_joints(frames, float(data["FrameDuration"]), max(t, 0.0)) for t in times])
    return joints * DIRECTION - OFFSET - STANDING


def record_case(env_builder, clip_file: Path, start: float, policy: str) -> dict:
    env = env_builder.build_imitation_env(
        motion_files=[str(clip_file)], num_parallel_envs=1, mode="test", enable_randomizer=False, enable_rendering=False
    )
    task = env.task
    if start >= 0.0:  # reference-state init at `start`
        task._ref_state_init_prob = 1.0
        task._sample_time_offset = lambda: start
    else:  # warm-up start: standing, the clip begins after -start seconds
        task._ref_state_init_prob = 0.0
        task._reset_motion_time_offset = lambda: setattr(task, "_motion_time_offset", task._warmup_time + start)
    env.seed(0)
    env.reset()
    env.robot._observation_history.clear()
    env.robot.ReceiveObservation()
    actions = tracking_actions(clip_file, start) if policy == "tracking" else np.zeros((STEPS, 12))
    client, robot = env.pybullet_client, env.robot.quadruped
    start_position = client.getBasePositionAndOrientation(robot)[0]
    steps = []
    for k, action in enumerate(actions):
        observation, reward, done, _ = env.step(action)
        position, orientation = client.getBasePositionAndOrientation(robot)
        terms = [
            task._calc_reward_pose(),
            task._calc_reward_velocity(),
            task._calc_reward_end_effector(),
            task._calc_reward_root_pose(),
            task._calc_reward_root_velocity(),
        ]
        row = {
            "action": _rounded(action),
            "reward": _rounded([reward])[0],
            "terms": _rounded(terms),
            "base_position": _rounded(position),
            "base_orientation": _rounded(orientation),
            "joint_angles": _rounded([s[0] for s in client.getJointStates(robot, MOTOR_JOINTS)]),
            "done": bool(done),
        }
        if k < OBSERVED_STEPS:
            row["observation"] = _rounded(observation)
        steps.append(row)
        if done:
            break
    try:
        env.close()
    except Exception:  # A2Perf's close() fails; the process ends soon anyway
        pass
    return {
        "clip": clip_file.stem,
        "start": start,
        "policy": policy,
        "start_position": _rounded(start_position),
        "steps": steps,
    }


def main(source: str, clips_dir: str, out: str = str(Path(__file__).with_name("a2perf_reference.json"))) -> None:
    _install_shims()
    sys.path.insert(0, source)
    from motion_imitation.envs import env_builder

    cases = []
    for name in CLIPS:
        clip_file = Path(clips_dir) / f"dog_{name}.txt"
        data = json.loads(clip_file.read_text())
        duration = (len(data["Frames"]) - 1) * float(data["FrameDuration"])
        starts = [(0.0, "tracking"), (round(0.5 * duration, 3), "tracking"), (-0.1, "zero")]
        if name == "spin":  # crosses the frames where A2Perf's reference angular velocity is wrong
            starts.append((0.55, "tracking"))
        for start, policy in starts:
            cases.append(record_case(env_builder, clip_file, start, policy))
            print(f"{name} start {start}: {len(cases[-1]['steps'])} steps", flush=True)
    versions = {"source": "motion_imitation 0.0.6", "pybullet": importlib.metadata.version("pybullet")}
    Path(out).write_text(json.dumps({**versions, "cases": cases}, indent=None) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
