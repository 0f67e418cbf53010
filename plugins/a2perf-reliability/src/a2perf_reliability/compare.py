"""Statistics for comparing submissions on the same tasks.

Ranking, permutation tests and bootstrap CIs follow Chan et al. (2020): rank the submissions per
task (rank 1 is best, ties share the average rank), summarise by the mean rank over tasks and runs,
test each pair with a two-sided permutation test on the difference in mean rank, and give each mean
rank a percentile bootstrap CI. For across-run metrics the *runs* are permuted or resampled and the
metric is recomputed on each new split. p-values are ``(1 + #{|null| >= |observed|}) / (1 + n)``
(never 0, valid at any number of resamples), and multiple pairs are corrected with the published
Benjamini–Yekutieli procedure (``c(m) = Σ_{k≤m} 1/k`` for all thresholds; the reference code grows
``c`` with the rank, which is less conservative) or Bonferroni.

For returns, :func:`iqm_with_ci` and :func:`probability_of_improvement` follow Agarwal et al. (2021):
the interquartile mean over all (task, run) scores and P(X > Y) averaged over tasks, each with a
stratified bootstrap CI (runs resampled within each task).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import attrs
import numpy as np

from a2perf_reliability.errors import ReliabilityInputError
from a2perf_reliability.measures import interquartile_mean

Correction = Literal["benjamini-yekutieli", "bonferroni"]
#: runs[submission][task] = that submission's runs on that task (numbers, curves, anything ``metric`` takes)
Runs = Mapping[str, Mapping[str, Sequence[Any]]]


@attrs.frozen
class PairTest:
    """The permutation test of one pair: is ``second``'s mean rank different from ``first``'s?"""

    first: str
    second: str
    #: mean rank of ``second`` minus mean rank of ``first`` (negative: ``second`` ranks better)
    difference: float
    p_value: float
    #: the corrected p-value threshold this pair is judged against
    threshold: float
    significant: bool


@attrs.frozen
class RankComparison:
    """Ranks of several submissions on one metric, with CIs and pairwise tests."""

    submissions: tuple[str, ...]
    tasks: tuple[str, ...]
    #: task -> submission -> rank of each value (one per run, or one for across-run metrics)
    task_ranks: Mapping[str, Mapping[str, np.ndarray]]
    mean_rank: Mapping[str, float]
    ci: Mapping[str, tuple[float, float]]
    pairs: tuple[PairTest, ...]
    correction: str
    alpha: float
    n_resamples: int
    seed: int


# --- building blocks ---------------------------------------------------------------------------


def _check_runs(runs: Runs) -> tuple[tuple[str, ...], tuple[str, ...]]:
    submissions = tuple(runs)
    if len(submissions) < 2:
        raise ReliabilityInputError(f"comparing needs at least 2 submissions, got {len(submissions)}")
    tasks = tuple(runs[submissions[0]])
    if not tasks:
        raise ReliabilityInputError(f"submission {submissions[0]!r} has no tasks")
    for name in submissions:
        if set(runs[name]) != set(tasks):
            raise ReliabilityInputError(
                f"submissions must cover the same tasks: {name!r} has {sorted(runs[name])}, "
                f"{submissions[0]!r} has {sorted(tasks)}"
            )
        for task in tasks:
            if len(runs[name][task]) == 0:
                raise ReliabilityInputError(f"submission {name!r} has no runs on task {task!r}")
    return submissions, tasks


def _oriented(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Values such that smaller is better, so ascending ranks put the best first."""
    return -values if higher_is_better else values


def rank_values(
    values: Mapping[str, Mapping[str, Sequence[float]]], higher_is_better: bool
) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, float]]:
    """Per-task ranks of every value (rank 1 best, ties averaged) and each submission's mean rank.

    ``values[submission][task]`` holds one value per run (per-run metrics) or one value (across-run
    metrics); the mean rank is over all of a submission's values on all tasks.
    """
    submissions, tasks = _check_runs(values)
    task_ranks: dict[str, dict[str, np.ndarray]] = {}
    totals = dict.fromkeys(submissions, 0.0)
    counts = dict.fromkeys(submissions, 0)
    for task in tasks:
        arrays = [np.atleast_1d(np.asarray(values[s][task], dtype=float)) for s in submissions]
        from scipy import stats  # at first use: importing SciPy costs seconds, IQM and CIs need none of it

        ranks = stats.rankdata(_oriented(np.concatenate(arrays), higher_is_better))
        task_ranks[task] = {}
        offset = 0
        for name, array in zip(submissions, arrays, strict=True):
            task_ranks[task][name] = ranks[offset : offset + array.size]
            totals[name] += float(np.sum(task_ranks[task][name]))
            counts[name] += array.size
            offset += array.size
    return task_ranks, {s: totals[s] / counts[s] for s in submissions}


def _values_of(runs: Runs, metric: Callable[..., float] | None, across_runs: bool) -> dict[str, dict[str, np.ndarray]]:
    out: dict[str, dict[str, np.ndarray]] = {}
    for name, by_task in runs.items():
        out[name] = {}
        for task, items in by_task.items():
            if across_runs:
                if metric is None:
                    raise ReliabilityInputError("an across-run comparison needs a metric to recompute on new runs")
                out[name][task] = np.array([float(metric(list(items)))])
            elif metric is None:
                out[name][task] = np.asarray(items, dtype=float)
            else:
                out[name][task] = np.array([float(metric(item)) for item in items])
    return out


def _mean_rank_of_block(block: np.ndarray, n_first: int, fixed: np.ndarray, higher_is_better: bool) -> tuple:
    """Rank each row of ``block`` (resamples × values of the tested submissions) together with the fixed
    values of the others; return per-row rank sums of the first ``n_first`` columns and of the rest."""
    rows = block.shape[0]
    full = np.concatenate([block, np.broadcast_to(fixed, (rows, fixed.size))], axis=1)
    from scipy import stats

    ranks = stats.rankdata(_oriented(full, higher_is_better), axis=1)
    width = block.shape[1]
    return ranks[:, :n_first].sum(axis=1), ranks[:, n_first:width].sum(axis=1)


def _others(values: Mapping[str, Mapping[str, np.ndarray]], task: str, exclude: set[str]) -> np.ndarray:
    parts = [values[s][task] for s in values if s not in exclude]
    return np.concatenate(parts) if parts else np.array([], dtype=float)


# --- permutation test --------------------------------------------------------------------------


def permutation_test(
    runs: Runs,
    first: str,
    second: str,
    *,
    higher_is_better: bool,
    metric: Callable[..., float] | None = None,
    across_runs: bool = False,
    n_resamples: int = 1000,
    seed: int | np.random.Generator = 0,
) -> tuple[float, float]:
    """Two-sided permutation test of the mean-rank difference ``second - first``; returns ``(difference, p)``.

    Under the null the two submissions' runs are exchangeable within each task: their runs are
    shuffled between them (sizes kept), the metric recomputed for across-run metrics, everything
    re-ranked with the other submissions fixed.
    """
    _check_runs(runs)
    if n_resamples < 1:
        raise ReliabilityInputError(f"n_resamples must be at least 1, got {n_resamples}")
    rng = np.random.default_rng(seed)
    values = _values_of(runs, metric, across_runs)
    observed = _pair_difference(values, first, second, higher_is_better)
    null_first = np.zeros(n_resamples)
    null_second = np.zeros(n_resamples)
    count_first = count_second = 0
    for task in runs[first]:
        fixed = _others(values, task, {first, second})
        if across_runs:
            pooled = list(runs[first][task]) + list(runs[second][task])
            n_first = len(runs[first][task])
            block = np.empty((n_resamples, 2))
            for r in range(n_resamples):
                order = rng.permutation(len(pooled))
                block[r, 0] = metric([pooled[i] for i in order[:n_first]])  # type: ignore[misc]
                block[r, 1] = metric([pooled[i] for i in order[n_first:]])  # type: ignore[misc]
            sums = _mean_rank_of_block(block, 1, fixed, higher_is_better)
            count_first, count_second = count_first + 1, count_second + 1
        else:
            pooled_values = np.concatenate([values[first][task], values[second][task]])
            n_first = values[first][task].size
            block = rng.permuted(np.broadcast_to(pooled_values, (n_resamples, pooled_values.size)), axis=1)
            sums = _mean_rank_of_block(block, n_first, fixed, higher_is_better)
            count_first += n_first
            count_second += pooled_values.size - n_first
        null_first += sums[0]
        null_second += sums[1]
    null = null_second / count_second - null_first / count_first
    exceed = int(np.sum(np.abs(null) >= abs(observed) - 1e-12))
    return observed, (1 + exceed) / (1 + n_resamples)


def _pair_difference(values: Mapping[str, Mapping[str, np.ndarray]], first: str, second: str, higher: bool) -> float:
    _, mean_rank = rank_values(values, higher)
    return mean_rank[second] - mean_rank[first]


# --- bootstrap CI ------------------------------------------------------------------------------


def bootstrap_mean_rank_ci(
    runs: Runs,
    submission: str,
    *,
    higher_is_better: bool,
    metric: Callable[..., float] | None = None,
    across_runs: bool = False,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int | np.random.Generator = 0,
) -> tuple[float, float]:
    """Percentile bootstrap CI of one submission's mean rank: its runs are resampled with replacement
    within each task (the others stay fixed), the metric recomputed, everything re-ranked."""
    _check_runs(runs)
    rng = np.random.default_rng(seed)
    values = _values_of(runs, metric, across_runs)
    totals = np.zeros(n_resamples)
    count = 0
    for task in runs[submission]:
        fixed = _others(values, task, {submission})
        if across_runs:
            items = list(runs[submission][task])
            block = np.empty((n_resamples, 1))
            for r in range(n_resamples):
                picks = rng.integers(0, len(items), len(items))
                block[r, 0] = metric([items[i] for i in picks])  # type: ignore[misc]
        else:
            own = values[submission][task]
            block = own[rng.integers(0, own.size, (n_resamples, own.size))]
        sums = _mean_rank_of_block(block, block.shape[1], fixed, higher_is_better)
        totals += sums[0]
        count += block.shape[1]
    return _percentile_interval(totals / count, confidence)


def _percentile_interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    if not 0 < confidence < 1:
        raise ReliabilityInputError(f"confidence must be between 0 and 1, got {confidence}")
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


# --- multiple comparisons ----------------------------------------------------------------------


def corrected_thresholds(
    p_values: Sequence[float], alpha: float = 0.05, method: Correction = "benjamini-yekutieli"
) -> tuple[np.ndarray, np.ndarray]:
    """Per-test p-value thresholds and which tests are significant, in the input order.

    Benjamini–Yekutieli: with p sorted ascending, the k-th threshold is ``k α / (m c(m))`` with
    ``c(m) = Σ_{i=1..m} 1/i``; every test up to the largest k whose p meets its threshold is
    significant (step-up). Bonferroni: every threshold is ``α / m``.
    """
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return np.array([]), np.array([], dtype=bool)
    if method == "bonferroni":
        thresholds = np.full(m, alpha / m)
        return thresholds, p <= thresholds
    if method != "benjamini-yekutieli":
        raise ReliabilityInputError(f"correction must be 'benjamini-yekutieli' or 'bonferroni', got {method!r}")
    order = np.argsort(p, kind="stable")
    c_m = float(np.sum(1.0 / np.arange(1, m + 1)))
    sorted_thresholds = np.arange(1, m + 1) * alpha / (m * c_m)
    passing = np.nonzero(p[order] <= sorted_thresholds)[0]
    significant_sorted = np.zeros(m, dtype=bool)
    if passing.size:
        significant_sorted[: passing[-1] + 1] = True
    thresholds = np.empty(m)
    significant = np.empty(m, dtype=bool)
    thresholds[order] = sorted_thresholds
    significant[order] = significant_sorted
    return thresholds, significant


def adjusted_p_values(p_values: Sequence[float], method: Correction = "benjamini-yekutieli") -> np.ndarray:
    """p-values adjusted so that ``adjusted <= alpha`` reproduces :func:`corrected_thresholds`."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if method == "bonferroni":
        return np.minimum(1.0, p * m)
    if method != "benjamini-yekutieli":
        raise ReliabilityInputError(f"correction must be 'benjamini-yekutieli' or 'bonferroni', got {method!r}")
    order = np.argsort(p, kind="stable")
    c_m = float(np.sum(1.0 / np.arange(1, m + 1)))
    scaled = p[order] * m * c_m / np.arange(1, m + 1)
    stepped = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(1.0, stepped)
    return out


# --- the whole comparison ----------------------------------------------------------------------


def compare_submissions(
    runs: Runs,
    *,
    higher_is_better: bool,
    metric: Callable[..., float] | None = None,
    across_runs: bool = False,
    n_resamples: int = 1000,
    alpha: float = 0.05,
    correction: Correction = "benjamini-yekutieli",
    seed: int = 0,
) -> RankComparison:
    """Rank submissions on one metric, with bootstrap CIs of the mean ranks and corrected pairwise tests.

    ``runs[submission][task]`` lists the runs. With ``metric=None`` the runs are already per-run
    numbers; otherwise ``metric(run)`` (per-run) or ``metric(list_of_runs)`` (``across_runs=True``)
    computes the value. Seeded: the same inputs and seed give the same result.
    """
    submissions, tasks = _check_runs(runs)
    values = _values_of(runs, metric, across_runs)
    task_ranks, mean_rank = rank_values(values, higher_is_better)
    seeds = np.random.SeedSequence(seed).spawn(len(submissions) + len(submissions) ** 2)
    common = dict(higher_is_better=higher_is_better, metric=metric, across_runs=across_runs, n_resamples=n_resamples)
    ci = {
        name: bootstrap_mean_rank_ci(runs, name, confidence=1 - alpha, seed=np.random.default_rng(seeds[i]), **common)
        for i, name in enumerate(submissions)
    }
    raw = []
    for k, (first, second) in enumerate(itertools.combinations(submissions, 2)):
        rng = np.random.default_rng(seeds[len(submissions) + k])
        raw.append((first, second, *permutation_test(runs, first, second, seed=rng, **common)))
    thresholds, significant = corrected_thresholds([r[3] for r in raw], alpha, correction)
    pairs = tuple(
        PairTest(first, second, difference, p, float(threshold), bool(flag))
        for (first, second, difference, p), threshold, flag in zip(raw, thresholds, significant, strict=True)
    )
    return RankComparison(submissions, tasks, task_ranks, mean_rank, ci, pairs, correction, alpha, n_resamples, seed)


# --- returns: IQM and probability of improvement (Agarwal et al., 2021) ------------------------


def _scores(scores: Mapping[str, Sequence[float]], name: str) -> dict[str, np.ndarray]:
    if not scores:
        raise ReliabilityInputError(f"{name} has no tasks")
    out = {}
    for task, values in scores.items():
        array = np.asarray(values, dtype=float)
        if array.ndim != 1 or array.size == 0 or not np.all(np.isfinite(array)):
            raise ReliabilityInputError(f"{name} on task {task!r} needs a non-empty list of finite scores")
        out[task] = array
    return out


def iqm_with_ci(
    scores: Mapping[str, Sequence[float]], n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """Interquartile mean of all (task, run) scores, with a stratified percentile bootstrap CI.

    Returns ``(iqm, low, high)``. Runs are resampled with replacement within each task.
    """
    by_task = _scores(scores, "scores")
    rng = np.random.default_rng(seed)
    point = interquartile_mean(np.concatenate(list(by_task.values())))
    samples = np.empty(n_resamples)
    resampled = [v[rng.integers(0, v.size, (n_resamples, v.size))] for v in by_task.values()]
    pooled = np.sort(np.concatenate(resampled, axis=1), axis=1)
    cut = int(0.25 * pooled.shape[1])
    samples = pooled[:, cut : pooled.shape[1] - cut].mean(axis=1)
    return (point, *_percentile_interval(samples, confidence))


def pooled_iqm_with_run_ci(
    returns_by_run: Mapping[str, Sequence[float]], n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """IQM of the episodes of all runs pooled, with a percentile bootstrap CI over **runs**.

    Each resample draws as many runs as there are, with replacement, and pools their episodes, as
    rliable resamples runs: the CI then holds the seed-to-seed variation, which resampling episodes
    within each seed leaves out. Returns ``(iqm, low, high)``.
    """
    runs = list(_scores(returns_by_run, "returns_by_run").values())
    point = interquartile_mean(np.concatenate(runs))
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(runs), (n_resamples, len(runs)))
    samples = np.array([interquartile_mean(np.concatenate([runs[i] for i in pick])) for pick in picks])
    return (point, *_percentile_interval(samples, confidence))


def _improvement(x: np.ndarray, y: np.ndarray) -> float:
    """P(X > Y) + P(X = Y)/2 over all pairs of runs (the Mann–Whitney U statistic over n·m)."""
    greater = np.sum(x[:, None] > y[None, :])
    equal = np.sum(x[:, None] == y[None, :])
    return float((greater + 0.5 * equal) / (x.size * y.size))


def probability_of_improvement(
    x_scores: Mapping[str, Sequence[float]],
    y_scores: Mapping[str, Sequence[float]],
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Probability that a run of X beats a run of Y on a random task, with a stratified bootstrap CI.

    Per task, P(X > Y) counts ties as one half; the result is the mean over tasks. Returns
    ``(probability, low, high)``.
    """
    x_by_task = _scores(x_scores, "x_scores")
    y_by_task = _scores(y_scores, "y_scores")
    if set(x_by_task) != set(y_by_task):
        raise ReliabilityInputError(
            f"both score sets must cover the same tasks: {sorted(x_by_task)} vs {sorted(y_by_task)}"
        )
    tasks = list(x_by_task)
    point = float(np.mean([_improvement(x_by_task[t], y_by_task[t]) for t in tasks]))
    rng = np.random.default_rng(seed)
    samples = np.zeros(n_resamples)
    for task in tasks:
        x, y = x_by_task[task], y_by_task[task]
        xs = x[rng.integers(0, x.size, (n_resamples, x.size))]
        ys = y[rng.integers(0, y.size, (n_resamples, y.size))]
        greater = (xs[:, :, None] > ys[:, None, :]).sum(axis=(1, 2))
        equal = (xs[:, :, None] == ys[:, None, :]).sum(axis=(1, 2))
        samples += (greater + 0.5 * equal) / (x.size * y.size)
    samples /= len(tasks)
    return (point, *_percentile_interval(samples, confidence))
