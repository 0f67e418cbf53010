"""The ``a2perf`` command line: listing what is installed, data, and (from the runner) runs.

Plugin subcommands are added lazily, the first time a command is looked up, so ``a2perf --help``
stays fast. A user mistake (:class:`~a2perf_core.errors.A2PerfError`) prints one line, no traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import click

from a2perf_core import __version__
from a2perf_core.errors import A2PerfError

if TYPE_CHECKING:
    from a2perf_core.protocols import Executor

#: core subcommands: name -> "module:attribute", imported on use
CORE_COMMANDS = {
    "plugins": "a2perf_core.cli:plugins_command",
    "tasks": "a2perf_core.cli:tasks_command",
    "metrics": "a2perf_core.cli:metrics_command",
    "data": "a2perf_core.cli:data_group",
    "results": "a2perf_core.results.cli:results_group",
    "run": "a2perf_core.runner.cli:run_command",
    "sweep": "a2perf_core.sweep.cli:sweep_command",
    "validate": "a2perf_core.runner.cli:validate_command",
    "init-submission": "a2perf_core.runner.cli:init_submission_command",
}


class A2PerfGroup(click.Group):
    """Core commands imported on use; plugin commands added on first lookup, again when the plugin
    set changes (tests). The core's names are reserved: a plugin cannot replace them."""

    _plugin_source: object | None = None
    _plugin_commands: frozenset[str] = frozenset()

    def _add_plugin_commands(self) -> None:
        from a2perf_core.plugins import get_plugins

        try:
            plugins = get_plugins()
        except A2PerfError as exc:  # the core's own commands stay usable
            click.secho(f"warning: plugin commands unavailable: {exc}", fg="yellow", err=True)
            return
        if plugins is self._plugin_source:
            return
        for name in self._plugin_commands:
            self.commands.pop(name, None)
        self._plugin_source = plugins
        before = set(self.commands)
        try:
            refused = plugins.add_commands(self, reserved=CORE_COMMANDS)
        except A2PerfError as exc:
            click.secho(f"warning: plugin commands unavailable: {exc}", fg="yellow", err=True)
            refused = []
        self._plugin_commands = frozenset(set(self.commands) - before)
        for message in refused:
            click.secho(f"warning: {message}", fg="yellow", err=True)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands()
        return sorted(set(CORE_COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in CORE_COMMANDS:
            if name not in self.commands:
                from a2perf_core.specs import load_object

                self.add_command(load_object(CORE_COMMANDS[name]), name)  # type: ignore[arg-type]
            return self.commands[name]
        self._add_plugin_commands()
        return self.commands.get(name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except A2PerfError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=A2PerfGroup, invoke_without_command=False)
@click.version_option(__version__, prog_name="a2perf")
def main() -> None:
    """Benchmark autonomous agents on real-world tasks (A2Perf, plugin edition)."""


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A readable table on stdout."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    Console(soft_wrap=False, width=max(120, _terminal_width())).print(table)


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((120, 24)).columns


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def executor_options(what: str, run_folders: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--executor`` and ``--address`` of a command whose ``what`` (e.g. "runs") execute where an executor
    places them, and ``--results-uri`` when they write run folders (``run_folders``); :func:`make_executor`
    turns them into the executor."""
    options = [
        click.option(
            "--executor", "executor_name", default="local", show_default=True, help=f"Where the {what} execute."
        ),
        click.option("--address", help="Cluster to join (ray: e.g. ray://head:10001; default: a local instance)."),
    ]
    if run_folders:
        options.append(
            click.option("--results-uri", help="Shared storage every node writes run folders to (ray; a mounted path).")
        )

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def make_executor(executor_name: str, **options: Any) -> Executor:
    """The executor ``executor_name`` created with the options given on the command line (None: not given,
    its factory's default)."""
    from a2perf_core.runner.executor import get_executor

    return get_executor(executor_name, **{key: value for key, value in options.items() if value is not None})


def show_rows(
    rows: list[dict[str, Any]],
    as_json: bool,
    title: str,
    columns: Sequence[str],
    cells: Callable[[dict[str, Any]], Sequence[Any]],
) -> None:
    """Rows as JSON for machines, or as a table of ``cells(row)`` for people."""
    if as_json:
        print_json(rows)
    else:
        print_table(title, columns, (cells(r) for r in rows))


@click.command("plugins")
@json_option
def plugins_command(as_json: bool) -> None:
    """List loaded plugins: distribution, version, hooks, what each registered."""
    from a2perf_core.plugins import get_plugins

    show_rows(
        get_plugins().plugin_table(),
        as_json,
        "a2perf plugins",
        ["plugin", "distribution", "version", "hooks", "registered"],
        lambda r: (
            r["name"],
            r["distribution"],
            r["version"],
            ", ".join(h.removeprefix("a2perf_") for h in r["hooks"]),
            "; ".join(f"{k}: {', '.join(v)}" for k, v in r["registered"].items()),
        ),
    )


@click.command("tasks")
@click.option("--domain", help="Only tasks of this domain.")
@json_option
def tasks_command(domain: str | None, as_json: bool) -> None:
    """List registered tasks, the data each needs, and whether it is present."""
    from a2perf_core.data import locate
    from a2perf_core.plugins import registered

    assets = registered("data_assets")
    rows = []
    for task_id, reg in sorted(registered("tasks").items()):
        task = reg.spec
        if domain and task.domain != domain:
            continue
        missing = [name for name in task.data if name not in assets or locate(assets[name].spec) is None]
        rows.append(
            {
                "id": task_id,
                "domain": task.domain,
                "description": task.description,
                "data": list(task.data),
                "data_present": not missing,
                "missing_data": missing,
                "generalization": task.generalization,
                "distribution": reg.plugin.distribution,
            }
        )
    if domain and not rows:
        domains = sorted({r.spec.domain for r in registered("tasks").values()})
        raise A2PerfError(f"no tasks in domain {domain!r}; installed domains: {', '.join(domains) or 'none'}")
    show_rows(
        rows,
        as_json,
        "a2perf tasks",
        ["id", "domain", "description", "data"],
        lambda r: (r["id"], r["domain"], r["description"], _data_state(r)),
    )


def _data_state(row: dict[str, Any]) -> str:
    if not row["data"]:
        return "none needed"
    return "present" if row["data_present"] else "missing: " + ", ".join(row["missing_data"])


@click.command("metrics")
@json_option
def metrics_command(as_json: bool) -> None:
    """List registered metric sources with unit and direction."""
    from a2perf_core.plugins import registered

    rows = [
        {
            "name": name,
            "unit": reg.spec.unit,
            "direction": reg.spec.direction,
            "description": reg.spec.description,
            "distribution": reg.plugin.distribution,
        }
        for name, reg in sorted(registered("metrics").items())
    ]
    show_rows(
        rows,
        as_json,
        "a2perf metrics",
        ["name", "unit", "better", "description", "distribution"],
        lambda r: (r["name"], r["unit"], r["direction"], r["description"], r["distribution"]),
    )


@click.group("data")
def data_group() -> None:
    """Public data the installed plugins need, and offline datasets collected from policies."""


@data_group.command("list")
@json_option
def data_list(as_json: bool) -> None:
    """Show each data asset and where it was found."""
    from a2perf_core.data import locate
    from a2perf_core.plugins import registered

    rows = []
    for name, reg in sorted(registered("data_assets").items()):
        found = locate(reg.spec)
        rows.append(
            {
                "name": name,
                "path": reg.spec.path,
                "found": str(found) if found else None,
                "url": reg.spec.url,
                "package": reg.spec.package,
                "license": reg.spec.license,
                "distribution": reg.plugin.distribution,
            }
        )
    show_rows(
        rows,
        as_json,
        "a2perf data",
        ["name", "found at", "license"],
        lambda r: (r["name"], r["found"] or f"missing (a2perf data fetch {r['name']})", r["license"]),
    )


@data_group.command("fetch")
@click.argument("names", nargs=-1)
@click.option("--all", "fetch_all", is_flag=True, help="Fetch every registered asset.")
@click.option("--force", is_flag=True, help="Download even if a copy exists.")
def data_fetch(names: tuple[str, ...], fetch_all: bool, force: bool) -> None:
    """Download data assets into the cache (checksum verified, written atomically)."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    from a2perf_core.data import fetch, get_asset
    from a2perf_core.plugins import registered

    if not names and not fetch_all:
        raise A2PerfError("name the assets to fetch, or pass --all (see `a2perf data list`)")
    chosen = list(registered("data_assets")) if fetch_all else list(names)
    assets = [get_asset(n) for n in chosen]
    failures = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        transient=not sys.stderr.isatty(),
        console=None,
    ) as progress:
        for asset in assets:
            bar = progress.add_task(asset.name, total=asset.size)

            def advance(done: int, total: int | None, bar: Any = bar) -> None:
                progress.update(bar, completed=done, total=total)

            try:
                path = fetch(asset, force=force, progress=advance)
                progress.console.print(f"{asset.name}: {path}")
            except A2PerfError as exc:
                failures.append(f"{asset.name}: {exc}")
            except OSError as exc:
                failures.append(f"{asset.name}: download from {asset.url or asset.package} failed: {exc}")
    if failures:
        raise A2PerfError("some assets could not be fetched:\n  " + "\n  ".join(failures))


def _is_run_folder(value: str) -> bool:
    from pathlib import Path

    return (Path(value) / "run.json").is_file()


def _trained_submission(runs: Sequence[str]) -> str:
    """The one submission the runs trained, as their ``run.json`` names it."""
    from pathlib import Path

    references = {json.loads((Path(r) / "run.json").read_text())["submission"]["reference"] for r in runs}
    if len(references) != 1:
        raise A2PerfError(f"the runs trained different submissions ({', '.join(sorted(references))}): give one")
    return references.pop()


def _assign_skills(
    runs: Sequence[str],
    task_id: str | None,
    episodes: int | None,
    executor: Executor,
    energy: bool,
    seed: int = 0,
    policy: str | None = None,
) -> Any:
    """Levels of ``runs`` by their recorded inference returns, or (``episodes``) a fresh evaluation."""
    from a2perf_core.skills import assign_recorded, evaluate

    if episodes is None:
        return assign_recorded(runs)
    if task_id is None:
        raise A2PerfError("a fresh evaluation needs --task")
    submission = policy or _trained_submission(runs)
    return evaluate(task_id, submission, runs, episodes=episodes, seed=seed, executor=executor, measure_energy=energy)


@data_group.command("skills")
@click.argument("runs", nargs=-1, required=True)
@click.option("--task", "task_id", help="Task to evaluate on (with --episodes).")
@click.option(
    "--episodes",
    type=click.IntRange(min=1),
    help="Evaluate each run afresh over this many episodes (default: its recorded inference episodes).",
)
@executor_options("evaluations", run_folders=False)
@click.option("--jobs", type=click.IntRange(min=1), help="Runs evaluated at once (local: worker processes; default 1).")
@json_option
def data_skills(
    runs: tuple[str, ...],
    task_id: str | None,
    episodes: int | None,
    executor_name: str,
    address: str | None,
    jobs: int | None,
    as_json: bool,
) -> None:
    """Skill level of each trained run (checkpoint) by its evaluated return, with A2Perf's thresholds
    (docs/datasets.md)."""
    from a2perf_core.runner.process import raise_interrupted_on_sigterm

    raise_interrupted_on_sigterm()
    missing = [r for r in runs if not _is_run_folder(r)]
    if missing:
        raise A2PerfError(f"not run folders (no run.json): {', '.join(missing)}")
    executor = make_executor(executor_name, jobs=jobs, address=address)
    assignment = _assign_skills(runs, task_id, episodes, executor, True)
    if as_json:
        checkpoints = {run: {"return": assignment.returns[run], "level": assignment.levels[run]} for run in runs}
        print_json({"thresholds": assignment.thresholds.to_json(), "checkpoints": checkpoints})
        return
    bands = assignment.thresholds.bands()
    print_table(
        f"skill levels (mean {assignment.thresholds.mean:.6g}, std {assignment.thresholds.std:.6g})",
        ["run", "evaluated return", "level"],
        ((run, f"{assignment.returns[run]:.6g}", assignment.levels[run] or "none (between bands)") for run in runs),
    )
    for level, (low, high) in bands.items():
        click.echo(f"{level}: return in [{low:.6g}, {high:.6g}]")


@data_group.command("collect")
@click.option("--task", "task_id", required=True, help="Task to collect on.")
@click.option(
    "--policy",
    "policies",
    multiple=True,
    required=True,
    help="A submission, or run folders that trained one (checkpoints; repeatable).",
)
@click.option("--skill", required=True, help="Skill level: novice, intermediate, expert (or your own word).")
@click.option("--episodes", type=click.IntRange(min=1), required=True, help="Episodes in the dataset.")
@click.option(
    "--declared",
    is_flag=True,
    help="Keep every checkpoint given and record the level as declared, instead of choosing by evaluated return.",
)
@click.option(
    "--eval-episodes",
    type=click.IntRange(min=1),
    help="Choose the checkpoints by a fresh evaluation over this many episodes each (its cost counts in the "
    "data cost); default: their recorded inference episodes.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Episode k starts from reset(seed=SEED+k).")
@click.option(
    "--version", "version", type=click.IntRange(min=0), default=0, show_default=True, help="N of the id's -vN."
)
@executor_options("rollouts", run_folders=False)
@click.option("--jobs", type=click.IntRange(min=1), help="Checkpoints at once (local: worker processes; default 1).")
@click.option("--no-energy", is_flag=True, help="Do not measure the collection's energy (recorded as not measured).")
def data_collect(
    task_id: str,
    policies: tuple[str, ...],
    skill: str,
    episodes: int,
    declared: bool,
    eval_episodes: int | None,
    seed: int,
    version: int,
    executor_name: str,
    address: str | None,
    jobs: int | None,
    no_energy: bool,
) -> None:
    """Write a Minari dataset of a policy's episodes, with its generating policy, skill level and data cost.

    Given run folders, the checkpoints at SKILL by evaluated return (`a2perf data skills`) are rolled out
    and merged; their training cost counts in the data cost."""
    from a2perf_core.collection import collect
    from a2perf_core.runner.process import raise_interrupted_on_sigterm

    raise_interrupted_on_sigterm()
    executor = make_executor(executor_name, jobs=jobs, address=address)
    runs = [p for p in policies if _is_run_folder(p)]
    submissions = [p for p in policies if p not in runs]
    if len(submissions) > 1:
        raise A2PerfError(f"--policy names more than one submission: {', '.join(submissions)}")
    if not submissions:
        submissions = [_trained_submission(runs)]
    choice = None
    if runs and not declared:
        assignment = _assign_skills(runs, task_id, eval_episodes, executor, not no_energy, seed, submissions[0])
        runs = assignment.at(skill)
        choice = assignment.choice(skill)

    def progress(done: int, total: int) -> None:
        click.echo(f"{done}/{total} episodes", err=True)

    result = collect(
        task_id,
        submissions[0],
        skill=skill,
        episodes=episodes,
        from_runs=runs,
        seed=seed,
        version=version,
        executor=executor,
        measure_energy=not no_energy,
        progress=progress,
        skill_choice=choice,
    )
    cost = result.data_cost
    energy = "not measured" if cost["energy_kwh"] is None else f"{cost['energy_kwh']:.6g} kWh"
    click.echo(
        f"{result.dataset_id}: {result.episodes} episodes, {result.env_steps} steps, "
        f"mean return {sum(result.returns) / len(result.returns):.6g}; data cost {energy}, "
        f"{cost['env_steps']} env steps, {cost['wall_time_s']:.1f} s"
    )
    click.echo(f"written to {result.path}")
