"""Whole episodes (slow): the time limit is a truncation, and tracking the clip beats standing still."""

from __future__ import annotations

import numpy as np
import pytest
from a2perf_quadruped_locomotion import plugin
from a2perf_quadruped_locomotion.policies import ReferenceTrackingPolicy, zero_policy


def run_episode(env, policy, seed: int) -> tuple[list[float], bool, bool]:
    observation, _ = env.reset(seed=seed)
    if hasattr(policy, "reset"):
        policy.reset(observation)
    rewards = []
    while True:
        observation, reward, terminated, truncated, _ = env.step(policy(observation))
        rewards.append(reward)
        if terminated or truncated:
            return rewards, terminated, truncated


@pytest.mark.slow
def test_a_600_step_episode_ends_in_truncation_not_termination(a2perf_plugins):
    from a2perf_core.envs import make

    a2perf_plugins(plugin)
    # warm-up start and zero action: the robot stands; the reference re-syncs its xy every cycle
    env = make("QuadrupedLocomotion-DogPace-v0", reference_state_init_probability=0.0)
    try:
        rewards, terminated, truncated = run_episode(env, zero_policy, seed=1)
        assert len(rewards) == 600
        assert truncated and not terminated
        assert all(0.0 <= r <= 1.0 for r in rewards)
    finally:
        env.close()


@pytest.mark.slow
def test_reference_tracking_earns_well_above_zero_action_per_step(clip_file, capsys):
    """Mean per-step reward over 5 seeded DogPace episodes (each until it falls or 600 steps).

    Measured here (A2Perf's behaviour, the env's default): tracking 0.35, zero action 0.10.
    Open-loop tracking does not stay up for a whole episode, in A2Perf's env either (see the
    README's baselines: the same seeds give the same episode lengths there).
    """
    from a2perf_quadruped_locomotion.env import QuadrupedLocomotionEnv
    from gymnasium.wrappers import TimeLimit

    env = TimeLimit(QuadrupedLocomotionEnv(clip_file("pace")), 600)
    try:
        means = {}
        for name, make_policy in (("tracking", ReferenceTrackingPolicy), ("zero", lambda: zero_policy)):
            per_episode = [float(np.mean(run_episode(env, make_policy(), seed)[0])) for seed in range(5)]
            means[name] = float(np.mean(per_episode))
        with capsys.disabled():
            print(f"\nDogPace mean reward per step: tracking {means['tracking']:.3f}, zero action {means['zero']:.3f}")
        assert means["tracking"] > 0.3
        assert means["tracking"] > 2.0 * means["zero"]
    finally:
        env.close()


def pretrained_policy(a2perf_plugins, clip: str):
    """Peng et al.'s trained policy for ``clip`` (``a2perf data fetch quadruped-policy-dog-<clip>``)."""
    from a2perf_quadruped_locomotion.policies import PretrainedImitationPolicy

    from a2perf_core.testing_data import fetched_file

    a2perf_plugins(plugin)
    return PretrainedImitationPolicy.from_file(fetched_file(f"quadruped-policy-dog-{clip}"))


@pytest.mark.slow
@pytest.mark.parametrize("clip", ["pace", "trot"])
def test_the_published_trained_policy_stays_up_for_whole_episodes(clip_file, a2perf_plugins, clip, capsys):
    """The policy trained in Google's env imitates the clip here too, for whole 600-step episodes:
    evidence over full episodes that this env is the one it was trained in. Measured over 10 seeds
    each: every episode 600 steps, 0.646 (pace) and 0.598 (trot) per step (A2Perf's env: 0.646, 0.597)."""
    from a2perf_quadruped_locomotion.env import QuadrupedLocomotionEnv
    from gymnasium.wrappers import TimeLimit

    policy = pretrained_policy(a2perf_plugins, clip)
    env = TimeLimit(QuadrupedLocomotionEnv(clip_file(clip)), 600)
    try:
        trained, zero = [], []
        for seed in (0, 1):
            rewards, terminated, truncated = run_episode(env, policy, seed)
            assert len(rewards) == 600 and truncated and not terminated, f"seed {seed}"
            trained.append(float(np.mean(rewards)))
            zero.append(float(np.mean(run_episode(env, zero_policy, seed)[0])))
        with capsys.disabled():
            print(f"\nDog{clip.title()} mean reward per step: trained policy {trained}, zero action {zero}")
        assert min(trained) > 0.55
        assert min(trained) > 3.0 * max(zero)
    finally:
        env.close()
