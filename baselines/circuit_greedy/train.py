"""Training: compute the greedy placement of the task's design, play it once, save it.

Greedy has no training budget: ``participant.num_train_steps()`` is not needed (one episode).
"""

import copy

from a2perf_circuit_training.greedy import greedy_place
from a2perf_circuit_training.replay import PlacementPolicy, placement_record, replay, save_placement

from a2perf_core import participant


def train() -> None:
    env = participant.make_env()
    placement = greedy_place(copy.deepcopy(env.unwrapped))
    record = placement_record(env.unwrapped, placement.centres, participant.task_id(), reward=placement.reward)
    replay(env, PlacementPolicy(record))  # the training curve's one episode
    save_placement(participant.run_dir() / "placement.json", record)
    env.close()
