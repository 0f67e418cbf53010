"""The ``reliability`` metric: wires the reliability measures to the runner's records.

``analyze`` computes per-run values from one seed's training log (global env step against
episode return), inference episodes (a fixed policy's rollouts) and generalization episodes;
``summarize`` computes what needs several seeds: dispersion and risk across runs, the
generalization aggregate and the pooled returns with a run-level bootstrap CI; with the ``a2perf``
preset also A2Perf's values of all seeds pooled (DT, SRT, LRT, DF, RF). A value that is undefined
for the data at hand (no training log, one run, a flat curve, too few points for a window) is
reported as ``None`` with ``details["reason"]``; it never stops the runner.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import gin
import numpy as np

from a2perf_core.metrics import Direction, Metric, MetricValue, RunRecords
from a2perf_reliability import a2perf_measures, measures
from a2perf_reliability.curves import timeframe_medians
from a2perf_reliability.errors import ReliabilityInputError
from a2perf_reliability.presets import Geometry, ReliabilitySettings, geometry, preset_settings

PREFIX = "reliability"
TIMEFRAME_NAMES = ("beginning", "middle", "end")
#: key of a generalization failure that is not one task's: the phase did not run at all
WHOLE_PHASE = "(the whole phase)"


def curve_from_train_log(columns: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Training curve from the runner's log: returns of episodes ending at the same global step are
    averaged, so that timepoints strictly increase (several envs can finish together). Episodes cut
    off when training stopped (``finished`` 0) are left out: their return is not an episode's."""
    if not columns or "global_step" not in columns or columns["global_step"].size == 0:
        raise ReliabilityInputError("no training log: the train phase did not run or finished no episode")
    steps = np.asarray(columns["global_step"], dtype=float)
    returns = np.asarray(columns["episode_return"], dtype=float)
    if "finished" in columns:
        complete = np.asarray(columns["finished"], dtype=float) == 1
        steps, returns = steps[complete], returns[complete]
        if steps.size == 0:
            raise ReliabilityInputError("no training episode finished: the train phase ended inside the first one")
    unique, inverse = np.unique(steps, return_inverse=True)
    sums = np.bincount(inverse, weights=returns)
    counts = np.bincount(inverse)
    return unique, sums / counts


def _rollout_returns(run: RunRecords) -> np.ndarray:
    episodes = run.inference_episodes()
    if not episodes or "return" not in episodes or episodes["return"].size == 0:
        raise ReliabilityInputError("no inference episodes: the inference phase did not run or finished no episode")
    return np.asarray(episodes["return"], dtype=float)


def _generalization(run: RunRecords) -> dict[str, float]:
    episodes = run.generalization_episodes()
    if not episodes or "task" not in episodes or episodes["task"].size == 0:
        raise ReliabilityInputError("no generalization episodes: the generalization phase did not run")
    return measures.generalization_by_task(list(episodes["task"].astype(str)), episodes["return"])


def generalization_outcome(run: RunRecords) -> tuple[dict[str, float], dict[str, str]]:
    """(mean return of each generalization task that completed, reason of each task that did not).

    The tasks requested are those of ``run.json``'s generalization record (``tasks``); a task whose
    child process failed, or that completed without an episode, is a failure, and so is a
    requested generalization phase that never ran (key ``WHOLE_PHASE``). Tasks skipped because their data is
    missing on the machine are neither. Without a record (records written by hand) every task in
    ``generalization_episodes.csv`` counts as completed.
    """
    record = run.info.get("phases", {}).get("generalization")
    if record is None:
        return _generalization(run), {}
    if record.get("status") == "skipped":
        raise ReliabilityInputError(f"generalization skipped: {record.get('reason')}")
    ran = record.get("tasks")
    if ran is None:
        return {}, {
            WHOLE_PHASE: f"generalization phase {record.get('status')}: {record.get('reason') or 'no task ran'}"
        }
    try:
        means = _generalization(run)
    except ReliabilityInputError:
        means = {}
    failed = {task: part.get("reason") or "failed" for task, part in ran.items() if not _task_ok(part)}
    failed.update({task: "no episode recorded" for task, part in ran.items() if _task_ok(part) and task not in means})
    return {task: value for task, value in means.items() if task in ran and task not in failed}, failed


def _range_trust(curves: Sequence[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """``trustworthy`` False with a note when a run's curve range, which divides its values, is noise."""
    flat = measures.nearly_flat_runs(curves)
    if not flat:
        return {"trustworthy": True}
    levels = ", ".join(f"run {i}: {measures.range_in_noise_levels(curves[i]):.2g}" for i in flat)
    return {
        "trustworthy": False,
        "nearly_flat_runs": flat,
        "note": (
            f"{len(flat)} of {len(curves)} runs are nearly flat (curve range under "
            f"{measures.FLAT_RANGE_IN_NOISE_LEVELS:g} noise levels; {levels}): dividing by such a range "
            "gives an arbitrary number; use baseline='none' or the a2perf preset"
        ),
    }


def _task_ok(part: Mapping[str, Any]) -> bool:
    """A generalization task's record completed: ``status`` ``ok`` (the runner's records), or ``ok``
    true (records written before tasks had a status)."""
    return part.get("status") == "ok" if "status" in part else bool(part.get("ok"))


def _run_name(run: RunRecords, index: int) -> str:
    return run.run_dir.name or str(index)


@gin.configurable(module="a2perf_reliability")
class ReliabilityMetric(Metric):
    """Reliability (Chan et al., 2020) and application metrics of training curves and rollouts.

    ``preset`` is ``"chan2020"`` (the paper's choices, scaled to the run) or ``"a2perf"`` (A2Perf's);
    any other argument left at None keeps the preset's value (``baseline="none"`` disables it).
    """

    def __init__(
        self,
        preset: str = "chan2020",
        alpha: float | None = None,
        baseline: str | None = None,
        lowpass_cutoff: float | None = None,
        n_eval_points: int | None = None,
        window_fraction: float | None = None,
        window_logging_multiple: float | None = None,
        n_timeframes: int | None = None,
        drawdown_tail: str | None = None,
        rollout_baseline: str | float | None = None,
        n_resamples: int = 1000,
        seed: int = 0,
    ) -> None:
        self.settings: ReliabilitySettings = preset_settings(
            preset,
            alpha=alpha,
            baseline=baseline,
            lowpass_cutoff=lowpass_cutoff,
            n_eval_points=n_eval_points,
            window_fraction=window_fraction,
            window_logging_multiple=window_logging_multiple,
            n_timeframes=n_timeframes,
            drawdown_tail=drawdown_tail,
            rollout_baseline=rollout_baseline,
        )
        self.n_resamples = n_resamples
        self.seed = seed

    # --- helpers -------------------------------------------------------------------------------

    def _value(
        self,
        name: str,
        direction: Direction,
        description: str,
        compute: Callable[[], tuple[Any, dict[str, Any]]],
        phase: str | None = None,
        unit: str = "",
    ) -> MetricValue:
        try:
            value, details = compute()
        except Exception as exc:  # undefined for these data: report why, never stop the runner
            reason = str(exc) if isinstance(exc, ReliabilityInputError) else f"{type(exc).__name__}: {exc}"
            value, details = None, {"reason": reason}
        details = {"preset": self.settings.preset, **details}
        return MetricValue(f"{PREFIX}.{name}", value, unit, direction, phase, description, details)

    def summarize_points(self, points: np.ndarray, values: np.ndarray) -> tuple[float, dict[str, Any]]:
        """Collapse per-eval-point values: median (timeframes apart) for chan2020, pooled mean for a2perf."""
        details: dict[str, Any] = {"eval_points": points.tolist(), "values": values.tolist()}
        if self.settings.summary == "pooled_mean":
            details["std"] = float(np.std(values))
            return float(np.mean(values)), details
        frames = timeframe_medians(values, self.settings.n_timeframes)
        if len(frames) == len(TIMEFRAME_NAMES):
            details["timeframes"] = dict(zip(TIMEFRAME_NAMES, frames, strict=True))
        else:
            details["timeframes"] = frames
        return float(np.median(values)), details

    def curve_geometry(self, curves: Sequence[tuple[np.ndarray, np.ndarray]]) -> Geometry:
        """The preset's windows and eval points for these curves; a window needs a few logged episodes."""
        for t, _ in curves:
            if t.size < 3:
                raise ReliabilityInputError(f"a training curve has {t.size} logged episodes; at least 3 are needed")
        return geometry(self.settings, [t for t, _ in curves])

    # --- per run -------------------------------------------------------------------------------

    def analyze(self, run: RunRecords) -> list[MetricValue]:
        s = self.settings
        out: list[MetricValue] = []

        def curve() -> tuple[np.ndarray, np.ndarray]:
            return curve_from_train_log(run.train_log())

        def within(fn: Callable[..., tuple[np.ndarray, np.ndarray]], **kw: Any) -> Callable[[], tuple]:
            def compute() -> tuple[float, dict[str, Any]]:
                c = curve()
                g = self.curve_geometry([c])
                window = g.within_window if fn is measures.dispersion_across_time else g.window
                points, values = fn(c, window=window, eval_points=g.eval_points, **kw)
                value, details = self.summarize_points(points, values)
                details["window"] = window
                return value, details

            return compute

        def scalar(fn: Callable[..., float], **kw: Any) -> Callable[[], tuple]:
            def compute() -> tuple[float, dict[str, Any]]:
                return fn(curve(), **kw), {}

            return compute

        if s.analysis == "a2perf":
            out.extend(self._a2perf_training(lambda: [curve()]))
        else:
            out.append(
                self._value(
                    "dispersion_across_time",
                    "lower",
                    "IQR of the differenced training curve in trailing windows (DT)",
                    within(measures.dispersion_across_time, baseline=s.baseline),
                    phase="train",
                )
            )
            out.append(
                self._value(
                    "short_term_risk_across_time",
                    "higher",
                    f"lower CVaR (alpha={s.alpha}) of the differenced training curve (SRT)",
                    scalar(measures.short_term_risk_across_time, alpha=s.alpha, baseline=s.baseline),
                    phase="train",
                )
            )
            out.append(
                self._value(
                    "long_term_risk_across_time",
                    "lower",
                    f"{s.drawdown_tail} CVaR (alpha={s.alpha}) of the training curve's drawdown (LRT)",
                    scalar(
                        measures.long_term_risk_across_time,
                        alpha=s.alpha,
                        baseline=s.baseline,
                        drawdown_tail=s.drawdown_tail,
                    ),
                    phase="train",
                )
            )
        out.append(
            self._value(
                "max_drawdown",
                "lower",
                "largest drop of the training curve below its running peak",
                scalar(measures.max_drawdown, baseline=s.baseline),
                phase="train",
            )
        )
        out.append(
            self._value(
                "median_performance_during_training",
                "higher",
                "median episode return in trailing windows of training",
                within(measures.median_performance_during_training),
                phase="train",
            )
        )

        def rollout(fn: Callable[..., float], **kw: Any) -> Callable[[], tuple]:
            return lambda: (fn(_rollout_returns(run), **kw), {"n_episodes": int(_rollout_returns(run).size)})

        if s.analysis == "a2perf":
            out.extend(self._a2perf_rollouts(lambda: [_rollout_returns(run)]))
        else:
            out.append(
                self._value(
                    "dispersion_across_rollouts",
                    "lower",
                    "IQR of the fixed policy's episode returns (DF)",
                    rollout(measures.dispersion_across_rollouts, baseline=s.rollout_baseline),
                    phase="inference",
                )
            )
            out.append(
                self._value(
                    "risk_across_rollouts",
                    "higher",
                    f"lower CVaR (alpha={s.alpha}) of the fixed policy's returns (RF)",
                    rollout(measures.risk_across_rollouts, alpha=s.alpha, baseline=s.rollout_baseline),
                    phase="inference",
                )
            )
        for key, direction in (
            ("mean", "higher"),
            ("std", "none"),
            ("iqm", "higher"),
            ("min", "higher"),
            ("max", "higher"),
        ):
            out.append(
                self._value(
                    f"returns.{key}",
                    direction,
                    f"{key} of the inference episode returns",
                    lambda k=key: (
                        measures.return_statistics(_rollout_returns(run))[k],
                        {"n_episodes": int(_rollout_returns(run).size)},
                    ),
                    phase="inference",
                )
            )
        try:
            by_task, failed = generalization_outcome(run)
        except ReliabilityInputError:
            by_task, failed = {}, {}
        for task, value in by_task.items():
            out.append(
                self._value(
                    f"generalization.{task}",
                    "higher",
                    f"mean episode return on {task}",
                    lambda v=value: (v, {}),
                    phase="generalization",
                )
            )
        for task, reason in failed.items():
            if task != WHOLE_PHASE:
                description = f"mean episode return on {task}"
                details = {"preset": s.preset, "reason": f"the task failed: {reason}"}
                out.append(
                    MetricValue(
                        f"{PREFIX}.generalization.{task}", None, "", "higher", "generalization", description, details
                    )
                )
        return out

    # --- across runs ---------------------------------------------------------------------------

    def summarize(self, runs: Sequence[RunRecords]) -> list[MetricValue]:
        s = self.settings
        out: list[MetricValue] = []
        curves: list[tuple[np.ndarray, np.ndarray]] = []
        skipped: list[str] = []
        for run in runs:
            try:
                curves.append(curve_from_train_log(run.train_log()))
            except ReliabilityInputError as exc:
                skipped.append(f"{run.run_dir.name}: {exc}")

        def across(fn: Callable[..., tuple[np.ndarray, np.ndarray]], final: bool, **kw: Any) -> Callable[[], tuple]:
            def compute() -> tuple[float, dict[str, Any]]:
                g = self.curve_geometry(curves)
                points, values = fn(
                    curves,
                    eval_points=g.across_eval_points,
                    window=g.window,
                    lowpass_cutoff=g.lowpass_cutoff,
                    baseline=s.baseline,
                    **kw,
                )
                if final:
                    value = float(values[-1])
                    details = {
                        "eval_points": points.tolist(),
                        "values": values.tolist(),
                        "final_eval_point": float(points[-1]),
                    }
                    if s.baseline == "curve_range":
                        details.update(_range_trust(curves))
                else:
                    value, details = self.summarize_points(points, values)
                details.update(n_runs=len(curves), window=g.window, lowpass_cutoff=g.lowpass_cutoff)
                if skipped:
                    details["skipped_runs"] = skipped
                return value, details

            return compute

        returns: dict[str, np.ndarray] = {}
        for i, run in enumerate(runs):
            try:
                returns[f"{i}:{run.run_dir.name}"] = _rollout_returns(run)
            except ReliabilityInputError:
                pass

        if s.analysis == "a2perf":
            out.extend(self._a2perf_across_runs(curves, skipped))
            out.extend(self._a2perf_training(lambda: curves, pooled=len(curves)))
            out.extend(self._a2perf_rollouts(lambda: list(returns.values()), pooled=len(returns)))
        else:
            out.append(
                self._value(
                    "dispersion_across_runs",
                    "lower",
                    "IQR across seeds of the low-passed training curves (DR)",
                    across(measures.dispersion_across_runs, final=False),
                    phase="train",
                )
            )
            out.append(
                self._value(
                    "risk_across_runs",
                    "higher",
                    f"lower CVaR (alpha={s.alpha}) across seeds of final training performance (RR)",
                    across(measures.risk_across_runs, final=True, alpha=s.alpha),
                    phase="train",
                )
            )

        def pooled_returns() -> tuple[float, dict[str, Any]]:
            from a2perf_reliability.compare import pooled_iqm_with_run_ci  # scipy: only once seeds are summarised

            if not returns:
                raise ReliabilityInputError("no run has inference episodes")
            iqm, low, high = pooled_iqm_with_run_ci(returns, n_resamples=self.n_resamples, seed=self.seed)
            stats = measures.return_statistics(np.concatenate(list(returns.values())))
            return iqm, {
                **stats,
                "ci95": [low, high],
                "n_runs": len(returns),
                "method": "IQM of all episodes pooled; percentile bootstrap over runs (seeds), as rliable",
            }

        out.append(
            self._value(
                "returns.iqm_across_runs",
                "higher",
                "interquartile mean of inference returns over all seeds, with a run-level bootstrap 95% CI",
                pooled_returns,
                phase="inference",
            )
        )

        per_seed: list[dict[str, float]] = []
        failures: dict[str, dict[str, str]] = {}
        for index, run in enumerate(runs):
            try:
                completed, failed = generalization_outcome(run)
            except ReliabilityInputError:
                continue
            per_seed.append(completed)
            if failed:
                failures[_run_name(run, index)] = failed
        out.append(self._generalization_aggregate(per_seed, failures))
        return out

    # --- A2Perf's analysis (preset a2perf) ---------------------------------------------------

    def _a2perf_training(
        self, curves: Callable[[], Sequence[tuple[np.ndarray, np.ndarray]]], pooled: int | None = None
    ) -> list[MetricValue]:
        """DT, SRT and LRT as A2Perf computes them: of one seed (``pooled`` None) or of all seeds pooled."""
        s = self.settings
        scope = "one seed" if pooled is None else "all seeds pooled"
        extra = {} if pooled is None else {"pooled_runs": pooled, "method": "A2Perf: values of all seeds pooled"}

        def dispersion() -> tuple[float, dict[str, Any]]:
            found = curves()
            mean, std, n_windows = a2perf_measures.dispersion_across_time(found, s.window_logging_multiple)
            details: dict[str, Any] = {"std": std, "n_windows": n_windows, **extra}
            if pooled is None:
                points, spreads = a2perf_measures.dispersion_across_time_of_run(found[0], s.window_logging_multiple)
                details.update(eval_points=points.tolist(), values=spreads.tolist())
            return mean, details

        return [
            self._value(
                "dispersion_across_time",
                "lower",
                f"mean IQR of raw differences in centred windows, {scope} (DT, A2Perf)",
                dispersion,
                phase="train",
            ),
            self._value(
                "short_term_risk_across_time",
                "lower",
                f"minus the lower CVaR (alpha={s.alpha}) of raw differences, {scope} (SRT, A2Perf)",
                lambda: (a2perf_measures.short_term_risk(curves(), s.alpha), dict(extra)),
                phase="train",
            ),
            self._value(
                "long_term_risk_across_time",
                "lower",
                f"upper CVaR (alpha={s.alpha}) of the drawdowns, {scope} (LRT, A2Perf)",
                lambda: (a2perf_measures.long_term_risk(curves(), s.alpha), dict(extra)),
                phase="train",
            ),
        ]

    def _a2perf_rollouts(self, rollouts: Callable[[], Sequence[np.ndarray]], pooled: int | None = None) -> list:
        """DF and RF as A2Perf computes them: of one seed's returns, or of all seeds' pooled."""
        s = self.settings
        scope = "one seed" if pooled is None else "all seeds pooled"

        def details() -> dict[str, Any]:
            episodes = {"n_episodes": int(sum(r.size for r in rollouts()))}
            if pooled is not None:
                episodes.update(pooled_runs=pooled, method="A2Perf: returns of all seeds pooled")
            return episodes

        def pooled_returns() -> Sequence[np.ndarray]:
            found = rollouts()
            if not found:
                raise ReliabilityInputError("no run has inference episodes")
            return found

        return [
            self._value(
                "dispersion_across_rollouts",
                "lower",
                f"IQR of the fixed policy's episode returns, {scope} (DF, A2Perf)",
                lambda: (a2perf_measures.dispersion_across_rollouts(pooled_returns()), details()),
                phase="inference",
            ),
            self._value(
                "risk_across_rollouts",
                "higher",
                f"lower CVaR (alpha={s.alpha}) of the fixed policy's returns, {scope} (RF, A2Perf)",
                lambda: (a2perf_measures.risk_across_rollouts(pooled_returns(), s.alpha), details()),
                phase="inference",
            ),
        ]

    def _a2perf_across_runs(self, curves: Sequence[tuple[np.ndarray, np.ndarray]], skipped: Sequence[str]) -> list:
        """DR and RR as A2Perf computes them."""
        s = self.settings
        extra: dict[str, Any] = {"n_runs": len(curves), **({"skipped_runs": list(skipped)} if skipped else {})}

        def enough_runs() -> Sequence[tuple[np.ndarray, np.ndarray]]:
            if len(curves) < 2:
                raise ReliabilityInputError(f"across-run metrics need at least 2 runs, got {len(curves)}")
            return curves

        def dispersion() -> tuple[float, dict[str, Any]]:
            steps, spreads = a2perf_measures.dispersion_across_runs(enough_runs(), s.lowpass_cutoff)  # type: ignore[arg-type]
            std = float(np.std(spreads, ddof=1)) if spreads.size > 1 else None
            details = {"std": std, "eval_points": steps.tolist(), "values": spreads.tolist()}
            return float(np.mean(spreads)), {**details, "lowpass_cutoff": s.lowpass_cutoff, **extra}

        def risk() -> tuple[float, dict[str, Any]]:
            value, finals = a2perf_measures.risk_across_runs(enough_runs(), s.alpha)
            return value, {"final_values": finals.tolist(), **extra}

        return [
            self._value(
                "dispersion_across_runs",
                "lower",
                "mean IQR across seeds of the low-passed curves at shared steps (DR, A2Perf)",
                dispersion,
                phase="train",
            ),
            self._value(
                "risk_across_runs",
                "higher",
                f"lower CVaR (alpha={s.alpha}) of each seed's last logged return (RR, A2Perf)",
                risk,
                phase="train",
            ),
        ]

    def _generalization_aggregate(
        self, per_seed: Sequence[Mapping[str, float]], failures: Mapping[str, Mapping[str, str]]
    ) -> MetricValue:
        """A2Perf's sum over tasks of the mean over seeds, defined only when every task ran in every
        seed: a task that failed (or is missing from a seed) makes the score ``None`` with the reason
        and ``n_failed``, so crashing on hard tasks never scores better than attempting them."""
        tasks = sorted({task for seed in per_seed for task in seed})
        incomplete = {task: sum(task not in seed for seed in per_seed) for task in tasks}
        missing = {task: n for task, n in incomplete.items() if n}

        def compute() -> tuple[float, dict[str, Any]]:
            if failures or missing:
                n_failed = sum(len(f) for f in failures.values()) + sum(missing.values())
                raise _UndefinedAggregate(n_failed, failures, missing)
            score, means = measures.generalization_aggregate(per_seed)
            return score, {"per_task_mean_over_seeds": means, "n_runs": len(per_seed), "n_failed": 0}

        value = self._value(
            "generalization.aggregate",
            "higher",
            "A2Perf generalization score: mean return over seeds per task, summed over tasks",
            compute,
            phase="generalization",
        )
        if failures or missing:
            details = {**value.details, "n_failed": sum(len(f) for f in failures.values()) + sum(missing.values())}
            details["failed"] = {run: dict(f) for run, f in failures.items()}
            if missing:
                details["missing_in_runs"] = missing
            value = attrs.evolve(value, details=details)
        return value


class _UndefinedAggregate(ReliabilityInputError):
    def __init__(self, n_failed: int, failures: Mapping[str, Mapping[str, str]], missing: Mapping[str, int]) -> None:
        parts = [f"{run}: {', '.join(f)}" for run, f in failures.items()]
        parts += [f"{task} missing from {n} run(s)" for task, n in missing.items()]
        super().__init__(
            f"{n_failed} generalization task run(s) failed or did not run ({'; '.join(parts)}); "
            "a failed task counts as failed, so the aggregate is not defined"
        )
