"""Where whole runs execute: the ``Executor`` hook's contract, the lookup by name, and ``local``.

An executor gets every run of an ``a2perf run`` invocation at once (one :class:`RunRequest` per
seed), so that an executor placing runs on a process pool or a cluster can run them side by side.
Inside each run the harness is always the ordinary local one (``Run(...).execute()``, each phase in
its own child process); an executor decides only where and when runs happen.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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


#: set in a pool worker: the pool's stop flag, set by the harness when the sweep is stopped
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


def _execute_unless_stopped(request: RunRequest, contention: dict[str, Any]) -> RunOutcome | None:
    """A pooled run, unless the pool was stopped: a worker that replaces one ended with its run would
    otherwise start a run already queued to the pool."""
    if _pool_stop is not None and _pool_stop.is_set():
        return None
    return execute_request(request, contention)


def _pooled(requests: Sequence[RunRequest], jobs: int) -> Iterator[RunOutcome]:
    """The requests on ``jobs`` fresh worker processes (one per run: no state carries over), in order."""
    import multiprocessing
    import sys
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    fresh = {"max_tasks_per_child": 1} if sys.version_info >= (3, 11) else {}  # else restore_gin alone resets
    pool = ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_pool_worker_start, initargs=(stop,), **fresh
    )
    shared = contention("local", jobs)
    futures = []
    try:
        futures = [pool.submit(_execute_unless_stopped, request, shared) for request in requests]
        for future in futures:
            outcome = future.result()
            if outcome is not None:
                yield outcome
    except BaseException:  # stopped (Ctrl-C, SIGTERM) or broken: the runs in flight end and record why
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
