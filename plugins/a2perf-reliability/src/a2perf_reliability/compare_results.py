"""Compare submissions from the results database: every metric, per task and over tasks.

Input: ``runs[submission] = [IndexedRun, ...]`` (``a2perf_core.results.store``). For each task and
each metric with a better direction (``higher``/``lower``):

* per submission: mean ± std over seeds, and the IQM with a stratified-bootstrap CI
  (:func:`~a2perf_reliability.compare.iqm_with_ci`);
* per pair: the probability of improvement with its CI
  (:func:`~a2perf_reliability.compare.probability_of_improvement`) and a two-sided permutation
  test (:func:`~a2perf_reliability.compare.permutation_test`).

Over the tasks every submission ran: the mean rank with a bootstrap CI and the pairwise permutation
tests of :func:`~a2perf_reliability.compare.compare_submissions`, and the probability of improvement
averaged over tasks. Ranks, because tasks have no reference scores to normalise returns by and
latencies or energies of different tasks share no scale; a rank only asks which run was better.

Every p-value of one comparison is one family: they are corrected together
(:func:`~a2perf_reliability.compare.adjusted_p_values`, Benjamini–Yekutieli by default).

Failed seeds (the rule of ``summary.json``): a run that did not complete counts as failed. A
submission with a failed seed on a task gets no mean, std or IQM on that task (it is marked
``failed``); in probabilities of improvement, tests and ranks the failed run counts as worse than
every completed run on every metric of that task (failed runs tie with each other), so it takes
the worst rank in the aggregate.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from a2perf_reliability.compare import (
    Correction,
    adjusted_p_values,
    compare_submissions,
    iqm_with_ci,
    permutation_test,
    probability_of_improvement,
)
from a2perf_reliability.errors import ReliabilityInputError

FAILED_SEED_RULE = (
    "a run that did not complete counts as failed: the submission gets no mean, std or IQM on that task, "
    "and the failed run counts as worse than every completed run (ties with other failed runs) in "
    "probabilities of improvement, tests and ranks"
)
AGGREGATE_METHOD = (
    "mean rank over the tasks every submission ran (rank 1 best, per task over all runs; Chan et al. 2020), "
    "with a bootstrap CI and permutation tests; probability of improvement averaged over those tasks"
)

ACROSS_RUNS_RULE = (
    "dispersion and risk across runs are one value per submission and task, computed from all its seeds' training "
    "curves with the reliability metric's default settings (as `a2perf run --seeds` computes them); pairs are "
    "compared by permutation tests over the runs; a submission with a failed seed gets no value on that task, "
    "one with fewer than 2 training curves none either, and runs whose gin configures the reliability metric "
    "are not recomputed here"
)

#: a metric key: (name, phase)
Key = tuple[str, "str | None"]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


def _seed_of(index: int, base: int) -> int:
    return int(np.random.SeedSequence([base, index]).generate_state(1)[0])


class _PValueFamily:
    """Collects raw p-values so that they are corrected as one family at the end."""

    def __init__(self, seed: int) -> None:
        self.raw: list[float] = []
        self.entries: list[dict[str, Any]] = []
        self.seed = seed
        self._drawn = 0

    def next_seed(self) -> int:
        """A fresh seed for the next resampling, derived from the comparison's seed."""
        self._drawn += 1
        return _seed_of(self._drawn, self.seed)

    def add(self, entry: dict[str, Any], p_value: float) -> None:
        entry["p_value"] = p_value
        self.raw.append(p_value)
        self.entries.append(entry)

    def correct(self, alpha: float, correction: Correction) -> None:
        if not self.raw:
            return
        for entry, adjusted in zip(self.entries, adjusted_p_values(self.raw, correction), strict=True):
            entry["p_adjusted"] = float(adjusted)
            entry["significant"] = bool(adjusted <= alpha)


def metric_keys(runs: Sequence[Any], patterns: Sequence[str] = ()) -> dict[Key, dict[str, str]]:
    """Metrics with a better direction and a number in at least one run: key -> unit, direction, group."""
    from a2perf_core.results.groups import metric_group

    keys: dict[Key, dict[str, str]] = {}
    for run in runs:
        for value in run.metrics:
            if value.direction not in ("higher", "lower") or not _is_number(value.value):
                continue
            if patterns and not any(fnmatch.fnmatchcase(value.name, p) for p in patterns):
                continue
            keys.setdefault(
                (value.name, value.phase),
                {"unit": value.unit, "direction": value.direction, "group": metric_group(value.name)},
            )
    return dict(sorted(keys.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")))


def _value(run: Any, key: Key) -> Any:
    for value in run.metrics:
        if (value.name, value.phase) == key:
            return value.value
    return None


def _status(runs: Sequence[Any], key: Key) -> tuple[list[int], list[int]]:
    """Seeds that failed, and completed seeds without a number for ``key``."""
    failed = [r.seed for r in runs if r.status != "ok"]
    undefined = [r.seed for r in runs if r.status == "ok" and not _is_number(_value(r, key))]
    return failed, undefined


def _run_name(run: Any, runs: Sequence[Any]) -> str:
    """The seed, or ``seed@run_id`` when the seed ran more than once (every run counts)."""
    repeated = sum(r.seed == run.seed for r in runs) > 1
    return f"{run.seed}@{run.run_id}" if repeated else str(run.seed)


def run_warnings(runs: Mapping[str, Sequence[Any]], tasks: Sequence[str]) -> list[str]:
    """Seeds that ran more than once (all of their runs count), and submissions without a chosen task."""
    warnings = []
    for sub, sub_runs in runs.items():
        if not sub_runs:
            warnings.append(f"{sub} ran none of the compared tasks ({', '.join(tasks)})")
        for task in sorted({r.task for r in sub_runs}):
            seeds = [r.seed for r in sub_runs if r.task == task]
            for seed in sorted({s for s in seeds if seeds.count(s) > 1}):
                warnings.append(
                    f"{sub} ran seed {seed} of {task} {seeds.count(seed)} times; every run counts "
                    "(a rerun does not replace a failed run)"
                )
    return warnings


def _cell(runs: Sequence[Any], key: Key, n_resamples: int, confidence: float, seed: int) -> dict[str, Any]:
    """One submission's seeds on one task and metric: values as stored, and the statistics when complete."""
    values = {_run_name(r, runs): _value(r, key) for r in runs}
    failed, undefined = _status(runs, key)
    cell: dict[str, Any] = {"n": len(runs), "n_failed": len(failed), "values": values}
    cell.update(status="ok", reason=None, mean=None, std=None, iqm=None, iqm_ci=None)
    if failed:
        seeds = ", ".join(map(str, failed))
        cell.update(status="failed", reason=f"failed seeds: {seeds} ({FAILED_SEED_RULE})")
        return cell
    if undefined:
        cell.update(status="undefined", reason=f"no value in seeds {', '.join(map(str, undefined))}")
        return cell
    numbers = np.array([_value(r, key) for r in runs], dtype=float)
    iqm, low, high = iqm_with_ci({"task": numbers}, n_resamples=n_resamples, confidence=confidence, seed=seed)
    cell.update(
        mean=float(numbers.mean()),
        std=float(numbers.std(ddof=1)) if numbers.size > 1 else None,
        iqm=iqm,
        iqm_ci=[low, high],
    )
    return cell


def _scores(runs_by_sub: Mapping[str, Sequence[Any]], key: Key, higher: bool) -> dict[str, np.ndarray]:
    """Per submission, one score per run for the tests: failed runs replaced by a value worse than
    every completed run (only order matters to ranks, permutation tests and P(X > Y)). A submission
    with a completed run that has no number for ``key`` is left out."""
    usable = {sub: runs for sub, runs in runs_by_sub.items() if not _status(runs, key)[1]}
    completed = [float(_value(r, key)) for runs in usable.values() for r in runs if r.status == "ok"]
    if not completed:
        return {}
    low, high = min(completed), max(completed)
    margin = (high - low) + 1.0
    worst = low - margin if higher else high + margin
    return {
        sub: np.array([float(_value(r, key)) if r.status == "ok" else worst for r in runs])
        for sub, runs in usable.items()
    }


def _improvement(x: np.ndarray, y: np.ndarray, higher: bool, task: str, n: int, conf: float, seed: int) -> list[float]:
    sign = 1.0 if higher else -1.0
    return list(probability_of_improvement({task: sign * x}, {task: sign * y}, n, conf, seed))


def comparability(runs: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Facts that differ between the compared runs: machine, package versions, task versions, and
    per task the result settings and the gin configuration. Each: what differs and who had which value."""
    facts: dict[tuple[str, str | None], dict[str, dict[str, int]]] = {}

    def note(fact: str, task: str | None, value: Any, sub: str) -> None:
        text = json.dumps(value, sort_keys=True)
        by_value = facts.setdefault((fact, task), {}).setdefault(text, {})
        by_value[sub] = by_value.get(sub, 0) + 1

    all_runs = [(sub, r) for sub, rs in runs.items() for r in rs]
    machine_keys = sorted({k for _, r in all_runs for k in r.machine})
    version_keys = sorted({k for _, r in all_runs for k in r.versions})
    for sub, run in all_runs:
        for key in machine_keys:
            note(f"machine.{key}", None, run.machine.get(key), sub)
        for key in version_keys:
            note(f"versions.{key}", None, run.versions.get(key), sub)
        base, version = _task_base(run.task)
        if version is not None:
            note(f"task version of {base}", None, f"v{version}", sub)
        for key, value in run.result_settings.items():
            note(f"settings.{key}", run.task, value, sub)
        note("gin configuration (sha256)", run.task, run.gin_config_hash, sub)
        for value in run.metrics:
            if value.direction in ("higher", "lower"):
                note(f"unit of {value.name}", run.task, value.unit, sub)
    return [
        {
            "fact": fact,
            "task": task,
            "values": [{"value": json.loads(text), "runs": runs_by_sub} for text, runs_by_sub in by_value.items()],
        }
        for (fact, task), by_value in facts.items()
        if len(by_value) > 1
    ]


_VERSION = re.compile(r"^(.*)-v(\d+)$")


def _task_base(task: str) -> tuple[str, int | None]:
    match = _VERSION.match(task)
    return (match.group(1), int(match.group(2))) if match else (task, None)


def compare_results(
    runs: Mapping[str, Sequence[Any]],
    *,
    tasks: Sequence[str] = (),
    metrics: Sequence[str] = (),
    n_resamples: int = 1000,
    alpha: float = 0.05,
    correction: Correction = "benjamini-yekutieli",
    seed: int = 0,
) -> dict[str, Any]:
    """The whole comparison as plain JSON: per task, over tasks, comparability warnings, the rules used.

    ``runs[submission]`` lists its indexed runs; ``tasks`` and ``metrics`` (globs) narrow it down.
    Seeded: the same runs and seed give the same numbers.
    """
    if len(runs) < 2:
        raise ReliabilityInputError(f"comparing needs at least 2 submissions, got {len(runs)}")
    if not 0 < alpha < 1:
        raise ReliabilityInputError(f"alpha must be between 0 and 1, got {alpha}")
    if n_resamples < 1:
        raise ReliabilityInputError(f"the number of resamples must be at least 1, got {n_resamples}")
    ran = sorted({r.task for rs in runs.values() for r in rs})
    unknown = [t for t in tasks if t not in ran]
    if unknown:
        raise ReliabilityInputError(
            f"no compared submission ran {', '.join(unknown)}; their tasks: {', '.join(ran) or 'none'}"
        )
    chosen = [t for t in ran if not tasks or t in tasks]
    runs = {sub: [r for r in rs if r.task in chosen] for sub, rs in runs.items()}
    keys = metric_keys([r for rs in runs.values() for r in rs], metrics)
    if not keys:
        what = f"matching {', '.join(metrics)}" if metrics else "with a better direction"
        raise ReliabilityInputError(f"no metric {what} in the compared runs")
    confidence = 1 - alpha
    tests = _PValueFamily(seed)
    by_task: dict[str, Any] = {}
    for task in chosen:
        on_task = {sub: sorted((r for r in rs if r.task == task), key=lambda r: r.seed) for sub, rs in runs.items()}
        on_task = {sub: rs for sub, rs in on_task.items() if rs}
        rows = []
        for key, info in metric_keys([r for rs in on_task.values() for r in rs], metrics).items():
            higher = info["direction"] == "higher"
            cells = {
                sub: _cell(rs, key, n_resamples, confidence, tests.next_seed() + i)
                for i, (sub, rs) in enumerate(on_task.items())
            }
            scores = _scores(on_task, key, higher)
            pairs = []
            for first, second in itertools.combinations(scores, 2):
                x, y = scores[first], scores[second]
                pair: dict[str, Any] = {"first": first, "second": second}
                pair["probability_of_improvement"], *ci = _improvement(
                    x, y, higher, task, n_resamples, confidence, tests.next_seed()
                )
                pair["probability_ci"] = ci
                difference, p = permutation_test(
                    {first: {task: x}, second: {task: y}},
                    first,
                    second,
                    higher_is_better=higher,
                    n_resamples=n_resamples,
                    seed=tests.next_seed(),
                )
                pair["mean_rank_difference"] = difference
                tests.add(pair, p)
                pairs.append(pair)
            rows.append({"name": key[0], "phase": key[1], **info, "submissions": cells, "pairs": pairs})
        across = _across_run_rows(on_task, task, metrics, tests, n_resamples, alpha, correction)
        by_task[task] = {"submissions": sorted(on_task), "metrics": rows, "across_runs": across}

    aggregate = _aggregate(runs, chosen, keys, tests, n_resamples, alpha, correction, seed)
    tests.correct(alpha, correction)
    return {
        "submissions": {sub: [str(r.run_dir) for r in rs] for sub, rs in runs.items()},
        "tasks": by_task,
        "aggregate": aggregate,
        "comparability": comparability(runs),
        "warnings": run_warnings(runs, chosen),
        "rules": {
            "failed_seeds": FAILED_SEED_RULE,
            "across_runs": ACROSS_RUNS_RULE,
            "aggregate": AGGREGATE_METHOD,
            "correction": f"{correction} over all {len(tests.raw)} tests of this comparison, alpha {alpha}",
            "n_resamples": n_resamples,
            "seed": seed,
        },
    }


def _aggregate(
    runs: Mapping[str, Sequence[Any]],
    tasks: Sequence[str],
    keys: Mapping[Key, dict[str, str]],
    tests: _PValueFamily,
    n_resamples: int,
    alpha: float,
    correction: Correction,
    seed: int,
) -> dict[str, Any]:
    common = [t for t in tasks if all(any(r.task == t for r in rs) for rs in runs.values())]
    result: dict[str, Any] = {
        "tasks": common,
        "left_out_tasks": [t for t in tasks if t not in common],
        "left_out_metrics": [],
        "metrics": [],
    }
    for key, info in keys.items():
        higher = info["direction"] == "higher"
        per_task: dict[str, dict[str, np.ndarray]] = {sub: {} for sub in runs}
        failed = dict.fromkeys(runs, 0)
        missing = []
        for task in common:
            on_task = {sub: sorted((r for r in rs if r.task == task), key=lambda r: r.seed) for sub, rs in runs.items()}
            scores = _scores(on_task, key, higher)
            if set(scores) != set(runs):
                missing.append(task)
                continue
            for sub in runs:
                per_task[sub][task] = scores[sub]
                failed[sub] += len(_status(on_task[sub], key)[0])
        if missing:
            result["left_out_metrics"].append({"name": key[0], "phase": key[1], "undefined_on": missing})
            continue
        if not common:
            continue
        ranked = compare_submissions(
            per_task, higher_is_better=higher, n_resamples=n_resamples, alpha=alpha, correction=correction, seed=seed
        )
        entry: dict[str, Any] = {
            "name": key[0],
            "phase": key[1],
            **info,
            "submissions": {
                sub: {"mean_rank": ranked.mean_rank[sub], "mean_rank_ci": list(ranked.ci[sub]), "n_failed": failed[sub]}
                for sub in runs
            },
            "pairs": [],
        }
        sign = 1.0 if higher else -1.0
        for test in ranked.pairs:
            pair: dict[str, Any] = {"first": test.first, "second": test.second}
            probability, *ci = probability_of_improvement(
                {t: sign * v for t, v in per_task[test.first].items()},
                {t: sign * v for t, v in per_task[test.second].items()},
                n_resamples,
                1 - alpha,
                tests.next_seed(),
            )
            pair.update(probability_of_improvement=probability, probability_ci=ci)
            pair["mean_rank_difference"] = test.difference
            tests.add(pair, test.p_value)
            entry["pairs"].append(pair)
        result["metrics"].append(entry)
    return result


def _configures_reliability(run: Any) -> bool:
    """The run's gin binds settings of the reliability metric: recomputing with defaults would differ."""
    from a2perf_core.metrics import RunRecords

    return "ReliabilityMetric." in (RunRecords(run.run_dir).info.get("gin_config") or "")


def _across_run_cell(runs: Sequence[Any], name: str) -> dict[str, Any]:
    """One submission's value of the across-run metric ``name`` on one task, as ``a2perf run --seeds`` computes it."""
    from a2perf_core.metrics import RunRecords
    from a2perf_reliability.metric import ReliabilityMetric

    cell: dict[str, Any] = {"n": len(runs), "value": None, "status": "ok", "reason": None}
    failed = [r.seed for r in runs if r.status != "ok"]
    if failed:
        cell.update(status="failed", reason=f"failed seeds: {', '.join(map(str, failed))}")
        return cell
    if any(_configures_reliability(r) for r in runs):
        cell.update(status="undefined", reason="the runs' gin configures the reliability metric")
        return cell
    from a2perf_reliability.errors import ReliabilityInputError
    from a2perf_reliability.metric import curve_from_train_log

    records = [RunRecords(r.run_dir) for r in runs]
    for run, record in zip(runs, records, strict=True):
        try:
            curve_from_train_log(record.train_log())
        except ReliabilityInputError as exc:
            cell.update(status="undefined", reason=f"seed {run.seed}: {exc}")
            return cell
    values = {v.name: v for v in ReliabilityMetric().summarize(records)}
    value = values.get(f"reliability.{name}")
    if value is None or not _is_number(value.value):
        why = (value.details.get("error") or value.details.get("reason")) if value is not None else None
        cell.update(status="undefined", reason=str(why or "needs training curves of at least 2 seeds"))
        return cell
    cell["value"] = float(value.value)
    return cell


def _across_run_rows(
    on_task: Mapping[str, Sequence[Any]],
    task: str,
    patterns: Sequence[str],
    tests: _PValueFamily,
    n_resamples: int,
    alpha: float,
    correction: Correction,
) -> list[dict[str, Any]]:
    """Dispersion and risk across runs on one task: a value per submission and permutation tests per pair."""
    from a2perf_reliability.compare_runs import ACROSS_RUN_METRICS, compare_run_directories

    rows = []
    for name, higher in ACROSS_RUN_METRICS.items():
        full = f"reliability.{name}"
        if patterns and not any(fnmatch.fnmatchcase(full, p) for p in patterns):
            continue
        cells = {sub: _across_run_cell(runs, name) for sub, runs in on_task.items()}
        valued = [sub for sub, cell in cells.items() if cell["status"] == "ok"]
        if not valued and not any(cell["status"] == "failed" for cell in cells.values()):
            continue  # no submission has training curves here (e.g. inference-only runs)
        pairs = []
        for first, second in itertools.combinations(valued, 2):
            ranked = compare_run_directories(
                {sub: {task: [r.run_dir for r in on_task[sub]]} for sub in (first, second)},
                name,
                n_resamples=n_resamples,
                alpha=alpha,
                correction=correction,
                seed=tests.next_seed(),
            )
            (test,) = ranked.pairs
            pair: dict[str, Any] = {"first": test.first, "second": test.second}
            pair["mean_rank_difference"] = test.difference
            tests.add(pair, test.p_value)
            pairs.append(pair)
        rows.append(
            {
                "name": full,
                "phase": "train",
                "unit": "",
                "direction": "higher" if higher else "lower",
                "group": "reliability",
                "submissions": cells,
                "pairs": pairs,
            }
        )
    return rows
