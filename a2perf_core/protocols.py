"""What the objects behind lazy specs must provide: submission loaders and executors.

A :class:`~a2perf_core.specs.LoaderSpec` or :class:`~a2perf_core.specs.ExecutorSpec` names a
factory as a string; the object the factory returns is checked against nothing at registration
(nothing heavy is imported then), so these protocols are the contract, for type checkers and for
``isinstance`` (they are runtime-checkable).

An executor's optional ``map(function, items)`` is not part of :class:`Executor` (an executor without it
still runs whole runs); see :class:`Executor` for what it must do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from a2perf_core.runner.executor import RunRequest
    from a2perf_core.runner.run import Progress, RunOutcome
    from a2perf_core.runner.submission import Submission


@runtime_checkable
class SubmissionLoader(Protocol):
    """Turns a reference given to ``a2perf run`` (a path, a module name, a URL...) into a submission."""

    def accepts(self, reference: str) -> bool:
        """Whether this loader handles ``reference``; loaders are asked in descending priority."""
        ...

    def load(self, reference: str) -> Submission:
        """The submission, validated; a problem raises an ``A2PerfError`` that says how to fix it."""
        ...


@runtime_checkable
class Executor(Protocol):
    """A place where whole runs execute, one :class:`~a2perf_core.runner.executor.RunRequest` each.

    Optionally also ``map(function, items) -> Iterator[result]``, which offline data collection needs
    (``a2perf data collect --executor NAME``; without it, a one-line error): call ``function`` (a picklable
    module-level function) on each item where the executor places work, each call in a fresh process (so
    two submissions' modules never meet in one interpreter), and yield the results in item order. An
    exception in a call is raised in the caller as itself (its type and message kept); stopping the
    caller (Ctrl-C, SIGTERM, or closing the iterator) ends the calls still queued or running.
    """

    name: str

    def execute(self, requests: Sequence[RunRequest], progress: Progress | None = None) -> Iterator[RunOutcome]:
        """Run every request (a seed of a task, into its own run directory) and yield one outcome per
        request, in the order of ``requests``; each run is the ordinary local harness
        (``Run(settings, run_dir, resume=..., progress=...).execute()``), wherever it is placed."""
        ...
