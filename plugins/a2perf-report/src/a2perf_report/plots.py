"""The report's figures, drawn with matplotlib's object API (no pyplot state, no display needed).

Each figure is drawn only from completed runs and only when its data exists: a missing record
gives no figure (listed as not available), never an empty or broken one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from a2perf_core.metrics import RunRecords
from a2perf_report.runs import RunEntry, numeric_value

IMAGE_FORMATS = ("png", "svg")
MIME = {"png": "image/png", "svg": "image/svg+xml"}
#: points of the common grid the seeds' training curves are interpolated onto
CURVE_POINTS = 200


@attrs.frozen
class Plot:
    """One drawn figure: a file name stem, a title, what it shows, and the image bytes."""

    name: str
    title: str
    caption: str
    image_format: str
    data: bytes

    @property
    def mime(self) -> str:
        return MIME[self.image_format]

    @property
    def filename(self) -> str:
        return f"{self.name}.{self.image_format}"


@attrs.frozen
class Unavailable:
    """A figure the report would show if its data existed, and why it does not."""

    title: str
    reason: str


def _colours(submissions: Sequence[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    palette = colormaps["tab10"]
    return {s: palette(i % 10) for i, s in enumerate(submissions)}


def _figure(n_axes: int, width_per_axis: float = 4.6, height: float = 3.4) -> tuple[Any, list[Any]]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(max(5.0, width_per_axis * n_axes), height), layout="constrained")
    axes = figure.subplots(1, n_axes, squeeze=False)[0]
    return figure, list(axes)


def _encode(figure: Any, image_format: str) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    metadata = {"Date": None} if image_format == "svg" else None
    figure.savefig(buffer, format=image_format, dpi=110, metadata=metadata)
    return buffer.getvalue()


def phase_order(phase: str) -> tuple[int, str]:
    """train, inference, then the generalization phases by task."""
    return {"train": 0, "inference": 1}.get(phase, 2), phase


def _short_phase(phase: str) -> str:
    return phase.replace("generalization-", "gen. ")


def _ok_runs(runs: Sequence[RunEntry], submission: str, task: str) -> list[RunEntry]:
    return [r for r in runs if r.ok and r.submission == submission and r.task == task]


def _tasks_and_submissions(runs: Sequence[RunEntry]) -> tuple[list[str], list[str]]:
    return sorted({r.task for r in runs}), sorted({r.submission for r in runs})


# --- training curves -----------------------------------------------------------------------------


def seed_band(curves: Sequence[tuple[np.ndarray, np.ndarray]], points: int = CURVE_POINTS) -> tuple[np.ndarray, ...]:
    """Median and interquartile range across seeds on a common x grid.

    Each seed's curve is interpolated linearly within its own x range and missing outside it, so a
    seed that ran shorter does not stretch its last value; where no seed has a value there is none.
    Returns ``(x, median, q25, q75)``.
    """
    low = min(float(x[0]) for x, _ in curves)
    high = max(float(x[-1]) for x, _ in curves)
    grid = np.linspace(low, high, points) if high > low else np.array([low])
    stack = np.full((len(curves), grid.size), np.nan)
    for i, (x, y) in enumerate(curves):
        inside = (grid >= x[0]) & (grid <= x[-1])
        stack[i, inside] = np.interp(grid[inside], x, y)
    keep = ~np.all(np.isnan(stack), axis=0)
    stack, grid = stack[:, keep], grid[keep]
    q25, median, q75 = np.nanpercentile(stack, [25, 50, 75], axis=0)
    return grid, median, q25, q75


def _finished_episodes(run: RunEntry, x_column: str) -> tuple[np.ndarray, np.ndarray] | None:
    log = RunRecords(run.run_dir).train_log()
    needed = (x_column, "episode_return", "finished")
    if not all(k in log for k in needed) or log["finished"].size == 0:
        return None
    done = log["finished"] == 1
    x, y = log[x_column][done], log["episode_return"][done]
    if x.size == 0:
        return None
    order = np.argsort(x, kind="stable")
    return x[order], y[order]


def training_curves(runs: Sequence[RunEntry], image_format: str) -> list[Plot]:
    tasks, submissions = _tasks_and_submissions(runs)
    colours = _colours(submissions)
    plots = []
    for task in tasks:
        figure, (by_steps, by_time) = _figure(2)
        drawn = False
        for submission in submissions:
            for axis, column in ((by_steps, "global_step"), (by_time, "wall_time_s")):
                curves = [c for r in _ok_runs(runs, submission, task) if (c := _finished_episodes(r, column))]
                if not curves:
                    continue
                x, median, q25, q75 = seed_band(curves)
                label = f"{submission} ({len(curves)} seeds)"
                axis.plot(x, median, color=colours[submission], label=label, marker="." if x.size < 3 else None)
                axis.fill_between(x, q25, q75, color=colours[submission], alpha=0.25, linewidth=0)
                drawn = True
        if not drawn:
            continue
        by_steps.set(xlabel="env steps", ylabel="episode return", title="vs env steps")
        by_time.set(xlabel="wall time (s)", ylabel="episode return", title="vs wall time")
        by_steps.legend(fontsize="small")
        figure.suptitle(task)
        plots.append(
            Plot(
                f"training-{task}",
                f"Training curves: {task}",
                "median (line) and interquartile range (band) over seeds of finished training episodes' returns",
                image_format,
                _encode(figure, image_format),
            )
        )
    return plots


# --- rollouts, latency ---------------------------------------------------------------------------


def rollout_returns(runs: Sequence[RunEntry], image_format: str) -> list[Plot]:
    tasks, submissions = _tasks_and_submissions(runs)
    colours = _colours(submissions)
    panels = []
    for task in tasks:
        data = {}
        for submission in submissions:
            episodes = [RunRecords(r.run_dir).inference_episodes() for r in _ok_runs(runs, submission, task)]
            returns = [e["return"] for e in episodes if "return" in e and e["return"].size]
            if returns:
                data[submission] = np.concatenate(returns)
        if data:
            panels.append((task, data))
    if not panels:
        return []
    figure, axes = _figure(len(panels), width_per_axis=max(4.6, 1.6 * len(submissions)))
    rng = np.random.default_rng(0)
    for axis, (task, data) in zip(axes, panels, strict=True):
        names = list(data)
        boxes = axis.boxplot([data[n] for n in names], patch_artist=True, widths=0.5, showfliers=False)
        for patch, name in zip(boxes["boxes"], names, strict=True):
            patch.set(facecolor=colours[name], alpha=0.35)
        for i, name in enumerate(names, start=1):
            axis.scatter(i + rng.uniform(-0.12, 0.12, data[name].size), data[name], s=10, color=colours[name], zorder=3)
        axis.set_xticks(range(1, len(names) + 1), names, rotation=15, fontsize="small")
        axis.set(title=task, ylabel="episode return")
    return [
        Plot(
            "rollout-returns",
            "Rollout returns",
            "inference episodes' returns, every seed pooled: box (quartiles) and each episode (dot)",
            image_format,
            _encode(figure, image_format),
        )
    ]


def latency_cdf(runs: Sequence[RunEntry], image_format: str) -> list[Plot]:
    from matplotlib.ticker import NullFormatter

    tasks, submissions = _tasks_and_submissions(runs)
    colours = _colours(submissions)
    panels = []
    for task in tasks:
        data = {}
        for submission in submissions:
            arrays = [RunRecords(r.run_dir).latencies_ns() for r in _ok_runs(runs, submission, task)]
            arrays = [a for a in arrays if a.size]
            if arrays:
                data[submission] = np.sort(np.concatenate(arrays).astype(float) / 1e6)
        if data:
            panels.append((task, data))
    if not panels:
        return []
    figure, axes = _figure(len(panels))
    for axis, (task, data) in zip(axes, panels, strict=True):
        for name, ms in data.items():
            axis.step(ms, np.arange(1, ms.size + 1) / ms.size, where="post", color=colours[name], label=name)
        axis.set_xscale("log")
        axis.xaxis.set_minor_formatter(NullFormatter())
        axis.set(title=task, xlabel="infer_once latency (ms)", ylabel="fraction of calls ≤ x", ylim=(0, 1.02))
        axis.legend(fontsize="small", loc="lower right")
    return [
        Plot(
            "latency-cdf",
            "Latency CDF",
            "empirical CDF of every timed infer_once call (warm-up excluded), seeds pooled",
            image_format,
            _encode(figure, image_format),
        )
    ]


# --- memory, energy --------------------------------------------------------------------------------


def _memory_timeline(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        with path.open(newline="") as f:
            rows = [(float(r["time_s"]), float(r["rss_mib"])) for r in csv.DictReader(f)]
    except (OSError, KeyError, ValueError, TypeError):
        return None
    if not rows:
        return None
    array = np.asarray(rows)
    return array[:, 0], array[:, 1]


def memory_timelines(runs: Sequence[RunEntry], image_format: str) -> list[Plot]:
    tasks, submissions = _tasks_and_submissions(runs)
    colours = _colours(submissions)
    plots = []
    for task in tasks:
        by_phase: dict[str, list[tuple[str, np.ndarray, np.ndarray]]] = {}
        for submission in submissions:
            for run in _ok_runs(runs, submission, task):
                for path in sorted(run.run_dir.glob("memory_*.csv")):
                    if (timeline := _memory_timeline(path)) is not None:
                        phase = path.stem.removeprefix("memory_")
                        by_phase.setdefault(phase, []).append((submission, *timeline))
        if not by_phase:
            continue
        phases = sorted(by_phase, key=phase_order)
        figure, axes = _figure(len(phases), width_per_axis=3.8)
        for axis, phase in zip(axes, phases, strict=True):
            labelled = set()
            for submission, t, rss in by_phase[phase]:
                label = submission if submission not in labelled else None
                labelled.add(submission)
                axis.plot(t, rss, color=colours[submission], alpha=0.7, linewidth=1.2, label=label)
            axis.set(title=_short_phase(phase), xlabel="time in phase (s)", ylabel="RSS of the process tree (MiB)")
        axes[0].legend(fontsize="small")
        figure.suptitle(task)
        plots.append(
            Plot(
                f"memory-{task}",
                f"Memory timeline per phase: {task}",
                "RSS of the participant's whole process tree as the memory plugin polled it, one line per seed",
                image_format,
                _encode(figure, image_format),
            )
        )
    return plots


def _metric_by_phase(run: RunEntry, name: str) -> dict[str, float]:
    return {
        v["phase"]: number
        for v in run.metrics
        if v["name"] == name and v.get("phase") and (number := numeric_value(v)) is not None
    }


def energy_per_phase(runs: Sequence[RunEntry], image_format: str) -> list[Plot]:
    tasks, submissions = _tasks_and_submissions(runs)
    colours = _colours(submissions)
    panels = []
    for task in tasks:
        data: dict[str, dict[str, list[float]]] = {}
        for submission in submissions:
            for run in _ok_runs(runs, submission, task):
                for phase, kwh in _metric_by_phase(run, "energy.total").items():
                    data.setdefault(submission, {}).setdefault(phase, []).append(kwh)
        if data:
            panels.append((task, data))
    if not panels:
        return []
    figure, axes = _figure(len(panels))
    for axis, (task, data) in zip(axes, panels, strict=True):
        phases = sorted({p for d in data.values() for p in d}, key=phase_order)
        width = 0.8 / len(data)
        for k, (submission, by_phase) in enumerate(data.items()):
            x = np.arange(len(phases)) + (k - (len(data) - 1) / 2) * width
            means = [float(np.mean(by_phase.get(p, [np.nan]))) for p in phases]
            spread = [float(np.std(by_phase[p], ddof=1)) if len(by_phase.get(p, [])) > 1 else 0.0 for p in phases]
            axis.bar(x, means, width, yerr=spread, color=colours[submission], label=submission, capsize=3)
        axis.set_xticks(range(len(phases)), [_short_phase(p) for p in phases], fontsize="small", rotation=10)
        axis.set(title=task, ylabel="energy.total (kWh)")
        axis.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
        axis.legend(fontsize="small")
    return [
        Plot(
            "energy-per-phase",
            "Energy per phase",
            "energy.total of each phase: mean over seeds (bar) and standard deviation (whisker)",
            image_format,
            _encode(figure, image_format),
        )
    ]


# --- generalization, performance profile -------------------------------------------------------------


def generalization(runs: Sequence[RunEntry], image_format: str) -> list[Plot]:
    tasks, submissions = _tasks_and_submissions(runs)
    colours = _colours(submissions)
    panels = []
    for task in tasks:
        data: dict[str, dict[str, list[float]]] = {}
        for submission in submissions:
            for run in _ok_runs(runs, submission, task):
                episodes = RunRecords(run.run_dir).generalization_episodes()
                if "task" not in episodes or episodes["task"].size == 0:
                    continue
                for target in dict.fromkeys(episodes["task"].astype(str)):
                    mean = float(np.mean(episodes["return"][episodes["task"].astype(str) == target]))
                    data.setdefault(submission, {}).setdefault(target, []).append(mean)
        if data:
            panels.append((task, data))
    if not panels:
        return []
    figure, axes = _figure(len(panels))
    for axis, (task, data) in zip(axes, panels, strict=True):
        targets = sorted({t for d in data.values() for t in d})
        width = 0.8 / len(data)
        for k, (submission, by_target) in enumerate(data.items()):
            centres = np.arange(len(targets)) + (k - (len(data) - 1) / 2) * width
            for centre, target in zip(centres, targets, strict=True):
                seeds = by_target.get(target)
                if not seeds:
                    continue
                spread = float(np.std(seeds, ddof=1)) if len(seeds) > 1 else 0.0
                axis.bar(centre, np.mean(seeds), width, yerr=spread, color=colours[submission], alpha=0.6, capsize=3)
                axis.scatter([centre] * len(seeds), seeds, color=colours[submission], s=12, zorder=3)
            axis.bar([], [], color=colours[submission], alpha=0.6, label=submission)
        axis.set_xticks(range(len(targets)), targets, fontsize="x-small", rotation=10)
        axis.set(title=f"trained on {task}", ylabel="mean episode return")
        axis.legend(fontsize="small")
    return [
        Plot(
            "generalization",
            "Generalization per task",
            "each generalization task's mean return: mean over seeds (bar), standard deviation (whisker), "
            "each seed (dot)",
            image_format,
            _encode(figure, image_format),
        )
    ]


#: the per-run application score of the performance profile
PROFILE_SCORE = "reliability.returns.mean"


def normalized_scores(runs: Sequence[RunEntry]) -> dict[str, list[float]]:
    """Each submission's per-run score, min–max normalised within its task over every report's run
    (so tasks with different return scales share one axis: 0 is the task's worst run, 1 its best)."""
    raw = [
        (r.submission, r.task, number)
        for r in runs
        if r.ok
        for v in r.metrics
        if v["name"] == PROFILE_SCORE and v.get("phase") == "inference" and (number := numeric_value(v)) is not None
    ]
    bounds: dict[str, tuple[float, float]] = {}
    for _, task, score in raw:
        low, high = bounds.get(task, (score, score))
        bounds[task] = (min(low, score), max(high, score))
    scores: dict[str, list[float]] = {}
    for submission, task, score in raw:
        low, high = bounds[task]
        scores.setdefault(submission, []).append((score - low) / (high - low) if high > low else 1.0)
    return scores


def performance_profile(runs: Sequence[RunEntry], image_format: str) -> list[Plot]:
    scores = normalized_scores(runs)
    if not scores:
        return []
    colours = _colours(sorted(scores))
    figure, (axis,) = _figure(1, width_per_axis=5.5)
    taus = np.linspace(0, 1, 201)
    for submission in sorted(scores):
        values = np.asarray(scores[submission])
        axis.plot(taus, [(values > tau).mean() for tau in taus], color=colours[submission], label=submission)
    axis.set(xlabel="normalised score τ", ylabel="fraction of runs with score > τ", ylim=(-0.02, 1.02))
    axis.legend(fontsize="small")
    return [
        Plot(
            "performance-profile",
            "Performance profile",
            f"fraction of runs (every task) whose {PROFILE_SCORE} exceeds τ, scores min–max normalised per task over "
            "the runs of this report (rliable's score distribution)",
            image_format,
            _encode(figure, image_format),
        )
    ]


#: every figure of a report, in the order shown
FIGURES: tuple[tuple[str, Callable[[Sequence[RunEntry], str], list[Plot]]], ...] = (
    ("Training curves", training_curves),
    ("Rollout returns", rollout_returns),
    ("Latency CDF", latency_cdf),
    ("Memory timeline per phase", memory_timelines),
    ("Energy per phase", energy_per_phase),
    ("Generalization per task", generalization),
    ("Performance profile", performance_profile),
)

PICTURE_DOMAINS = {
    "circuit_training": (
        "Circuit placement picture",
        "runs do not record the final placement; the circuit-training plugin draws one from a netlist and a .plc "
        "file (a2perf circuit render), so none is drawn here",
    ),
    "quadruped_locomotion": (
        "Quadruped frame",
        "runs record no robot states or frames, and the quadruped plugin renders only a live environment, so none "
        "is drawn here",
    ),
}


def draw_figures(runs: Sequence[RunEntry], image_format: str) -> tuple[list[Plot], list[Unavailable]]:
    """Every figure whose data exists, and the ones left out with why."""
    plots: list[Plot] = []
    missing: list[Unavailable] = []
    for title, draw in FIGURES:
        drawn = draw(runs, image_format)
        plots.extend(drawn)
        if not drawn:
            missing.append(Unavailable(title, "no completed run recorded its data"))
    for domain in sorted({_domain_of(r.task) for r in runs} & set(PICTURE_DOMAINS)):
        missing.append(Unavailable(*PICTURE_DOMAINS[domain]))
    return plots, missing


def _domain_of(task: str) -> str | None:
    from a2perf_core.envs import tasks

    try:
        return tasks()[task].domain
    except Exception:
        return None
