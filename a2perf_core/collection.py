"""Offline datasets collected from a policy: its episodes in Minari's format, with what producing them cost.

A policy is a submission (its ``load_policy``, ``preprocess_observation`` and ``infer_once``) loaded
either bare (a policy that needs no training) or from the run folders that trained it (checkpoints:
``participant.run_dir()`` is the run's folder, as in the run's own inference phase). The episodes are
split over the checkpoints, first ones taking the remainder, and merged into one dataset, as A2Perf
did. Each checkpoint is rolled out by an executor's ``map`` (``local``: a pool of ``jobs`` processes;
``ray``: Ray tasks), each in a fresh process of its own, so two submissions' modules never meet in one
interpreter.

Episode ``k`` of the dataset starts from ``env.reset(seed=seed + k)`` and records that seed, so
replaying its actions in a fresh env reproduces its rewards on a deterministic task.

Each rollout measures its own cost in its process: its env steps, its wall time and, when the energy
plugin is installed, the plugin's energy measurement over that process. The collection's cost is the sum
over its rollouts of each (``energy_kwh`` None when any rollout's is), so ``wall_time_s`` is the compute
time spent, the same wherever the rollouts ran, as training runs' wall times add up; ``elapsed_s`` is the
driver's time for the whole collection. The data cost is that plus the training cost every generating
run recorded (:func:`a2perf_core.datasets.training_cost`).
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from a2perf_core import datasets
from a2perf_core.errors import A2PerfError

if TYPE_CHECKING:
    from a2perf_core.protocols import Executor

#: called with (episodes collected so far, episodes asked for)
Progress = Callable[[int, int], None]


@attrs.frozen
class RolloutJob:
    """One checkpoint's share of the episodes, pickled to its process."""

    task_id: str
    reference: str
    #: the checkpoint's run folder (``participant.run_dir()``); None for a bare submission
    run_dir: str | None
    first_episode: int
    episodes: int
    seed: int
    participant_args: Mapping[str, Any]
    #: False: keep each episode's seed and rewards only (an evaluation, not a dataset)
    record: bool = True
    #: measure the rollout's energy over its process (with the energy plugin installed)
    measure_energy: bool = False


@attrs.frozen
class Rollout:
    """What a rollout process sends back: each episode's seed and columns, and what the rollout cost
    there (its env steps, wall time and energy; ``energy_kwh`` None when not measured)."""

    episodes: list[dict[str, Any]]
    env_steps: int
    wall_time_s: float
    energy_kwh: float | None = None

    def cost(self) -> dict[str, Any]:
        """The rollout's cost in :data:`a2perf_core.datasets.COST_FIELDS`."""
        return {"energy_kwh": self.energy_kwh, "env_steps": self.env_steps, "wall_time_s": self.wall_time_s}


@attrs.frozen
class CollectedDataset:
    """A dataset ``collect`` wrote: its id, where it lies, and what its metadata records."""

    dataset_id: str
    path: Path
    episodes: int
    env_steps: int
    returns: tuple[float, ...]
    data_cost: dict[str, Any]


def _stack(values: list[Any], space: Any) -> Any:
    """Per-step values of ``space`` as Minari's buffers hold them: one array per leaf space."""
    import gymnasium as gym
    import numpy as np

    if isinstance(space, gym.spaces.Dict):
        return {key: _stack([v[key] for v in values], sub) for key, sub in space.spaces.items()}
    if isinstance(space, gym.spaces.Tuple):
        return tuple(_stack([v[i] for v in values], sub) for i, sub in enumerate(space.spaces))
    if isinstance(space, gym.spaces.Text):
        return [str(v) for v in values]
    return np.asarray(values, dtype=space.dtype) if space.dtype is not None else np.asarray(values)


def roll_out(job: RolloutJob) -> Rollout:
    """Play ``job.episodes`` episodes of the job's policy and record every step (in the calling process, a
    fresh one), measuring the rollout's cost there: its wall time and, with ``job.measure_energy``, energy."""
    import tempfile

    from a2perf_core.runner.wallclock import SpanMarks, span_path

    with tempfile.TemporaryDirectory(prefix="a2perf-rollout-") as scratch:
        meter = _energy_meter(job.task_id, job.seed, Path(scratch)) if job.measure_energy else None
        span = SpanMarks(span_path(scratch, "collect"))
        began = time.monotonic()
        span.mark("started")
        try:
            episodes, steps = _play(job)
        finally:
            span.mark("ended")
            wall_time = time.monotonic() - began
            energy_values = meter[0].stop(meter[1]) if meter is not None else []
    energy = next((v.value for v in energy_values if v.name == datasets.ENERGY_METRIC), None)
    return Rollout(episodes, steps, wall_time, None if energy is None else float(energy))


def _play(job: RolloutJob) -> tuple[list[dict[str, Any]], int]:
    """The job's episodes (each its seed and columns) and their env steps."""
    from a2perf_core.envs import make, register_envs
    from a2perf_core.participant import RUN_DIR_ENV, SEED_ENV, TASK_ENV
    from a2perf_core.runner.child import ParticipantCalls
    from a2perf_core.runner.submission import load_submission

    submission = load_submission(job.reference)
    os.environ[TASK_ENV] = job.task_id
    os.environ[SEED_ENV] = str(job.seed)
    if job.run_dir is not None:
        os.environ[RUN_DIR_ENV] = job.run_dir
    sys.path[:0] = list(submission.sys_path)
    os.chdir(submission.root)
    register_envs()
    env = make(job.task_id, disable_env_checker=True)  # its warnings would print on the collect command's terminal
    import importlib

    calls = ParticipantCalls(importlib.import_module(submission.inference_module))
    policy = calls.load_policy(env, dict(job.participant_args))
    episodes, steps = [], 0
    try:
        for k in range(job.first_episode, job.first_episode + job.episodes):
            episode_seed = job.seed + k
            observation, _ = env.reset(seed=episode_seed)
            observations, actions, rewards, terminations, truncations = [observation], [], [], [], []
            while True:
                action = calls.infer(policy, calls.preprocess(observation))
                observation, reward, terminated, truncated, _ = env.step(action)
                if job.record:
                    observations.append(observation)
                    actions.append(action)
                rewards.append(float(reward))
                terminations.append(bool(terminated))
                truncations.append(bool(truncated))
                if terminated or truncated:
                    break
            steps += len(rewards)
            if not job.record:
                episodes.append({"id": k, "seed": episode_seed, "rewards": rewards})
                continue
            episodes.append(
                {
                    "id": k,
                    "seed": episode_seed,
                    "observations": _stack(observations, env.observation_space),
                    "actions": _stack(actions, env.action_space),
                    "rewards": rewards,
                    "terminations": terminations,
                    "truncations": truncations,
                }
            )
    finally:
        env.close()
    return episodes, steps


def split_episodes(episodes: int, sources: int) -> list[int]:
    """``episodes`` over ``sources`` checkpoints as evenly as possible, the first ones taking the remainder."""
    share, extra = divmod(episodes, sources)
    return [share + (1 if i < extra else 0) for i in range(sources)]


def generating_run(run_dir: str | Path, task_id: str, content_hash: str) -> dict[str, Any]:
    """One checkpoint's record in the dataset: which run, and the training cost it recorded; a one-line
    error when the run is of another task or trained other code than the submission collected from."""
    folder = Path(run_dir)
    try:
        info = json.loads((folder / "run.json").read_text())
    except (OSError, ValueError) as exc:
        raise A2PerfError(f"{folder}: not a readable run folder (run.json: {exc})") from None
    if info.get("task") != task_id:
        raise A2PerfError(f"{folder}: a run of {info.get('task')!r}, not of {task_id!r}")
    recorded = (info.get("submission") or {}).get("content_hash")
    if recorded != content_hash:
        raise A2PerfError(
            f"{folder}: the run trained submission {recorded}, not the one given ({content_hash}): "
            "its policy is not this submission's"
        )
    return {
        "kind": "training",
        "run": str(folder),
        "policy_dir": str(policy_dir(folder, info)),
        "seed": info.get("seed"),
        "started": info.get("started"),
        "content_hash": recorded,
        **datasets.training_cost(folder),
    }


def policy_dir(run_dir: Path, info: Mapping[str, Any]) -> Path:
    """Where the run's training left its policy, i.e. its inference phase's ``participant.run_dir()``: the run
    folder, or its ``participant/`` folder for an ``--untrusted`` run."""
    from a2perf_core.participant import PARTICIPANT_DIR

    untrusted = (info.get("trust") or {}).get("mode") == "untrusted"
    return (run_dir / PARTICIPANT_DIR if untrusted else run_dir).resolve()


def _energy_meter(task_id: str, seed: int, folder: Path) -> tuple[Any, Any] | None:
    """The energy plugin's metric started over this process (its children included), or None without it."""
    from a2perf_core.metrics import PhaseContext
    from a2perf_core.plugins import registered
    from a2perf_core.specs import load_object

    spec = registered("metrics").get("energy")
    if spec is None:
        return None
    metric = load_object(spec.spec.factory)()  # type: ignore[operator]
    context = PhaseContext(phase="collect", run_dir=folder, task_id=task_id, seed=seed, pid=os.getpid())
    metric.start(context)
    return metric, context


def measured_rollouts(
    rollout_jobs: Sequence[RolloutJob], executor: Executor, progress: Progress | None = None
) -> tuple[list[Rollout], dict[str, Any]]:
    """The rollouts of ``rollout_jobs``, each in a fresh process where ``executor`` places it (its ``map``),
    results in job order, and their cost: ``energy_kwh``, ``env_steps`` and ``wall_time_s``, each the sum of
    what the rollouts measured in their own processes (``energy_kwh`` None when any is not measured), and
    ``elapsed_s``, this process's time for them all."""
    mapper = getattr(executor, "map", None)
    if not callable(mapper):
        raise A2PerfError(
            f"executor {getattr(executor, 'name', executor)!r} cannot roll out policies: it has no "
            "map(function, items) (the local and ray executors have)"
        )
    total = sum(job.episodes for job in rollout_jobs)
    rollouts: list[Rollout] = []
    done = 0
    began = time.monotonic()
    results = iter(mapper(roll_out, list(rollout_jobs)))
    try:
        for job in rollout_jobs:
            try:
                rollout = next(results)
            except A2PerfError:
                raise
            except Exception as exc:  # the participant's code, or its process, failed
                where = job.run_dir or job.reference
                message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                raise A2PerfError(f"rolling out {where} failed: {type(exc).__name__}: {message}".rstrip(": ")) from None
            rollouts.append(rollout)
            done += len(rollout.episodes)
            if progress is not None:
                progress(done, total)
    finally:  # stopped or failed: the rollouts still queued or running end
        close = getattr(results, "close", None)
        if close is not None:
            close()
    cost = datasets.total_cost([r.cost() for r in rollouts])
    return rollouts, {**cost, "elapsed_s": time.monotonic() - began}


def collect(
    task_id: str,
    policy: str | Path,
    *,
    skill: str,
    episodes: int,
    from_runs: Sequence[str | Path] = (),
    seed: int = 0,
    version: int = 0,
    jobs: int = 1,
    executor: Executor | None = None,
    participant_args: Mapping[str, Any] | None = None,
    measure_energy: bool = True,
    progress: Progress | None = None,
    skill_choice: Mapping[str, Any] | None = None,
) -> CollectedDataset:
    """Roll out ``policy`` (a submission reference) on ``task_id`` for ``episodes`` episodes and write
    them as the Minari dataset ``a2perf/<task_id>/<skill>-v<version>`` into Minari's dataset root.

    ``from_runs``: the run folders whose trained policies generate the data (checkpoints); empty, the
    submission is rolled out bare. ``executor``: where the rollouts run (default: ``local`` with ``jobs``
    processes at once). ``skill_choice``: how ``skill`` was chosen (e.g.
    :meth:`a2perf_core.skills.SkillAssignment.choice`); without it the level is recorded as declared. When
    the choice holds a ``cost`` (a fresh evaluation of the checkpoints), that cost counts in the data cost.
    """
    from a2perf_core.envs import get_task
    from a2perf_core.runner.executor import LocalExecutor
    from a2perf_core.runner.results import submission_content_hash, submission_label
    from a2perf_core.runner.submission import load_submission

    if not isinstance(episodes, int) or isinstance(episodes, bool) or episodes < 1:
        raise A2PerfError(f"episodes must be a positive integer, not {episodes!r}")
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise A2PerfError(f"jobs must be a positive integer, not {jobs!r}")
    if not skill or not skill.replace("_", "").isalnum() or skill != skill.lower():
        raise A2PerfError(f"skill {skill!r}: a lower-case word such as novice, intermediate or expert")
    task = get_task(task_id)
    minari = datasets._require_minari()
    dataset_id = datasets.dataset_id(task_id, skill, version)
    if dataset_id in minari.list_local_datasets():
        raise A2PerfError(f"dataset {dataset_id!r} exists under {datasets.dataset_root()}: choose another --version")
    submission = load_submission(str(policy))
    content_hash = submission_content_hash(submission.root)
    runs = [generating_run(r, task_id, content_hash) for r in from_runs]
    sources = [r.pop("policy_dir") for r in runs] or [None]  # the folder as given names the run in the metadata
    if episodes < len(sources):
        raise A2PerfError(f"{episodes} episodes cannot cover {len(sources)} checkpoints: ask for at least one each")
    shares = split_episodes(episodes, len(sources))
    starts = [sum(shares[:i]) for i in range(len(shares))]
    rollout_jobs = [
        RolloutJob(
            task_id, str(policy), run, start, share, seed, dict(participant_args or {}), measure_energy=measure_energy
        )
        for run, start, share in zip(sources, starts, shares, strict=True)
    ]

    rollouts, collection_cost = measured_rollouts(
        rollout_jobs, executor if executor is not None else LocalExecutor(jobs), progress
    )
    collected = [e for r in rollouts for e in r.episodes]
    env_steps = collection_cost["env_steps"]
    collection_cost = {"kind": "collection", "episodes": len(collected), **collection_cost}
    extra = [dict(skill_choice["cost"])] if skill_choice is not None and "cost" in skill_choice else []
    cost_sources = [collection_cost, *extra, *runs]
    data_cost = {**datasets.total_cost(cost_sources), "sources": cost_sources}
    returns = tuple(float(sum(e["rewards"])) for e in collected)
    _write(minari, dataset_id, task_id, collected, submission_label(str(policy), content_hash))
    dataset = minari.load_dataset(dataset_id)
    from gymnasium.envs.registration import parse_env_id

    _, name, env_version = parse_env_id(task_id)
    from a2perf_core.plugins import registered

    distribution = registered("tasks")[task_id].plugin
    dataset.storage.update_metadata(
        {
            datasets.DATA_COST_KEY: json.dumps(data_cost),
            datasets.POLICY_KEY: json.dumps(
                {
                    "reference": str(policy),
                    "content_hash": content_hash,
                    "checkpoints": [r["run"] for r in runs],
                    "participant_args": dict(participant_args or {}),
                }
            ),
            datasets.SKILL_KEY: json.dumps(
                dict(skill_choice)
                if skill_choice is not None
                else {"level": skill, "chosen_by": "declared by the collector (no checkpoints ranked)"}
            ),
            datasets.RETURNS_KEY: json.dumps(
                {
                    "episodes": list(returns),
                    "mean": sum(returns) / len(returns),
                    "min": min(returns),
                    "max": max(returns),
                    "seeds": [e["seed"] for e in collected],
                }
            ),
            datasets.ENV_KEY: json.dumps(
                {
                    "id": task_id,
                    "name": name,
                    "version": env_version,
                    "domain": task.domain,
                    "distribution": distribution.distribution,
                    "distribution_version": distribution.version,
                }
            ),
        }
    )
    return CollectedDataset(
        dataset_id=dataset_id,
        path=datasets.dataset_root() / dataset_id,
        episodes=len(collected),
        env_steps=env_steps,
        returns=returns,
        data_cost=data_cost,
    )


def _write(minari: Any, dataset_id: str, task_id: str, episodes: list[dict[str, Any]], algorithm: str) -> None:
    from minari.data_collector import EpisodeBuffer

    from a2perf_core.envs import register_envs

    register_envs()
    buffers = [EpisodeBuffer(**episode) for episode in episodes]
    with warnings.catch_warnings():  # Minari asks for an author and a permalink: the metadata says whose it is
        warnings.filterwarnings("ignore", message=r"`(author|author_email|code_permalink)` is set to None")
        warnings.filterwarnings("ignore", module=r"gymnasium\.utils\.passive_env_checker")  # Minari makes the env
        minari.create_dataset_from_buffers(
            dataset_id,
            buffers,
            env=task_id,
            eval_env=task_id,
            algorithm_name=algorithm,
            description=f"a2perf data collect: {len(buffers)} episodes of {algorithm} on {task_id}",
        )
