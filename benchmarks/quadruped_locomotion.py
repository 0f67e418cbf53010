"""Quadruped locomotion env speed against a bare PyBullet loop doing the same physics work.

The bare loop is the floor any implementation of the task pays: the same world (ground, Laikago,
9 solver iterations, 1 ms steps) and, per control step, 33 substeps of one joint read, one PD
torque computation and one torque call. The env adds everything else (action filter, latency
buffer, reference motion, reward, termination, observation). Both hold the standing pose (zero
action from a standing start), so the contact work is the same. Measured in interleaved rounds in
one process; the table shows medians over rounds.

    python benchmarks/quadruped_locomotion.py [--quick] [--clip PATH]

Target: env time per step within 1.25x of the bare loop's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import pybullet as p
import pybullet_data
from a2perf_quadruped_locomotion import laikago
from a2perf_quadruped_locomotion.env import QuadrupedLocomotionEnv

TARGET_RATIO = 1.25


class BarePdLoop:
    """The physics floor: 33 × (read joints, PD torque, apply, step) per control step."""

    def __init__(self) -> None:
        self.client = client = p.connect(p.DIRECT)
        p.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=client)
        p.setGravity(0, 0, laikago.GRAVITY, physicsClientId=client)
        p.setPhysicsEngineParameter(
            numSolverIterations=laikago.SOLVER_ITERATIONS, enableConeFriction=0, physicsClientId=client
        )
        p.setTimeStep(laikago.SIM_TIME_STEP_S, physicsClientId=client)
        p.loadURDF(laikago.GROUND_URDF_PATH, physicsClientId=client)
        self.robot = p.loadURDF(
            laikago.URDF_PATH, laikago.INIT_POSITION, laikago.INIT_ORIENTATION, physicsClientId=client
        )
        for link in range(-1, p.getNumJoints(self.robot, physicsClientId=client)):
            p.changeDynamics(self.robot, link, linearDamping=0.0, angularDamping=0.0, physicsClientId=client)
        joints = list(laikago.MOTOR_JOINTS)
        p.setJointMotorControlArray(self.robot, joints, p.VELOCITY_CONTROL, forces=[0.0] * 12, physicsClientId=client)
        for joint, angle in zip(joints, laikago.STANDING_POSE_URDF, strict=True):
            p.resetJointState(self.robot, joint, float(angle), physicsClientId=client)
        self.target = laikago.STANDING_POSE_URDF.copy()

    def step(self) -> None:
        client, robot, joints = self.client, self.robot, laikago.MOTOR_JOINTS
        kp, kd, target = laikago.KP, laikago.KD, self.target
        for _ in range(laikago.SUBSTEPS_PER_ACTION):
            states = p.getJointStates(robot, joints, physicsClientId=client)
            q = np.array([s[0] for s in states])
            qd = np.array([s[1] for s in states])
            torque = kp * (target - q) - kd * qd
            p.setJointMotorControlArray(robot, joints, p.TORQUE_CONTROL, forces=torque, physicsClientId=client)
            p.stepSimulation(physicsClientId=client)

    def close(self) -> None:
        p.disconnect(self.client)


class Clock:
    """Wall time and this thread's CPU time; PyBullet DIRECT runs in the calling thread, so the
    CPU time is the cost of the work itself, less disturbed by other processes on a busy machine."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0

    def __enter__(self) -> Clock:
        self._wall, self._cpu = time.perf_counter(), time.thread_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall += time.perf_counter() - self._wall
        self.cpu += time.thread_time() - self._cpu


def time_bare(loop: BarePdLoop, steps: int) -> Clock:
    clock = Clock()
    with clock:
        for _ in range(steps):
            loop.step()
    return clock


def time_env(env: QuadrupedLocomotionEnv, steps: int, with_resets: bool) -> tuple[Clock, int]:
    """Time of ``steps`` env steps with zero actions; resets inside the timed region or not."""
    action = np.zeros(12, dtype=np.float32)
    clock, resets = Clock(), 0
    for _ in range(steps):
        with clock:
            _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            resets += 1
            if with_resets:
                with clock:
                    env.reset()
            else:
                env.reset()
    return clock, resets


def default_clip() -> Path:
    for root in os.environ.get("A2PERF_DATA_PATH", "").split(os.pathsep):
        candidate = Path(root) / "quadruped" / "motions" / "dog_pace.txt"
        if root and candidate.is_file():
            return candidate
    from a2perf_core.data import asset_path

    return asset_path("quadruped-dog-pace")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a rough number in about 30 s)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 21, quick 7)")
    parser.add_argument("--steps", type=int, default=30, help="control steps per round and variant")
    parser.add_argument("--clip", type=Path, default=None, help="motion clip (default: dog_pace from the data path)")
    args = parser.parse_args()
    rounds = args.rounds or (7 if args.quick else 21)
    steps = args.steps
    clip = args.clip or default_clip()

    bare = BarePdLoop()
    standing = QuadrupedLocomotionEnv(clip, reference_state_init_probability=0.0)
    default = QuadrupedLocomotionEnv(clip)
    standing.reset(seed=0)
    default.reset(seed=0)
    samples: dict[str, list[Clock]] = {"bare": [], "env": [], "env+resets": []}
    resets = 0
    for round_index in range(rounds):
        order = ["bare", "env", "env+resets"]
        if round_index % 2:
            order.reverse()
        for name in order:
            if name == "bare":
                samples[name].append(time_bare(bare, steps))
            elif name == "env":
                clock, ended = time_env(standing, steps, with_resets=False)
                samples[name].append(clock)
                resets += ended
            else:
                samples[name].append(time_env(default, steps, with_resets=True)[0])
    bare.close()
    standing.close()
    default.close()

    def per_step_ms(name: str, kind: str, pick=statistics.median) -> float:
        return pick(getattr(c, kind) for c in samples[name]) / steps * 1e3

    def ratio(name: str, kind: str) -> float:
        ratios = [getattr(e, kind) / getattr(b, kind) for e, b in zip(samples[name], samples["bare"], strict=True)]
        return statistics.median(ratios)

    print(f"quadruped locomotion, clip {clip.name}: {rounds} interleaved rounds x {steps} steps, medians")
    header = f"{'measurement':<50} {'cpu ms/step':>11} {'steps/s':>8} {'x bare':>7} {'wall ms/step':>12} {'x bare':>7}"
    print(header)
    labels = {
        "bare": "bare PyBullet loop: 33 x (read, PD, torque, step)",
        "env": "env.step, zero action, standing start",
        "env+resets": "env.step + reset, zero action, default starts",
    }
    for name, label in labels.items():
        cpu, wall = per_step_ms(name, "cpu"), per_step_ms(name, "wall")
        cpu_ratio, wall_ratio = ratio(name, "cpu"), ratio(name, "wall")
        print(f"{label:<50} {cpu:>11.3f} {1e3 / cpu:>8.1f} {cpu_ratio:>7.3f} {wall:>12.3f} {wall_ratio:>7.3f}")
    env_ratio = ratio("env", "cpu")
    best_ratio = per_step_ms("env", "cpu", min) / per_step_ms("bare", "cpu", min)
    verdict = "meets" if env_ratio <= TARGET_RATIO else "MISSES"
    print(f"episodes ended during the standing-start rounds: {resets}")
    print(
        f"best round (min CPU time): bare {per_step_ms('bare', 'cpu', min):.3f} ms, "
        f"env {per_step_ms('env', 'cpu', min):.3f} ms, ratio {best_ratio:.3f}"
    )
    print(f"env/bare (CPU time, median of per-round ratios): {env_ratio:.3f}, {verdict} the {TARGET_RATIO}x target")


if __name__ == "__main__":
    main()
