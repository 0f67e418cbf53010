"""Hook specifications of the ``a2perf`` pluggy project.

Every hook is a *register callback*: the core passes ``register`` and the plugin calls it once per
thing it provides. The core owns the registry, so it can reject duplicates, remember which
distribution supplied each entry, and stay lazy: plugins register cheap specs (strings such as
``"package.module:callable"``), and heavy modules are imported only when a thing is used.

New keyword arguments may be added to a hook later; plugins that do not accept them keep working
(pluggy passes only the arguments an implementation names). No argument is ever renamed or removed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from pathlib import Path

    import click

    from a2perf_core.settings import RunSettings
    from a2perf_core.specs import DataAsset, ExecutorSpec, LoaderSpec, MetricSpec, Task

PROJECT = "a2perf"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- domains and their data --------------------------------------------------------------------


@hookspec
def a2perf_register_tasks(register: Callable[[Task], None]) -> None:
    """Register the tasks of a domain.

    Called once, the first time the registry is built.

    :param register: call ``register(Task(...))`` once per task. A :class:`~a2perf_core.specs.Task`
        carries the Gymnasium-style id (``Name-vN``), the lazy ``"module:callable"`` entry point,
        default kwargs, ``max_episode_steps``, a one-line description, the gin files it ships per
        phase, the data assets it needs, whether it belongs to the domain's generalization set and
        whether it is the default task of ``a2perf run``.

    Registering an id another plugin already registered is an error naming both distributions.
    """


@hookspec
def a2perf_register_domains(register: Callable[[Task], None]) -> None:
    """Deprecated name of :func:`a2perf_register_tasks`; still registers tasks for one release.

    Called once, the first time the registry is built, after every ``a2perf_register_tasks``; a
    plugin implementing it gets a :class:`DeprecationWarning` naming the plugin.

    :param register: as for :func:`a2perf_register_tasks`.
    """


@hookspec
def a2perf_register_data_assets(register: Callable[[DataAsset], None]) -> None:
    """Declare public data files a plugin needs.

    Called once, the first time the registry is built.

    :param register: call ``register(DataAsset(...))`` once per file: its name, the path under a
        data root (``<domain>/<...>``), its public URL and checksum, and a licence notice.
    """


# --- metrics -----------------------------------------------------------------------------------


@hookspec
def a2perf_register_metrics(register: Callable[[MetricSpec], None]) -> None:
    """Register metric sources.

    Called once, the first time the registry is built.

    :param register: call ``register(MetricSpec(...))`` once per metric source. The spec names a
        lazy ``"module:callable"`` factory returning a :class:`~a2perf_core.metrics.Metric`, the
        main unit, and whether lower or higher is better.
    """


# --- submissions and where they run ------------------------------------------------------------


@hookspec
def a2perf_register_submission_loaders(register: Callable[[LoaderSpec], None]) -> None:
    """Register loaders that turn a reference (a path, a module name, ...) into a submission.

    Called once, the first time the registry is built. Loaders are asked in descending
    ``priority`` order; the first whose ``accepts`` returns true loads the reference.

    :param register: call ``register(LoaderSpec(...))`` once per loader.
    """


@hookspec
def a2perf_register_executors(register: Callable[[ExecutorSpec], None]) -> None:
    """Register executors: places where whole runs execute (``a2perf run --executor NAME``).

    Called once, the first time the registry is built. The built-in one is ``local``.

    :param register: call ``register(ExecutorSpec(...))`` once per executor. The factory returns an
        :class:`~a2perf_core.protocols.Executor`, whose ``execute(requests, progress)`` runs every
        :class:`~a2perf_core.runner.executor.RunRequest` with the ordinary local harness and yields
        one outcome per request, in order.
    """


@hookspec
def a2perf_configure_run(settings: RunSettings) -> None:
    """Adjust a run's settings from a plugin's own configuration.

    Called once per ``a2perf run``, after all gin files and bindings are parsed and before anything
    starts. The compatibility package uses it to map A2Perf's ``Submission.*`` bindings.

    :param settings: the mutable :class:`~a2perf_core.settings.RunSettings` of the run.
    """


# --- command line ------------------------------------------------------------------------------


@hookspec
def a2perf_register_commands(cli: click.Group) -> None:
    """Add subcommands to the ``a2perf`` command-line group.

    Called once, when the CLI is built, after the core's own commands exist.

    :param cli: the root :class:`click.Group`; call ``cli.add_command(...)`` or use
        ``@cli.command()``. Adding a name that already exists is an error naming the plugin.
    """


# --- after the runs ----------------------------------------------------------------------------


@hookspec
def a2perf_runs_finished(run_dirs: Sequence[Path], out_dir: Path) -> str | None:
    """Act on the run directories an ``a2perf run`` just wrote (a report, an index, a notification).

    Called once per ``a2perf run``, after every run ended and the summary was written and printed,
    whether the phases succeeded or not. Every implementation is called, in registration order; one
    that raises is printed as a one-line warning and never changes the exit code.

    :param run_dirs: the run directories, one per seed, in the order of ``--seeds``.
    :param out_dir: the ``--out`` directory (holding ``summary.json`` with ``--seeds``).
    :return: a line to print for the user (e.g. the path of a written report), or ``None``.
    """
