"""Where whole runs execute: the ``Executor`` hook's contract, the lookup by name, and ``local``.

An executor gets every run of an ``a2perf run`` invocation at once (one :class:`RunRequest` per
seed), so that an executor placing runs on a process pool or a cluster can run them side by side.
Inside each run the harness is always the ordinary local one (``Run(...).execute()``, each phase in
its own child process); an executor decides only where and when runs happen.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

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
    """Runs the requests one after another in this process (each phase in its own child process)."""

    name = "local"

    def execute(self, requests: Sequence[RunRequest], progress: Progress | None = None) -> Iterator[RunOutcome]:
        from a2perf_core.runner.run import Run

        for request in requests:
            yield Run(request.settings, request.run_dir, resume=request.resume, progress=progress).execute()


def get_executor(name: str) -> Executor:
    """The registered executor called ``name``, created from its factory; an unknown name or a factory
    that does not return an executor is a one-line error."""
    from a2perf_core.plugins import registered
    from a2perf_core.protocols import Executor
    from a2perf_core.specs import load_object

    executors = registered("executors")
    if name not in executors:
        raise A2PerfError(f"unknown executor {name!r}; known executors: {', '.join(sorted(executors)) or 'none'}")
    reg = executors[name]
    try:
        executor = load_object(reg.spec.factory)()  # type: ignore[operator]
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
