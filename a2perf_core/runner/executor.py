"""Where whole runs execute: the ``Executor`` hook's contract, the lookup by name, and ``local``.

An executor gets every run of an ``a2perf run`` invocation at once (one :class:`RunRequest` per
seed), so that an executor placing runs on a process pool or a cluster can run them side by side.
Inside each run the harness is always the ordinary local one (``Run(...).execute()``, each phase in
its own child process); an executor decides only where and when runs happen.

An executor may also offer ``map(function, items)`` (each call in a fresh process where the executor
places work; see :class:`~a2perf_core.protocols.Executor`): offline data collection rolls policies out
with it (:func:`a2perf_core.collection.measured_rollouts`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from a2perf_core.errors import A2PerfError, PluginError

if TYPE_CHECKING:
    from a2perf_core.protocols import Executor
    from a2perf_core.runner.run import Progress, RunOutcome
    from a2perf_core.settings import RunSettings

DEFAULT_EXECUTOR = "local"


@attrs.frozen
class RunRequest:
    """One run to execute: its settings (task, seed, phases...), its run directory, and whether to
    skip the phases that directory already records as complete."""

    settings: RunSettings
    run_dir: Path
    resume: bool = False


class LocalExecutor:
    """Runs the requests on this machine: one after another in this process (``jobs=1``), or on a pool
    of ``jobs`` worker processes, one run per worker process at a time (each phase in its own child
    process either way).

    Runs of a pool share the machine, so their system metrics (latency, energy, memory) are not those
    of a run alone: each pooled run's ``run.json`` says so in ``contention``.
    """

    name = "local"

    def __init__(self, jobs: int = 1) -> None:
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise A2PerfError(f"--jobs {jobs!r}: give a whole number of runs at once, 1 or more")
        self.jobs = jobs

    def execute(self, requests: Sequence[RunRequest], progress: Progress | None = None) -> Iterator[RunOutcome]:
        from a2perf_core.runner.run import Run

        jobs = min(self.jobs, len(requests))
        if jobs <= 1:  # run.json's contention is that of a run alone by default
            several_configs = len({r.settings.gin_text for r in requests}) > 1  # a sweep over tasks
            for request in requests:
                if several_configs:
                    restore_gin(request.settings)
                yield Run(request.settings, request.run_dir, resume=request.resume, progress=progress).execute()
            return
        yield from _pooled(requests, jobs)

    def map(self, function: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Any]:
        """``function`` on each item, each call in a fresh spawned process (``jobs`` at once; Python 3.10
        reuses a worker), results in item order; a call's exception is raised here, and stopping (Ctrl-C,
        SIGTERM) ends the calls."""
        return _pool_map(function, items, self.jobs)


def contention(executor: str, jobs: int) -> dict[str, Any]:
    """``run.json`` ``contention`` of a run whose executor let ``jobs`` runs execute at once on a machine."""
    from a2perf_core.runner.records import sole_run

    return sole_run(executor) if jobs <= 1 else {"executor": executor, "jobs": jobs, "shared_machine": True}


def restore_gin(settings: RunSettings) -> None:
    """Gin's global state set to the run's resolved configuration: the metrics read their gin-configurable
    options when a run creates them, so a process that did not resolve these settings itself (a pool
    worker, a cluster node, a sweep's next task) parses them again first."""
    from a2perf_core.settings import parse_gin

    parse_gin([], [settings.gin_text])


def execute_request(
    request: RunRequest, contention: dict[str, Any], progress: Progress | None = None, restore: bool = True
) -> RunOutcome:
    """The ordinary local harness on one request, its ``contention`` recorded in ``run.json``: what every
    executor runs, wherever it places the run (``restore``: the run's gin configuration first)."""
    from a2perf_core.runner.run import Run

    if restore:
        restore_gin(request.settings)
    run = Run(request.settings, request.run_dir, resume=request.resume, progress=progress)
    run.record.contention = contention
    return run.execute()


#: set in a pool worker: the pool's stop flag, set by the harness when the work is stopped
_pool_stop: Any = None


def _pool_worker_start(stop: Any) -> None:
    """A pool worker ends with the harness that started it (SIGTERM, so its run records the interruption)."""
    import signal

    from a2perf_core.proctree import set_parent_death_signal
    from a2perf_core.runner.process import raise_interrupted_on_sigterm

    global _pool_stop
    _pool_stop = stop
    raise_interrupted_on_sigterm()
    set_parent_death_signal(signal.SIGTERM)


def _call_unless_stopped(function: Callable[[Any], Any], item: Any) -> Any:
    """A pooled call, unless the pool was stopped: a worker that replaces one ended with its call would
    otherwise start a call already queued to the pool."""
    if _pool_stop is not None and _pool_stop.is_set():
        return None
    return function(item)


def _pooled(requests: Sequence[RunRequest], jobs: int) -> Iterator[RunOutcome]:
    """The requests on ``jobs`` fresh worker processes (one per run: no state carries over), in order."""
    return _pool_map(partial(execute_request, contention=contention("local", jobs)), requests, jobs)


def _pool_map(function: Callable[[Any], Any], items: Sequence[Any], jobs: int) -> Iterator[Any]:
    """``function`` on each item in a pool of ``jobs`` spawned worker processes, each worker replaced after
    one call (Python 3.11+), results in item order."""
    import multiprocessing
    import sys
    from concurrent.futures import ProcessPoolExecutor

    if not items:
        return
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    # Python 3.10 reuses a worker for several calls: a run's restore_gin still resets what runs share
    fresh = {"max_tasks_per_child": 1} if sys.version_info >= (3, 11) else {}
    pool = ProcessPoolExecutor(
        max_workers=min(jobs, len(items)),
        mp_context=context,
        initializer=_pool_worker_start,
        initargs=(stop,),
        **fresh,
    )
    futures = []
    try:
        futures = [pool.submit(_call_unless_stopped, function, item) for item in items]
        for future in futures:
            yield future.result()
    except BaseException:  # stopped (Ctrl-C, SIGTERM), broken or a call failed: the calls in flight end
        stop.set()
        for future in futures:
            future.cancel()
        for worker in list(getattr(pool, "_processes", {}).values()):
            if worker.is_alive():
                worker.terminate()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def get_executor(name: str, **options: Any) -> Executor:
    """The registered executor called ``name``, created by calling its factory with ``options`` (e.g.
    ``jobs`` for ``local``); an unknown name, an option it does not take, or a factory that does not
    return an executor is a one-line error."""
    from a2perf_core.plugins import registered
    from a2perf_core.protocols import Executor
    from a2perf_core.specs import load_object

    executors = registered("executors")
    if name not in executors:
        raise A2PerfError(f"unknown executor {name!r}; known executors: {', '.join(sorted(executors)) or 'none'}")
    reg = executors[name]
    factory = load_object(reg.spec.factory)
    if options:
        import inspect

        try:
            inspect.signature(factory).bind(**options)  # type: ignore[arg-type]
        except TypeError:
            given = ", ".join(f"--{key.replace('_', '-')}" for key in options)
            raise A2PerfError(f"executor {name!r} does not take {given}") from None
    try:
        executor = factory(**options)  # type: ignore[operator]
    except A2PerfError:
        raise
    except Exception as exc:
        raise PluginError(
            f"executor {name!r} ({reg.plugin.distribution}) could not be created from {reg.spec.factory!r}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(executor, Executor):
        raise PluginError(
            f"executor {name!r} ({reg.plugin.distribution}): {reg.spec.factory!r} returned {executor!r}, "
            "which has no name and execute(requests, progress)"
        )
    return executor


def execute_runs(
    executor: Executor, requests: Sequence[RunRequest], progress: Progress | None = None
) -> Iterator[RunOutcome]:
    """``executor.execute``, checked: exactly one outcome per request, else a one-line error."""
    count = 0
    for outcome in executor.execute(requests, progress):
        count += 1
        if count > len(requests):
            break
        yield outcome
    if count != len(requests):
        raise PluginError(
            f"executor {executor.name!r} returned {'more than ' if count > len(requests) else ''}"
            f"{min(count, len(requests))} outcomes for {len(requests)} runs (one per run, in order)"
        )
