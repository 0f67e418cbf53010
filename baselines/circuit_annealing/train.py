"""Training: greedy placement, then simulated annealing from it; play the result once and save it.

The move budget is ``participant.num_train_steps()`` (one proposed move per step; 2000 by the
task's gin default, 20000 outside a run). The best placement is replayed through the env (its
macros snapped to the nearest legal cells) and saved for inference.
"""

import copy

from a2perf_circuit_training.annealing import anneal_env
from a2perf_circuit_training.replay import PlacementPolicy, placement_record, replay, save_placement

from a2perf_core import participant


def train(time_limit: float | None = None) -> None:
    env = participant.make_env()
    unwrapped = env.unwrapped
    moves = participant.num_train_steps(20000)
    _, result = anneal_env(copy.deepcopy(unwrapped), moves=moves, seed=participant.seed(), time_limit=time_limit)
    centres = {unwrapped.netlist.names[m]: (float(result.x[m]), float(result.y[m])) for m in unwrapped.macro_order}
    record = placement_record(
        unwrapped, centres, participant.task_id(),
        start_cost=result.start_cost, best_cost=result.best_cost, moves=result.moves,
    )  # fmt: skip
    record["replay_reward"], _ = replay(env, PlacementPolicy(record))
    participant.log_scalar("annealing_best_cost", result.best_cost, result.moves)
    save_placement(participant.run_dir() / "placement.json", record)
    env.close()
