"""The phase process registers the installed tasks before it is released (not on the participant's clock)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

TASK = "CircuitTraining-Synthetic-v0"

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from a2perf_core.runner.child import child_main
    from a2perf_core.runner.records import PhaseJob

    run_dir, cwd, marker, task = sys.argv[1:5]

    class HeldBack:
        def wait(self):
            import gymnasium

            with open(marker, "w") as out:
                json.dump({"registered_before_release": task in gymnasium.registry}, out)
            raise SystemExit(0)

    job = PhaseJob(
        phase="train", label="train", task_id=task, generalization_task=task, seed=0,
        run_dir=run_dir, cwd=cwd, sys_path=(cwd,), train_module="train", inference_module="inference",
        environ={}, participant_args={}, env_kwargs={}, num_inference_episodes=1,
        num_inference_steps=None, num_warmup_calls=0, num_generalization_episodes=1,
    )
    child_main(job, HeldBack())
    """
)


def test_tasks_are_registered_before_the_release(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    marker = tmp_path / "marker.json"
    with_circuit_training = {**os.environ, "A2PERF_LOAD_PLUGINS": "a2perf-circuit-training"}
    arguments = [str(run_dir), str(tmp_path), str(marker), TASK]
    subprocess.run([sys.executable, "-c", SCRIPT, *arguments], env=with_circuit_training, check=True, timeout=120)
    assert json.loads(marker.read_text()) == {"registered_before_release": True}
