"""``a2perf run``, ``a2perf validate`` and ``a2perf init-submission``."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

import click

from a2perf_core.errors import A2PerfError

PHASE_CHOICES = ("train", "inference", "generalization", "all")
#: the README's main job: a task that needs no download
PREFERRED_DEFAULT_TASK = "CircuitTraining-Synthetic-v0"


def example_submission() -> Path:
    return Path(__file__).resolve().parent.parent / "examples" / "random_submission"


def default_task() -> str:
    """The preferred default task when installed, else the first task that needs no data."""
    from a2perf_core.envs import tasks

    known = tasks()
    if PREFERRED_DEFAULT_TASK in known:
        return PREFERRED_DEFAULT_TASK
    for task_id, task in sorted(known.items()):
        if not task.data:
            return task_id
    raise A2PerfError("no task is installed that needs no download; install a domain plugin (see `a2perf plugins`)")


def parse_seeds(seeds: str) -> list[int]:
    try:
        values = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise A2PerfError(f"--seeds {seeds!r} must be a comma-separated list of integers, e.g. 0,1,2") from None
    if not values or len(set(values)) != len(values):
        raise A2PerfError(f"--seeds {seeds!r} must list distinct integers")
    return values


def parse_memory(text: str | None) -> float | None:
    """MiB from '512', '512M', '2G'."""
    if text is None:
        return None
    units = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024**2}
    raw = text.strip().upper().removesuffix("IB").removesuffix("B")
    factor = units.get(raw[-1:], None)
    number = raw[:-1] if factor is not None else raw
    try:
        return float(number) * (factor or 1)
    except ValueError:
        raise A2PerfError(f"--max-memory {text!r}: give a size such as 512M or 2G") from None


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
    """Command line, then the task's and the user's gin files, then plugins (compat), then explicit flags."""
    from a2perf_core.envs import get_task
    from a2perf_core.plugins import get_plugins
    from a2perf_core.settings import RunSettings, apply_gin, clear_gin, parse_participant_arg
    from a2perf_core.specs import PHASES

    clear_gin()
    settings = RunSettings(task_id=task or "", submission=submission, seed=seed)
    if task:
        settings.explicit.add("task_id")
    if phase:
        settings.explicit.add("phases")
        settings.phases = PHASES if phase == "all" else (phase,)
    files = list(gin_files)
    if task:
        task_spec = get_task(task)
        files = [task_spec.gin_files[p] for p in PHASES if p in task_spec.gin_files] + files
    apply_gin(settings, files, list(gin_params))
    get_plugins().pm.hook.a2perf_configure_run(settings=settings)
    if not settings.task_id:
        settings.task_id = default_task()
        task_spec = get_task(settings.task_id)
        domain_files = [task_spec.gin_files[p] for p in PHASES if p in task_spec.gin_files]
        if domain_files:  # the domain's defaults first, the user's files and bindings still win
            apply_gin(settings, domain_files + list(gin_files), list(gin_params))
            get_plugins().pm.hook.a2perf_configure_run(settings=settings)
    get_task(settings.task_id)
    for item in participant_args:
        key, value = parse_participant_arg(item)
        settings.participant_args[key] = value
    if timeout is not None:
        settings.timeout_s = timeout
    if max_memory is not None:
        settings.max_memory_mib = parse_memory(max_memory)
    return settings


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
    name = {"train": "train_log.csv", "inference": "inference_episodes.csv"}.get(label, "generalization_episodes.csv")
    path = run_dir / name
    if not path.exists():
        return 0
    with path.open("rb") as f:
        return max(0, sum(1 for _ in f) - 1)


def print_metrics_table(values: list[Any], title: str) -> None:
    """One row per metric, one column per phase; descriptive (text) values listed below the table."""
    from a2perf_core.cli import print_table

    columns = ["train", "inference", "generalization"]
    rows: dict[str, dict[str, Any]] = {}
    notes: dict[tuple[str, str], list[str]] = {}
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

    def show(value: Any) -> str:
        if value is None:
            return "n/a"
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    used = [c for c in columns if any(c in entry for entry in rows.values())]
    print_table(
        title,
        ["metric", "unit", "better", *used],
        ((name, e["unit"], e["direction"], *(show(e[c]) if c in e else "" for c in used)) for name, e in rows.items()),
    )
    for (name, text), phases in notes.items():
        click.echo(f"  {name} ({', '.join(dict.fromkeys(phases))}): {text}")


@click.command("run")
@click.argument("submission", required=False)
@click.option("--task", help="Task id (default: a task that needs no download).")
@click.option("--phase", type=click.Choice(PHASE_CHOICES), help="Phase(s) to run (default: all).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--seeds", help="Several seeds, e.g. 0,1,2: sibling run directories and a summary.json.")
@click.option("--out", type=click.Path(path_type=Path), help="Run directory (default: a2perf-runs/<task>-<time>).")
@click.option("--resume", is_flag=True, help="Skip phases already complete in --out.")
@click.option("--gin-file", multiple=True, help="Extra gin file (repeatable).")
@click.option("--gin-param", multiple=True, help="Extra gin binding, e.g. RunSettings.num_inference_episodes=3.")
@click.option("--participant-arg", multiple=True, help="k=v passed to the participant (repeatable).")
@click.option("--timeout", type=float, help="Seconds a phase's participant process may run.")
@click.option("--max-memory", help="Memory limit of a phase's process tree, e.g. 2G.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON instead of a table.")
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
) -> None:
    """Run SUBMISSION (default: the bundled example) on a task and record every metric."""
    from rich.console import Console

    from a2perf_core.cli import print_json
    from a2perf_core.runner.process import raise_interrupted_on_sigterm
    from a2perf_core.runner.run import Run
    from a2perf_core.runner.summary import summarize

    raise_interrupted_on_sigterm()  # CI cancels, `timeout` and batch schedulers stop a run like Ctrl-C
    reference = submission or str(example_submission())
    settings = build_settings(reference, task, phase, seed, gin_file, gin_param, participant_arg, timeout, max_memory)
    for warning in settings.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    seed_list = parse_seeds(seeds) if seeds else [settings.seed]
    out = out or Path("a2perf-runs") / f"{settings.task_id}-{time.strftime('%Y%m%d-%H%M%S')}"
    console = Console(stderr=True, soft_wrap=True)
    outcomes = []
    with PhaseProgress(console) as progress:
        for s in seed_list:
            settings.seed = s
            run_dir = out / f"seed_{s}" if seeds else out
            console.print(f"[bold]a2perf run[/] {settings.task_id} seed {s} -> {run_dir}")
            outcome = Run(settings, run_dir, resume=resume, progress=progress).execute()
            outcomes.append(outcome)
            for name, record in outcome.phases.items():
                style = "green" if record.get("status") == "ok" else "red"
                reason = f": {record['reason']}" if record.get("reason") else ""
                console.print(f"  {name}: [{style}]{record.get('status')}[/]{reason}")
                for task, why in record.get("skipped_tasks", {}).items():
                    console.print(f"    [yellow]skipped {task}[/]: {why}")
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
    from a2perf_core.envs import tasks

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
