"""``a2perf run``, ``a2perf validate`` and ``a2perf init-submission``."""

from __future__ import annotations

import math
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import click

from a2perf_core.errors import A2PerfError
from a2perf_core.results.cli import results_root_option

PHASE_CHOICES = ("train", "inference", "generalization", "all")


def example_submission() -> Path:
    return Path(__file__).resolve().parent.parent / "examples" / "random_submission"


def parse_seeds(seeds: str) -> list[int]:
    try:
        values = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise A2PerfError(f"--seeds {seeds!r} must be a comma-separated list of integers, e.g. 0,1,2") from None
    if not values or len(set(values)) != len(values):
        raise A2PerfError(f"--seeds {seeds!r} must list distinct integers")
    return values


def parse_memory(text: str | None) -> float | None:
    """MiB from '512', '512M', '2G'; a positive size."""
    if text is None:
        return None
    units = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024**2}
    raw = text.strip().upper().removesuffix("IB").removesuffix("B")
    factor = units.get(raw[-1:], None)
    number = raw[:-1] if factor is not None else raw
    try:
        mib = float(number) * (factor or 1)
    except ValueError:
        raise A2PerfError(f"--max-memory {text!r}: give a size such as 512M or 2G") from None
    if not (mib > 0 and math.isfinite(mib)):
        raise A2PerfError(f"--max-memory {text!r}: give a positive size such as 512M or 2G")
    return mib


def check_timeout(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """``--timeout``: positive seconds."""
    if value is not None and not (value > 0 and math.isfinite(value)):
        raise A2PerfError(f"--timeout {value:g}: give a positive number of seconds")
    return value


def check_out_dir(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """``--out``: a directory that exists or can be made, and that we can write to, before anything starts."""
    if value is None:
        return None
    if value.exists() and not value.is_dir():
        raise A2PerfError(f"--out {value}: it is a file, not a directory")
    existing = next(p for p in (value, *value.parents) if p.exists())
    if not existing.is_dir():
        raise A2PerfError(f"--out {value}: {existing} is a file, so no directory can be made below it")
    if not _writable(existing):
        raise A2PerfError(f"--out {value}: {existing} is not writable")
    return value


def _writable(folder: Path) -> bool:
    """``os.access`` plus a probe file: root passes ``os.access`` on a read-only mount."""
    import os
    import tempfile

    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def build_settings(
    submission: str,
    task: str | None,
    phase: str | None,
    seed: int,
    gin_files: tuple[str, ...],
    gin_params: tuple[str, ...],
    participant_args: tuple[str, ...],
    timeout: float | None,
    max_memory: str | None,
) -> Any:
    """The command line's values, checked, resolved into a run's settings (see :mod:`a2perf_core.settings`)."""
    from a2perf_core.settings import resolve_run_settings

    check_timeout(None, None, timeout)  # type: ignore[arg-type]
    return resolve_run_settings(
        submission,
        task=task,
        phase=phase,
        seed=seed,
        gin_files=gin_files,
        gin_params=gin_params,
        participant_args=participant_args,
        timeout_s=timeout,
        max_memory_mib=parse_memory(max_memory),
    )


class PhaseProgress:
    """A one-line live status on a terminal: phase, episodes done, elapsed."""

    def __init__(self, console: Any) -> None:
        self.console = console
        self.status = console.status("starting") if console.is_terminal else None
        self._last = 0.0

    def __enter__(self) -> PhaseProgress:
        if self.status:
            self.status.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.status:
            self.status.__exit__(*exc)

    def __call__(self, label: str, elapsed: float, run_dir: Path) -> None:
        now = time.monotonic()
        if now - self._last < 0.5:
            return
        self._last = now
        episodes = _count_rows(run_dir, label)
        text = f"[bold]{label}[/]: {episodes} episodes, {elapsed:6.1f} s"
        if self.status:
            self.status.update(text)


def _count_rows(run_dir: Path, label: str) -> int:
    from a2perf_core.metrics import GENERALIZATION_EPISODES, INFERENCE_EPISODES, TRAIN_LOG

    name = {"train": TRAIN_LOG, "inference": INFERENCE_EPISODES}.get(label, GENERALIZATION_EPISODES)
    path = run_dir / name
    if not path.exists():
        return 0
    with path.open("rb") as f:
        return max(0, sum(1 for _ in f) - 1)


#: marks a value whose ``details["trustworthy"]`` is false (e.g. a p99 from too few calls)
UNTRUSTWORTHY_MARK = "~"


def print_metrics_table(values: list[Any], title: str) -> None:
    """One row per metric, one column per phase; descriptive (text) values listed below the table.

    A value whose plugin says it is not trustworthy (``details["trustworthy"] is False``) is shown
    as ``~value`` with its note below, so that it is not read as a firm number.
    """
    from a2perf_core.cli import print_table

    columns = ["train", "inference", "generalization"]
    rows: dict[str, dict[str, Any]] = {}
    notes: dict[tuple[str, str], list[str]] = {}
    doubts: dict[str, str] = {}
    several_tasks = len({v.phase for v in values if (v.phase or "").startswith("generalization-")}) > 1
    for v in values:
        phase, row = v.phase or "", v.name
        if phase.startswith("generalization-"):
            task = phase.removeprefix("generalization-")
            phase, row = "generalization", f"{v.name} [{task}]" if several_tasks else v.name
        if isinstance(v.value, str):
            notes.setdefault((v.name, v.value), []).append(phase)
            continue
        if phase not in columns:
            columns.append(phase)
        entry = rows.setdefault(row, {"unit": v.unit, "direction": v.direction})
        entry[phase] = v.value
        if (v.details or {}).get("trustworthy") is False and v.value is not None:
            entry.setdefault("doubtful", set()).add(phase)
            doubts[row] = str(v.details.get("note") or "its plugin marks it as not trustworthy")

    def show(value: Any, doubtful: bool = False) -> str:
        if value is None:
            return "n/a"
        text = f"{value:.4g}" if isinstance(value, float) else str(value)
        return UNTRUSTWORTHY_MARK + text if doubtful else text

    used = [c for c in columns if any(c in entry for entry in rows.values())]
    print_table(
        title,
        ["metric", "unit", "better", *used],
        (
            (name, e["unit"], e["direction"], *(show(e[c], c in e.get("doubtful", ())) if c in e else "" for c in used))
            for name, e in rows.items()
        ),
    )
    for (name, text), phases in notes.items():
        click.echo(f"  {name} ({', '.join(dict.fromkeys(phases))}): {text}")
    for name, note in doubts.items():
        click.echo(f"  {UNTRUSTWORTHY_MARK} {name}: not trustworthy: {note}")


def print_outcome(console: Any, outcome: Any) -> None:
    """Each phase's status and reason, and metric errors as warnings (their text is not markup)."""
    from rich.markup import escape

    from a2perf_core.runner.records import shorten

    for name, record in outcome.phases.items():
        style = "green" if record.get("status") == "ok" else "red"
        reason = f": {escape(shorten(record['reason'], 'run.json'))}" if record.get("reason") else ""
        console.print(f"  {name}: [{style}]{escape(str(record.get('status')))}[/]{reason}")
        for task, why in record.get("skipped_tasks", {}).items():
            console.print(f"    [yellow]skipped {escape(task)}[/]: {escape(why)}")
    for error in outcome.record.metric_errors if outcome.record else []:
        console.print(f"  [yellow]warning: metric failed (the run went on without it)[/]: {escape(error)}")


def index_finished_run(console: Any, run_dir: Path, results_root: Path) -> None:
    """Index a run that just ended; a failure is a warning (the run folder is intact and can be
    indexed later with ``a2perf results index``), never the end of the remaining runs."""
    from rich.markup import escape

    from a2perf_core.results.store import index_run

    try:
        index_run(run_dir, results_root)
    except Exception as exc:
        root = escape(str(results_root))
        why = escape(f"{type(exc).__name__}: {exc}")
        console.print(
            f"  [yellow]warning: not indexed into {root}[/]: {why} "
            f"(the run folder is intact; later: a2perf results index {root})"
        )


@click.command("run")
@click.argument("submission", required=False)
@click.option("--task", help="Task id (default: a task that needs no download).")
@click.option("--phase", type=click.Choice(PHASE_CHOICES), help="Phase(s) to run (default: all).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--seeds", help="Several seeds, e.g. 0,1,2: sibling run directories and a summary.json.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    callback=check_out_dir,
    help="Run directory (default: a2perf-runs/<task>-<time>).",
)
@click.option("--resume", is_flag=True, help="Skip phases already complete in --out.")
@click.option("--gin-file", multiple=True, help="Extra gin file (repeatable).")
@click.option("--gin-param", multiple=True, help="Extra gin binding, e.g. RunSettings.num_inference_episodes=3.")
@click.option("--participant-arg", multiple=True, help="k=v passed to the participant (repeatable).")
@click.option("--timeout", type=float, callback=check_timeout, help="Seconds a phase's participant process may run.")
@click.option("--max-memory", help="Memory limit of a phase's process tree, e.g. 2G.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON instead of a table.")
@click.option("--executor", "executor_name", default="local", show_default=True, help="Where the runs execute.")
@results_root_option(
    "Results root: each run is indexed into its results.sqlite as it ends (docs/results.md).", "results_root"
)
@click.option(
    "--untrusted",
    is_flag=True,
    help="Leaderboard mode: the policy runs sandboxed (bubblewrap), apart from the env and the records.",
)
@click.option(
    "--isolate",
    is_flag=True,
    help="Run the participant's phases in a cached virtual environment holding the submission's requirements.",
)
@click.option(
    "--find-links",
    multiple=True,
    help="With --isolate: a folder or page of wheels to install from, besides the pip settings' (repeatable).",
)
@click.option(
    "--offline",
    is_flag=True,
    help="The offline track: train() may make no env and learns from the declared datasets (docs/running.md).",
)
def run_command(
    submission: str | None,
    task: str | None,
    phase: str | None,
    seed: int,
    seeds: str | None,
    out: Path | None,
    resume: bool,
    gin_file: tuple[str, ...],
    gin_param: tuple[str, ...],
    participant_arg: tuple[str, ...],
    timeout: float | None,
    max_memory: str | None,
    as_json: bool,
    executor_name: str,
    results_root: Path,
    untrusted: bool,
    isolate: bool,
    find_links: tuple[str, ...],
    offline: bool,
) -> None:
    """Run SUBMISSION (default: the bundled example) on a task and record every metric."""
    import attrs
    from rich.console import Console

    from a2perf_core.cli import print_json
    from a2perf_core.offline import resolve_datasets
    from a2perf_core.runner.executor import RunRequest, execute_runs, get_executor
    from a2perf_core.runner.process import raise_interrupted_on_sigterm
    from a2perf_core.runner.submission import check_participant_args, load_submission
    from a2perf_core.runner.summary import summarize

    raise_interrupted_on_sigterm()  # CI cancels, `timeout` and batch schedulers stop a run like Ctrl-C
    executor = get_executor(executor_name)
    reference = submission or str(example_submission())
    settings = build_settings(reference, task, phase, seed, gin_file, gin_param, participant_arg, timeout, max_memory)
    if untrusted:
        settings.untrusted = True
        settings.explicit.add("untrusted")
    if isolate:
        settings.isolate = True
        settings.explicit.add("isolate")
    if offline:
        settings.offline = True
        settings.explicit.add("offline")
    if find_links:
        settings.find_links = (*settings.find_links, *find_links)
    if settings.untrusted:
        import tempfile

        from a2perf_core.runner.sandbox import check_sandbox

        with tempfile.TemporaryDirectory() as probe:
            check_sandbox(Path(probe))  # a one-line error here, before anything starts; never a fallback
    loaded = load_submission(reference)
    check_participant_args(loaded, settings.participant_args, settings.phases)
    resolve_datasets(settings, loaded.root)  # each declared dataset there, with its data cost
    for warning in settings.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    seed_list = parse_seeds(seeds) if seeds else [settings.seed]
    out = out or Path("a2perf-runs") / f"{settings.task_id}-{time.strftime('%Y%m%d-%H%M%S')}"
    console = Console(stderr=True, soft_wrap=True)
    run_dirs = [out / f"seed_{s}" if seeds else out for s in seed_list]
    requests = [RunRequest(attrs.evolve(settings, seed=s), d, resume) for s, d in zip(seed_list, run_dirs, strict=True)]
    for request in requests:
        console.print(f"[bold]a2perf run[/] {settings.task_id} seed {request.settings.seed} -> {request.run_dir}")
    outcomes = []
    with PhaseProgress(console) as progress:
        for index, outcome in enumerate(execute_runs(executor, requests, progress)):
            outcomes.append(outcome)
            if len(requests) > 1:
                console.print(f"seed {requests[index].settings.seed}:")
            print_outcome(console, outcome)
            index_finished_run(console, outcome.run_dir, results_root)
    summary = summarize([o.run_dir for o in outcomes], out) if seeds else None
    if as_json:
        print_json(
            {
                "runs": [
                    {"run_dir": str(o.run_dir), "phases": o.phases, "metrics": [v.to_json() for v in o.metrics]}
                    for o in outcomes
                ],
                "summary": summary,
            }
        )
    else:
        for o in outcomes:
            print_metrics_table(o.metrics, f"metrics: {o.run_dir}")
        if summary:
            from a2perf_core.metrics import MetricValue

            print_metrics_table([MetricValue.from_json(v) for v in summary["across_runs"]], f"across runs: {out}")
    from a2perf_core.plugins import get_plugins

    for line in get_plugins().runs_finished([o.run_dir for o in outcomes], out):  # a report, an index, ...
        click.echo(line, err=as_json)
    if not all(o.ok for o in outcomes):
        click.secho(
            "some phases failed; everything measured before the failure is in the run directory", fg="red", err=True
        )
        sys.exit(1)


@click.command("validate")
@click.argument("submission")
def validate_command(submission: str) -> None:
    """Check a submission without running it (files, functions, signatures, requirements)."""
    from a2perf_core.runner.submission import load_submission

    loaded = load_submission(submission)
    click.echo(f"{submission}: valid ({loaded.loader} submission, {len(loaded.requirements)} requirements)")


@click.command("init-submission")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--domain", help="Domain the submission targets (its default task is noted in the README).")
def init_submission_command(directory: Path, domain: str | None) -> None:
    """Write a working submission template into DIRECTORY."""
    from a2perf_core.envs import default_task, tasks

    known = tasks()
    domain_tasks = sorted(t.id for t in known.values() if t.domain == domain) if domain else []
    if domain and not domain_tasks:
        domains = sorted({t.domain for t in known.values()})
        raise A2PerfError(f"unknown domain {domain!r}; installed domains: {', '.join(domains) or 'none'}")
    if directory.exists() and any(directory.iterdir()):
        raise A2PerfError(f"{directory} exists and is not empty; choose a new directory")
    shutil.copytree(example_submission(), directory, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    task = domain_tasks[0] if domain_tasks else default_task()
    (directory / "README.md").write_text(
        f"# My submission\n\nRun it with:\n\n    a2perf run {directory} --task {task}\n\n"
        "`train.py` defines `train()`; `inference.py` defines `load_policy(env, **kw)`, "
        "`infer_once(policy, observation)` and `preprocess_observation(observation)`.\n"
    )
    click.echo(f"wrote a submission template to {directory} (try: a2perf run {directory} --task {task})")
