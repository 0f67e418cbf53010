"""Inference: replay the saved placement, each macro to the legal cell nearest its saved centre.

On a design the saved placement is not of (a generalization task), the greedy placement of that
design is computed when the policy loads.
"""

from a2perf_circuit_training.replay import PlacementPolicy, load_placement

from a2perf_core import participant


def load_policy(env, **load_kwargs):
    path = participant.run_dir() / "placement.json"
    record = load_placement(path) if path.exists() else None
    return PlacementPolicy.for_env(env, record, participant.task_id())


def preprocess_observation(observation):
    return observation


def infer_once(policy, observation):
    return policy.action(observation)
