"""Skill levels of trained policies, chosen as A2Perf chose them: by each checkpoint's evaluated return.

With ``m`` and ``s`` the mean and the sample standard deviation (``ddof=1``, as pandas computes it) of the
checkpoints' evaluated returns (each checkpoint's mean return over its evaluation episodes):

- ``novice``: return <= m - 2s
- ``intermediate``: m - s <= return <= m + s
- ``expert``: return >= m + 2s

A checkpoint between those bands (between m - 2s and m - s, or between m + s and m + 2s) has no level and
is left out of every dataset, as in A2Perf (``a2perf/analysis/expertise.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from a2perf_core.errors import A2PerfError

if TYPE_CHECKING:
    from a2perf_core.protocols import Executor

LEVELS = ("novice", "intermediate", "expert")


@attrs.frozen
class SkillThresholds:
    """The bands of :data:`LEVELS` over a set of evaluated returns."""

    mean: float
    std: float
    checkpoints: int

    @classmethod
    def of(cls, returns: Sequence[float]) -> SkillThresholds:
        """The thresholds of ``returns`` (one per checkpoint); a one-line error for fewer than two."""
        values = [float(r) for r in returns]
        if len(values) < 2:
            raise A2PerfError(f"skill levels need the evaluated returns of at least 2 checkpoints, got {len(values)}")
        if not all(math.isfinite(v) for v in values):
            raise A2PerfError("skill levels: an evaluated return is not a finite number")
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
        return cls(mean=mean, std=std, checkpoints=len(values))

    def bands(self) -> dict[str, tuple[float, float]]:
        """level -> (lowest, highest) return it takes, both inclusive."""
        m, s = self.mean, self.std
        return {"novice": (-math.inf, m - 2 * s), "intermediate": (m - s, m + s), "expert": (m + 2 * s, math.inf)}

    def level(self, value: float) -> str | None:
        """The level of one evaluated return; None between the bands. With s = 0 every return is
        intermediate (the A2Perf rule checks novice first, which would make every checkpoint novice)."""
        if self.std == 0:
            return "intermediate"
        for name in LEVELS:
            low, high = self.bands()[name]
            if low <= value <= high:
                return name
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": "A2Perf: novice <= m-2s; intermediate in [m-s, m+s]; expert >= m+2s "
            "(m, s: mean and sample std of the checkpoints' evaluated returns)",
            "mean": self.mean,
            "std": self.std,
            "checkpoints": self.checkpoints,
            "bands": {k: [None if math.isinf(v) else v for v in band] for k, band in self.bands().items()},
        }


@attrs.frozen
class SkillAssignment:
    """Each checkpoint's evaluated return and level, and the thresholds that chose them."""

    thresholds: SkillThresholds
    #: checkpoint (run folder) -> mean evaluated return
    returns: Mapping[str, float]
    levels: Mapping[str, str | None]
    #: how the returns were obtained (``recorded inference episodes`` or a fresh evaluation)
    evaluation: str
    #: a fresh evaluation's cost (``energy_kwh``, ``env_steps``, ``wall_time_s``, ``elapsed_s``: see
    #: :func:`a2perf_core.collection.measured_rollouts`); None for recorded returns
    cost: Mapping[str, Any] | None = None

    def at(self, level: str) -> list[str]:
        """The checkpoints at ``level``; a one-line error for an unknown level or none at it."""
        if level not in LEVELS:
            raise A2PerfError(f"skill level {level!r}: choose one of {', '.join(LEVELS)}")
        chosen = [c for c, found in self.levels.items() if found == level]
        if not chosen:
            low, high = self.thresholds.bands()[level]
            raise A2PerfError(
                f"no checkpoint is {level} (returns in [{low:.6g}, {high:.6g}]) among the {len(self.levels)} given"
            )
        return chosen

    def choice(self, level: str) -> dict[str, Any]:
        """The metadata of how ``level``'s checkpoints were chosen."""
        choice = {
            "level": level,
            "chosen_by": "evaluated return",
            "evaluation": self.evaluation,
            "thresholds": self.thresholds.to_json(),
            "checkpoints": {c: {"return": self.returns[c], "level": self.levels[c]} for c in self.returns},
        }
        if self.cost is not None:
            choice["cost"] = {"kind": "skill evaluation", **self.cost}
        return choice


def assign(returns: Mapping[str, float], evaluation: str, cost: Mapping[str, Any] | None = None) -> SkillAssignment:
    """Levels of the checkpoints whose evaluated returns are ``returns`` (checkpoint -> return)."""
    thresholds = SkillThresholds.of(list(returns.values()))
    levels = {name: thresholds.level(value) for name, value in returns.items()}
    return SkillAssignment(
        thresholds=thresholds, returns=dict(returns), levels=levels, evaluation=evaluation, cost=cost
    )


def recorded_return(run_dir: str | Path) -> float:
    """A run's evaluated return: the mean return of its own inference episodes (``inference_episodes.csv``)."""
    from a2perf_core.metrics import RunRecords

    returns = RunRecords(run_dir).inference_episodes().get("return")
    if returns is None or not returns.size:
        raise A2PerfError(f"{run_dir}: no inference episodes recorded, so it has no evaluated return")
    return float(returns.mean())


def assign_recorded(run_dirs: Sequence[str | Path]) -> SkillAssignment:
    """Levels of runs by the returns their inference phases recorded."""
    return assign({str(d): recorded_return(d) for d in run_dirs}, "the runs' recorded inference episodes")


def evaluate(
    task_id: str,
    policy: str | Path,
    run_dirs: Sequence[str | Path],
    *,
    episodes: int,
    seed: int = 0,
    jobs: int = 1,
    executor: Executor | None = None,
    measure_energy: bool = True,
) -> SkillAssignment:
    """Levels of runs by a fresh evaluation: each run's trained policy plays ``episodes`` episodes from
    seeds ``seed``, ``seed + 1``, ... (the same seeds for every checkpoint), where ``executor`` places it
    (default: ``local`` with ``jobs`` processes at once); its cost is kept, so a dataset collected with
    this choice counts it in its data cost."""
    from a2perf_core.collection import RolloutJob, generating_run, measured_rollouts
    from a2perf_core.runner.executor import LocalExecutor
    from a2perf_core.runner.results import submission_content_hash
    from a2perf_core.runner.submission import load_submission

    if not isinstance(episodes, int) or isinstance(episodes, bool) or episodes < 1:
        raise A2PerfError(f"evaluation episodes must be a positive integer, not {episodes!r}")
    content_hash = submission_content_hash(load_submission(str(policy)).root)
    runs = [generating_run(r, task_id, content_hash) for r in run_dirs]
    jobs_list = [
        RolloutJob(
            task_id, str(policy), run["policy_dir"], 0, episodes, seed, {}, record=False, measure_energy=measure_energy
        )
        for run in runs
    ]
    rollouts, cost = measured_rollouts(jobs_list, executor if executor is not None else LocalExecutor(jobs))
    returns = {
        str(d): sum(sum(e["rewards"]) for e in r.episodes) / len(r.episodes)
        for d, r in zip(run_dirs, rollouts, strict=True)
    }
    return assign(returns, f"fresh: {episodes} episodes per checkpoint from seed {seed}", cost)
