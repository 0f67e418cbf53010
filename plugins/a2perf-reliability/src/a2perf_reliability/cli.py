"""``a2perf compare A B ...``: submissions compared on every metric, from the results database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from a2perf_core.api import results_root_option

#: tables of the text output, in A2Perf's order
GROUP_TITLES = {"application": "Application", "reliability": "Reliability", "system": "System"}


def resolve_submissions(arguments: tuple[str, ...], root: Path) -> dict[str, list[Any]]:
    """Each argument's runs, by submission label: a label (or bare name) in the database at ``root``,
    or a folder of runs, read from its ``run.json``/``metrics.json`` files."""
    from a2perf_core.results.store import ResultsError, load_runs, open_database, runs_of_folder

    chosen: dict[str, list[Any]] = {}
    for argument in arguments:
        folder = Path(argument)
        if folder.is_dir():
            runs = runs_of_folder(folder)
            if not runs:
                raise ResultsError(f"{argument}: no run folders (run.json) at or below it")
            labels = sorted({r.submission for r in runs})
            if len(labels) > 1:
                raise ResultsError(
                    f"{argument} holds runs of {len(labels)} submissions ({', '.join(labels)}); "
                    f"index it (a2perf results index {argument}) and name them by label with --results-root {argument}"
                )
        else:
            with open_database(root) as db:
                runs = load_runs(root, submission=argument, db=db)
                if not runs:
                    known = [s for (s,) in db.execute("SELECT DISTINCT submission FROM runs ORDER BY submission")]
                    raise ResultsError(
                        f"unknown submission {argument!r} in {root}; known: {', '.join(known) or 'none'} "
                        "(or give a folder of runs)"
                    )
            labels = sorted({r.submission for r in runs})
            if len(labels) > 1:
                raise ResultsError(f"{argument!r} names {len(labels)} versions ({', '.join(labels)}); give the label")
        if labels[0] in chosen:
            raise ResultsError(f"{argument!r} is {labels[0]}, which is already being compared")
        chosen[labels[0]] = runs
    if len(chosen) < 2:
        raise ResultsError("compare needs at least two submissions: a2perf compare A B [C ...]")
    return chosen


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _cell_text(cell: dict[str, Any]) -> str:
    if cell["status"] != "ok":
        return f"{cell['status']} ({cell['reason'].split(' (')[0]})"
    std = "" if cell["std"] is None else f" ± {cell['std']:.2g}"
    low, high = cell["iqm_ci"]
    return f"{_number(cell['mean'])}{std}; IQM {_number(cell['iqm'])} [{_number(low)}, {_number(high)}]"


def _pair_text(pair: dict[str, Any]) -> str:
    low, high = pair["probability_ci"]
    mark = " *" if pair.get("significant") else ""
    return f"{pair['probability_of_improvement']:.2f} [{low:.2f}, {high:.2f}], p {pair['p_adjusted']:.3g}{mark}"


def print_comparison(result: dict[str, Any]) -> None:
    """Per task and over tasks, one table per metric group; comparability warnings first."""
    from a2perf_core.cli import print_table

    for warning in result["comparability"]:
        where = f" on {warning['task']}" if warning["task"] else ""
        listing = "; ".join(
            f"{v['value']!r} ({', '.join(f'{s}: {n} runs' for s, n in v['runs'].items())})" for v in warning["values"]
        )
        click.secho(f"warning: not comparable: {warning['fact']} differs{where}: {listing}", fg="yellow", err=True)
    for warning in result["warnings"]:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    subs = list(result["submissions"])
    pairs = [f"P({a} better than {b}); p adj." for i, a in enumerate(subs) for b in subs[i + 1 :]]
    for task, entry in result["tasks"].items():
        for group, title in GROUP_TITLES.items():
            rows = [m for m in entry["metrics"] if m["group"] == group]
            if not rows:
                continue
            print_table(
                f"{task}: {title} (mean ± std over seeds; IQM [CI])",
                ["metric", "phase", "unit", "better", *subs, *pairs],
                (
                    (
                        m["name"],
                        m["phase"],
                        m["unit"],
                        m["direction"],
                        *(_cell_text(m["submissions"][s]) if s in m["submissions"] else "not run" for s in subs),
                        *_pair_cells(m["pairs"], subs),
                    )
                    for m in rows
                ),
            )
        if entry.get("across_runs"):
            versus = [f"{a} vs {b}: p adj." for i, a in enumerate(subs) for b in subs[i + 1 :]]
            print_table(
                f"{task}: reliability across runs (one value per submission, from all its seeds)",
                ["metric", "better", *subs, *versus],
                (
                    (
                        m["name"],
                        m["direction"],
                        *(_across_text(m["submissions"].get(s)) for s in subs),
                        *_across_pair_cells(m["pairs"], subs),
                    )
                    for m in entry["across_runs"]
                ),
            )
    aggregate = result["aggregate"]
    for group, title in GROUP_TITLES.items():
        rows = [m for m in aggregate["metrics"] if m["group"] == group]
        if rows:
            print_table(
                f"over {len(aggregate['tasks'])} tasks: {title} (mean rank [CI], 1 is best)",
                ["metric", "phase", "better", *subs, *pairs],
                (
                    (
                        m["name"],
                        m["phase"],
                        m["direction"],
                        *(_rank_text(m["submissions"][s]) for s in subs),
                        *_pair_cells(m["pairs"], subs),
                    )
                    for m in rows
                ),
            )
    if aggregate["left_out_tasks"]:
        click.echo(f"left out of the aggregate (not run by every submission): {', '.join(aggregate['left_out_tasks'])}")
    rules = result["rules"]
    click.echo(f"failed seeds: {rules['failed_seeds']}")
    click.echo(f"* significant after {rules['correction']}; {rules['n_resamples']} resamples, seed {rules['seed']}")


def _across_text(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return "not run"
    if cell["status"] != "ok":
        return f"{cell['status']}: {cell['reason']}"
    return _number(cell["value"])


def _across_pair_cells(pairs: list[dict[str, Any]], subs: list[str]) -> list[str]:
    found = {(p["first"], p["second"]): p for p in pairs}
    cells = []
    for i, a in enumerate(subs):
        for b in subs[i + 1 :]:
            pair = found.get((a, b))
            cells.append(f"{pair['p_adjusted']:.3g}{' *' if pair['significant'] else ''}" if pair else "")
    return cells


def _rank_text(entry: dict[str, Any]) -> str:
    low, high = entry["mean_rank_ci"]
    failed = f", {entry['n_failed']} failed runs" if entry["n_failed"] else ""
    return f"{entry['mean_rank']:.2f} [{low:.2f}, {high:.2f}]{failed}"


def _pair_cells(pairs: list[dict[str, Any]], subs: list[str]) -> list[str]:
    found = {(p["first"], p["second"]): p for p in pairs}
    return [_pair_text(found[(a, b)]) if (a, b) in found else "" for i, a in enumerate(subs) for b in subs[i + 1 :]]


@click.command("compare")
@click.argument("submissions", nargs=-1, required=True)
@results_root_option("Folder holding results.sqlite, where submission labels are looked up.")
@click.option("--task", "tasks", multiple=True, help="Only this task (repeatable).")
@click.option(
    "--metric", "metrics", multiple=True, help="Only metrics matching this glob, e.g. 'latency.*' (repeatable)."
)
@click.option(
    "--resamples", type=click.IntRange(min=1), default=1000, show_default=True, help="Bootstrap/permutation resamples."
)
@click.option("--alpha", type=float, default=0.05, show_default=True, help="Significance level (CIs are 1 - alpha).")
@click.option(
    "--correction",
    type=click.Choice(["benjamini-yekutieli", "bonferroni"]),
    default="benjamini-yekutieli",
    show_default=True,
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the resampling.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def compare_command(
    submissions: tuple[str, ...],
    root: Path,
    tasks: tuple[str, ...],
    metrics: tuple[str, ...],
    resamples: int,
    alpha: float,
    correction: str,
    seed: int,
    as_json: bool,
) -> None:
    """Compare submissions A B ... (labels as `a2perf results list` shows them, or folders of runs)
    on every metric: per task and over tasks, with CIs, probabilities of improvement and corrected tests."""
    from a2perf_core.cli import print_json
    from a2perf_reliability.compare_results import compare_results

    runs = resolve_submissions(submissions, root)
    result = compare_results(
        runs,
        tasks=tasks,
        metrics=metrics,
        n_resamples=resamples,
        alpha=alpha,
        correction=correction,  # type: ignore[arg-type]
        seed=seed,
    )
    if as_json:
        print_json(result)
    else:
        print_comparison(result)
