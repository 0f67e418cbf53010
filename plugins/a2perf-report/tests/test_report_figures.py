"""Figures: the seed band is the median and IQR across seeds, missing data gives no figure (listed as
not available), and every figure drawn is a real image."""

from __future__ import annotations

import io

import numpy as np
import pytest
from a2perf_report.plots import draw_figures, normalized_scores, seed_band
from a2perf_report.runs import load_runs


def test_the_seed_band_is_the_median_and_quartiles_of_the_seeds_on_their_common_range():
    x = np.array([0.0, 10.0, 20.0])
    curves = [(x, np.array([0.0, 1.0, 2.0])), (x, np.array([2.0, 3.0, 4.0])), (x, np.array([4.0, 8.0, 6.0]))]
    grid, median, q25, q75 = seed_band(curves, points=3)
    assert grid.tolist() == [0.0, 10.0, 20.0]
    assert median.tolist() == [2.0, 3.0, 4.0]
    assert q25.tolist() == [1.0, 2.0, 3.0]  # numpy's linear percentile of three values: halfway to the median
    assert q75.tolist() == [3.0, 5.5, 5.0]


def test_a_shorter_seed_does_not_stretch_its_last_value():
    long = (np.array([0.0, 100.0]), np.array([0.0, 100.0]))
    short = (np.array([0.0, 50.0]), np.array([10.0, 10.0]))
    grid, median, _, _ = seed_band([long, short], points=3)
    assert grid.tolist() == [0.0, 50.0, 100.0]
    assert median.tolist() == [5.0, 30.0, 100.0]  # at 100 only the long seed has a value


def test_scores_are_normalised_within_each_task(tmp_path, written_run, metric_value):
    dirs = []
    for task, scores in {"A-v0": {"p": 1.0, "q": 3.0}, "B-v0": {"p": 200.0, "q": 100.0}}.items():
        for submission, score in scores.items():
            values = [metric_value("reliability.returns.mean", score, "", "higher")]
            dirs.append(
                written_run(tmp_path / task / submission, submission=submission, task=task, seed=0, metrics=values)
            )
    assert normalized_scores(load_runs(dirs)) == {"p": [0.0, 1.0], "q": [1.0, 0.0]}


def test_runs_without_records_give_no_figures_and_say_so(tmp_path, written_run, metric_value):
    run = written_run(tmp_path / "r", submission="p", task="A-v0", seed=0, metrics=[metric_value("x", 1.0)])
    plots, missing = draw_figures(load_runs([run]), "png")
    assert plots == []
    assert [m.title for m in missing] == [
        "Training curves",
        "Rollout returns",
        "Latency CDF",
        "Memory timeline per phase",
        "Energy per phase",
        "Generalization per task",
        "Performance profile",
    ]


def test_a_failed_run_is_not_drawn(tmp_path, written_run, metric_value):
    values = [metric_value("reliability.returns.mean", 1.0, "", "higher")]
    run = written_run(
        tmp_path / "r", submission="p", task="A-v0", seed=0, metrics=values, returns=[1.0, 2.0], failed_phase="train"
    )
    plots, _ = draw_figures(load_runs([run]), "png")
    assert plots == []


@pytest.mark.parametrize("image_format", ["png", "svg"])
def test_every_figure_drawn_is_an_image(tmp_path, written_run, metric_value, image_format):
    dirs = [
        written_run(
            tmp_path / s / str(seed),
            submission=s,
            task="A-v0",
            seed=seed,
            metrics=[metric_value("reliability.returns.mean", 1.0 + seed, "", "higher")],
            returns=[seed, 1.0 + seed, 0.5],
            latencies_ns=[1000 * (seed + 1), 2000, 3000],
        )
        for s in ("p", "q")
        for seed in range(3)
    ]
    plots, _ = draw_figures(load_runs(dirs), image_format)
    assert [p.name for p in plots] == ["training-A-v0", "rollout-returns", "latency-cdf", "performance-profile"]
    for plot in plots:
        if image_format == "png":
            from matplotlib.image import imread

            assert imread(io.BytesIO(plot.data), format="png").shape[0] > 100
        else:
            assert plot.data.startswith(b"<?xml") and b"<svg" in plot.data
