"""The README's "Differences from A2Perf" table: what a2perf does with A2Perf's bindings, and what A2Perf did.

A2Perf's side is written from its ``a2perf/submission/submission_util.py`` (Submission's defaults,
``parse_participant_args``, the generalization task check); a2perf's side is the real settings
resolution and, for the step cap, the real inference loop.
"""

from __future__ import annotations

import textwrap
import types
from pathlib import Path

import pytest

from a2perf_core.hookspecs import hookimpl
from a2perf_core.specs import Task

README = Path(__file__).parents[1] / "README.md"
#: ``Submission.__init__``'s defaults: timed calls, inference episodes, generalization episodes
A2PERF_SUBMISSION_DEFAULTS = (1000, 1, 1)
#: the task folders of A2Perf's ``configs/quadruped_locomotion``
A2PERF_QUADRUPED_TASK_FOLDERS = ("dog_pace", "dog_spin", "dog_trot")
EPISODE_STEPS = 600

ENDLESS_WALK = """
import gymnasium as gym
import numpy as np


class EndlessWalk(gym.Env):
    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, np.float32), {}

    def step(self, action):
        return np.zeros(1, np.float32), 1.0, False, False, {}
"""

STANDING_POLICY = """
def load_policy(env):
    return None


def preprocess_observation(observation):
    return observation


def infer_once(policy, observation):
    return 0
"""


def difference_row(binding: str) -> str:
    """The row of the README's differences table whose first cell starts with ``binding``."""
    table = README.read_text().partition("## Differences from A2Perf")[2]
    rows = [line for line in table.splitlines() if line.startswith(f"| {binding}")]
    assert rows, f"no row {binding!r} in the README's 'Differences from A2Perf' table"
    return rows[0]


def a2perf_parse_participant_args(text: str) -> dict[str, str]:
    return dict(arg.split("=", 1) for arg in text.split(","))


def a2perf_generalization_check_passes(task_folders: tuple[str, ...], generalization_tasks: list[str]) -> bool:
    """A2Perf's assertion before a generalization run: every task folder must be listed."""
    return all(task in generalization_tasks for task in task_folders)


def fake_domains(entry_point: str) -> types.ModuleType:
    """One task per A2Perf domain default, all the same endless walk cut at 600 steps."""
    module = types.ModuleType("fake_a2perf_domains")
    ids = {
        "WebNavigation-Difficulty-01-v0": "web_navigation",
        "CircuitTraining-ToyMacro-v0": "circuit_training",
        "QuadrupedLocomotion-DogPace-v0": "quadruped_locomotion",
    }

    @hookimpl
    def a2perf_register_tasks(register):
        for task_id, domain in ids.items():
            register(
                Task(
                    id=task_id,
                    domain=domain,
                    entry_point=entry_point,
                    max_episode_steps=EPISODE_STEPS,
                    generalization=True,
                )
            )

    module.a2perf_register_tasks = a2perf_register_tasks
    return module


@pytest.fixture
def plugins(a2perf_plugins, tmp_path, monkeypatch):
    from a2perf import compat_plugin

    code = tmp_path / "code"
    code.mkdir()
    (code / "endless_walk_env.py").write_text(ENDLESS_WALK)
    (code / "standing_policy.py").write_text(STANDING_POLICY)
    monkeypatch.syspath_prepend(str(code))
    return a2perf_plugins(compat_plugin, fake_domains("endless_walk_env:EndlessWalk"))


def settings_from(gin_text: str, tmp_path: Path):
    from a2perf_core.runner.cli import build_settings

    path = tmp_path / "a2perf.gin"
    path.write_text(textwrap.dedent(gin_text))
    return build_settings(
        submission="sub",
        task=None,
        phase=None,
        seed=0,
        gin_files=(str(path),),
        gin_params=(),
        participant_args=(),
        timeout=None,
        max_memory=None,
    )


def run_inference_loop(settings, run_dir: Path):
    """The harness's own inference loop, in this process, on the resolved settings."""
    from a2perf_core.runner.child import run_inference
    from a2perf_core.runner.records import PhaseJob

    run_dir.mkdir()
    job = PhaseJob(
        phase="inference",
        label="inference",
        task_id=settings.task_id,
        generalization_task=settings.task_id,
        seed=0,
        run_dir=str(run_dir),
        cwd=str(run_dir),
        sys_path=(),
        train_module="standing_policy",
        inference_module="standing_policy",
        environ={},
        participant_args={},
        env_kwargs={},
        num_inference_episodes=settings.num_inference_episodes,
        num_inference_steps=settings.num_inference_steps,
        num_warmup_calls=settings.num_warmup_calls,
        num_generalization_episodes=settings.num_generalization_episodes,
    )
    return run_inference(job)


QUADRUPED_INFERENCE = """
    import a2perf.submission.submission_util
    Submission.mode = %BenchmarkMode.INFERENCE
    Submission.domain = %BenchmarkDomain.QUADRUPED_LOCOMOTION
    Submission.num_inference_steps = 10000
    Submission.num_inference_episodes = 100
"""


def test_step_cap_ends_a2perf_quadruped_inference_early(plugins, tmp_path) -> None:
    settings = settings_from(QUADRUPED_INFERENCE, tmp_path)
    result = run_inference_loop(settings, tmp_path / "run")
    assert (result.timed_calls, result.warmup_calls) == (10000, settings.num_warmup_calls)
    assert result.step_cap_reached and result.partial_episode_dropped
    row = difference_row("`Submission.num_inference_steps`")
    assert f"full {EPISODE_STEPS}-step episodes" in row
    assert (
        f"a2perf stops after {result.episodes} episodes ({result.warmup_calls} warm-up + {result.timed_calls} "
        f"timed calls), A2Perf runs {settings.num_inference_episodes}"
    ) in row


def test_counts_a_file_leaves_unbound(plugins, tmp_path) -> None:
    settings = settings_from(
        """
        import a2perf.submission.submission_util
        Submission.mode = %BenchmarkMode.INFERENCE
        Submission.domain = %BenchmarkDomain.WEB_NAVIGATION
        """,
        tmp_path,
    )
    ours = (settings.num_inference_episodes, settings.num_inference_steps, settings.num_generalization_episodes)
    assert ours == (10, None, 5)
    calls, episodes, generalization_episodes = A2PERF_SUBMISSION_DEFAULTS
    row = difference_row("no count bound")
    assert f"A2Perf {calls} calls and {episodes} episode" in row
    assert f"a2perf {ours[0]} episodes, no cap, {ours[2]} generalization episodes" in row


def test_offline_metrics_only_still_runs_inference(plugins, tmp_path) -> None:
    settings = settings_from(
        """
        import a2perf.submission.submission_util
        import a2perf.domains.tfa.suite_gym
        Submission.mode = %BenchmarkMode.INFERENCE
        Submission.domain = %BenchmarkDomain.CIRCUIT_TRAINING
        Submission.run_offline_metrics_only = True
        Submission.num_inference_steps = 10000
        Submission.num_inference_episodes = 100
        """,
        tmp_path,
    )
    assert settings.phases == ("inference",)
    assert any(
        w.startswith("Submission.run_offline_metrics_only is accepted but has no effect") for w in settings.warnings
    )
    row = difference_row("`Submission.run_offline_metrics_only = True`")
    expected = (
        f"a2perf {settings.num_inference_steps} timed calls over up to {settings.num_inference_episodes} episodes"
    )
    assert expected in row


def test_participant_args_are_literals_here_and_strings_in_a2perf(plugins, tmp_path) -> None:
    text = "lr=0.001,name=ppo"
    settings = settings_from(
        f"""
        import a2perf.submission.submission_util
        Submission.mode = %BenchmarkMode.TRAIN
        Submission.domain = %BenchmarkDomain.WEB_NAVIGATION
        Submission.participant_args = '{text}'
        """,
        tmp_path,
    )
    theirs = a2perf_parse_participant_args(text)
    assert theirs == {"lr": "0.001", "name": "ppo"}
    assert settings.participant_args == {"lr": 0.001, "name": "ppo"}
    row = difference_row("`Submission.participant_args`")
    assert f'`"{text}"`: A2Perf passes `lr="{theirs["lr"]}"`, a2perf `lr={settings.participant_args["lr"]}`' in row


def test_a_subset_of_generalization_tasks(plugins, tmp_path) -> None:
    settings = settings_from(
        """
        import a2perf.submission.submission_util
        Submission.mode = %BenchmarkMode.GENERALIZATION
        Submission.domain = %BenchmarkDomain.QUADRUPED_LOCOMOTION
        Submission.generalization_tasks = ['dog_pace']
        """,
        tmp_path,
    )
    assert a2perf_generalization_check_passes(A2PERF_QUADRUPED_TASK_FOLDERS, list(A2PERF_QUADRUPED_TASK_FOLDERS))
    assert not a2perf_generalization_check_passes(A2PERF_QUADRUPED_TASK_FOLDERS, ["dog_pace"])
    assert settings.generalization_tasks == ("QuadrupedLocomotion-DogPace-v0",)
    row = difference_row("`Submission.generalization_tasks`")
    assert f"A2Perf stops with an `AssertionError`; a2perf runs `{settings.generalization_tasks[0]}`" in row


#: the members of ``ReliabilityMetrics`` in A2Perf's ``a2perf/constants.py`` (commit 73791fd), in its spelling
A2PERF_RELIABILITY_MEMBERS = (
    "IqrWithinRuns",
    "IqrAcrossRuns",
    "LowerCVaROnDiffs",
    "LowerCVaROnDrawdown",
    "LowerCVarOnAcross",
    "MedianPerfDuringTraining",
    "MadAcrossRollouts",
    "IqrAcrossRollouts",
    "StddevAcrossRollouts",
    "UpperCVaRAcrossRollouts",
    "LowerCVaRAcrossRollouts",
)


def test_every_a2perf_reliability_metric_name_binds(plugins, tmp_path) -> None:
    names = ", ".join(f"%ReliabilityMetrics.{name}" for name in A2PERF_RELIABILITY_MEMBERS)
    settings = settings_from(
        f"""
        import a2perf.submission.submission_util
        Submission.mode = %BenchmarkMode.INFERENCE
        Submission.reliability_metrics = [{names}]
        """,
        tmp_path,
    )
    assert settings.phases == ("inference",)
    assert "bind unchanged" in difference_row("`%ReliabilityMetrics.*` names")
