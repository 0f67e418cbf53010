"""``a2perf sweep``: submissions x tasks x seeds, each an ordinary run folder (docs/scaling.md)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import click

from a2perf_core.cli import executor_options, make_executor
from a2perf_core.results.cli import results_root_option
from a2perf_core.runner.cli import PHASE_CHOICES, check_out_dir

#: where sweep folders go when ``--out`` is not given
DEFAULT_SWEEPS = Path("a2perf-runs")


def default_sweep_dir(spec_file: Path | None, spec_json: dict[str, Any]) -> Path:
    """``a2perf-runs/sweep-<spec file's name>``, or ``sweep-<hash of the flags' grid>``: the same spec
    again finds its folder, so running it again resumes it."""
    if spec_file is not None:
        return DEFAULT_SWEEPS / f"sweep-{spec_file.stem}"
    digest = hashlib.sha256(json.dumps(spec_json, sort_keys=True).encode()).hexdigest()[:8]
    return DEFAULT_SWEEPS / f"sweep-{digest}"


def parse_seed_list(text: str) -> list[int]:
    """``0,1,2`` or a range ``0-4`` (inclusive), or both: ``0-2,10``."""
    from a2perf_core.errors import A2PerfError

    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        low, dash, high = part.partition("-")
        try:
            seeds.extend(range(int(low), int(high) + 1) if dash and low else [int(part)])
        except ValueError:
            raise A2PerfError(f"--seeds {text!r}: give integers and ranges, e.g. 0,1,2 or 0-4") from None
    return seeds


@click.command("sweep")
@click.argument("spec_file", metavar="SPEC", required=False, type=click.Path(path_type=Path))
@click.option("--submission", "submissions", multiple=True, help="Submission (repeatable; replaces the spec's).")
@click.option("--task", "tasks", multiple=True, help="Task id (repeatable; replaces the spec's).")
@click.option("--seeds", help="Seeds, e.g. 0,1,2 or 0-4 (replaces the spec's).")
@click.option("--phase", type=click.Choice(PHASE_CHOICES), help="Phase(s) of every run (default: all).")
@click.option("--gin-param", multiple=True, help="Gin binding of every run (repeatable; replaces the spec's).")
@click.option("--participant-arg", multiple=True, help="k=v for every run (repeatable; replaces the spec's).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    callback=check_out_dir,
    help="Sweep folder (default: a2perf-runs/sweep-<spec name>); the same folder again resumes the sweep.",
)
@executor_options("runs")
@click.option("--jobs", type=int, help="Runs at once (local: worker processes; default 1, clean system metrics).")
@click.option("--retries", type=int, default=1, show_default=True, help="Tries of a failed cell after its first.")
@results_root_option("Results root: each run is indexed into its results.sqlite as it ends.", "results_root")
def sweep_command(
    spec_file: Path | None,
    submissions: tuple[str, ...],
    tasks: tuple[str, ...],
    seeds: str | None,
    phase: str | None,
    gin_param: tuple[str, ...],
    participant_arg: tuple[str, ...],
    out: Path | None,
    executor_name: str,
    address: str | None,
    results_uri: str | None,
    jobs: int | None,
    retries: int,
    results_root: Path,
) -> None:
    """Run every submission (default: the bundled example) on every task with every seed (SPEC: a TOML
    file; flags replace its keys)."""
    from a2perf_core.errors import A2PerfError
    from a2perf_core.runner.process import raise_interrupted_on_sigterm
    from a2perf_core.sweep.execute import run_sweep
    from a2perf_core.sweep.spec import make_spec, read_spec_file

    raise_interrupted_on_sigterm()
    values: dict[str, Any] = read_spec_file(spec_file) if spec_file else {}
    flags = {
        "submissions": list(submissions),
        "tasks": list(tasks),
        "seeds": parse_seed_list(seeds) if seeds else None,
        "phase": phase,
        "gin_params": list(gin_param),
        "participant_args": list(participant_arg),
    }
    values.update({key: value for key, value in flags.items() if value})
    if not values.get("submissions"):
        from a2perf_core.runner.cli import example_submission

        values["submissions"] = [str(example_submission())]
    spec = make_spec(values, f"sweep spec {spec_file}" if spec_file else "sweep")
    if jobs is not None and jobs < 1:
        raise A2PerfError(f"--jobs {jobs}: give 1 or more")
    executor = make_executor(executor_name, jobs=jobs, address=address, results_uri=results_uri)
    sweep_dir = out or default_sweep_dir(spec_file, spec.to_json())
    result = run_sweep(spec, sweep_dir, executor, retries=retries, results_root=results_root)
    if not result.ok:
        sys.exit(1)
