"""The ``ray`` executor: each run a Ray task running the ordinary local harness on the node Ray picks.

Run folders come back one of two ways:

- gathered (the default): the task runs in a scratch folder on its node and returns the folder as a
  tar archive, which the driver unpacks into the run's folder. A resumed run's folder travels to the
  node first. Nothing needs to be shared between the machines.
- shared storage (``--results-uri PATH``): every node mounts ``PATH`` at the same place, the sweep
  folder is inside it, and the tasks write straight into their run folders.

Without ``--address`` Ray starts a local instance (or uses the one this process already started).

``map`` (offline data collection's rollouts) runs each call as a one-CPU Ray task in a worker process
that exits after it; its items name folders (submission, checkpoints) by path, so on a cluster every
node must reach them at the same path.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from a2perf_core.api import A2PerfError, RunOutcome, RunRequest

#: environment variables of the driver every task gets (data search path, plugin selection, ...)
FORWARDED_PREFIX = "A2PERF_"


class RayExecutor:
    """Runs every request as a Ray task with its domain's resource request (see :mod:`a2perf_ray.resources`)."""

    name = "ray"

    def __init__(self, address: str | None = None, results_uri: str | None = None) -> None:
        self.address = address
        self.shared = None if results_uri is None else Path(results_uri.removeprefix("file://")).resolve()
        if self.shared is not None and not self.shared.is_dir():
            raise A2PerfError(f"--results-uri {results_uri}: not a directory (give the shared storage's mount path)")

    def execute(self, requests: Sequence[RunRequest], progress: Any = None) -> Iterator[RunOutcome]:
        import ray

        from a2perf_ray.resources import resources_for

        if self.shared is not None:
            for request in requests:
                if not Path(request.run_dir).resolve().is_relative_to(self.shared):
                    raise A2PerfError(
                        f"--results-uri {self.shared}: the run folder {request.run_dir} is not inside it; "
                        "put the sweep folder (--out) on the shared storage"
                    )
        self._connect(ray)
        requests_options = [resources_for(_domain(r.settings.task_id)).ray_options() for r in requests]
        contention = _contention(ray, requests_options)
        task = ray.remote(run_cell)
        runtime_env = self._runtime_env()
        refs = []
        for request, options in zip(requests, requests_options, strict=True):
            folder = None if self.shared is not None else _pack(Path(request.run_dir), request.resume)
            refs.append(task.options(**options, **runtime_env, max_retries=0).remote(request, contention, folder))
        try:
            for request, ref in zip(requests, refs, strict=True):
                outcome, archive = ray.get(ref)
                if archive is not None:
                    _unpack(archive, Path(request.run_dir))
                outcome.run_dir = Path(request.run_dir).resolve()
                yield outcome
        except BaseException:  # stopped, or a task failed: the tasks still queued or running end too
            for ref in refs:
                ray.cancel(ref, force=True)
            raise

    def map(self, function: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Any]:
        """``function`` on each item as a one-CPU Ray task whose worker process exits after the call, results
        in item order; a call's exception is raised here as itself, and stopping cancels the tasks."""
        import ray

        self._connect(ray)
        task = ray.remote(num_cpus=1, max_calls=1, max_retries=0)(function).options(**self._runtime_env())
        refs = [task.remote(item) for item in items]
        try:
            for ref in refs:
                yield _result(ray, ref)
        except BaseException:  # stopped, or a call failed: the tasks still queued or running end too
            for ref in refs:
                ray.cancel(ref, force=True)
            raise

    def _runtime_env(self) -> dict[str, Any]:
        """A local instance inherits this process's environment; a cluster's workers get its A2PERF_* variables."""
        env = {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_PREFIX)}
        return {"runtime_env": {"env_vars": env}} if self.address and env else {}

    def _connect(self, ray: Any) -> None:
        if ray.is_initialized():
            return
        try:
            if self.address:
                ray.init(address=self.address, logging_level="WARNING", log_to_driver=False)
            else:
                start_local_ray()
        except (ConnectionError, RuntimeError, ValueError) as exc:
            target = f"the cluster at {self.address}" if self.address else "a local Ray instance"
            raise A2PerfError(f"ray: could not connect to {target}: {str(exc).splitlines()[0]}") from None


def _result(ray: Any, ref: Any) -> Any:
    """The task's return value; the exception the call raised, as itself rather than Ray's wrapper."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        raise exc.cause from None


#: tries at starting a local instance: on a loaded machine Ray's raylet can miss its fixed 15 s wait for
#: its agents' port files and the start fails (ray-project/ray#65983); a second start usually makes it
LOCAL_START_TRIES = 3


def start_local_ray(num_cpus: int | None = None) -> None:
    """A local Ray instance (``num_cpus``: what it offers; default every logical CPU), without dashboard."""
    import ray

    for tries_left in reversed(range(LOCAL_START_TRIES)):
        try:
            ray.init(num_cpus=num_cpus, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
            return
        except Exception as exc:  # Ray raises a bare Exception when the node does not come up
            ray.shutdown()
            if not tries_left:
                raise RuntimeError(str(exc)) from exc


def _domain(task_id: str) -> str:
    from a2perf_core.envs import get_task

    return get_task(task_id).domain


def _contention(ray: Any, options: list[dict[str, Any]]) -> dict[str, Any]:
    """``run.json`` ``contention``: how many runs the cluster can hold at once, and whether one node
    can hold more than one (then the runs' system metrics are not those of a run alone)."""
    from a2perf_core.runner.executor import contention

    cpus = max((o["num_cpus"] for o in options), default=1) or 1
    per_node = [int(node["Resources"].get("CPU", 0) // cpus) for node in ray.nodes() if node.get("Alive")]
    slots = max(1, min(len(options), sum(per_node)))
    result = contention("ray", slots)
    result["shared_machine"] = max(per_node, default=1) > 1 and len(options) > 1
    return result


def run_cell(request: RunRequest, contention: dict[str, Any], folder: bytes | None) -> tuple[RunOutcome, bytes | None]:
    """On a node: the run straight into its folder on shared storage (``folder`` None), or into a
    scratch folder, started from ``folder`` (the archive of the run's earlier folder; empty for a new
    run), whose archive is returned."""
    import attrs

    from a2perf_core.runner.executor import execute_request

    if folder is None:
        return execute_request(request, contention), None
    scratch = Path(tempfile.mkdtemp(prefix="a2perf-ray-"))
    try:
        run_dir = scratch / Path(request.run_dir).name
        if folder:
            _extract(folder, run_dir)
        outcome = execute_request(attrs.evolve(request, run_dir=run_dir), contention)
        return outcome, _archive(run_dir)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _pack(run_dir: Path, resume: bool) -> bytes:
    """The archive a gathered task starts from: the run's folder when it is resumed, else empty."""
    if resume and run_dir.is_dir():
        return _archive(run_dir)
    return b""


def _archive(run_dir: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(run_dir.iterdir()):
            tar.add(path, arcname=path.name)
    return buffer.getvalue()


def _extract(archive: bytes, run_dir: Path) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(run_dir, filter="data")
        else:  # Python without extraction filters: the archive is the executor's own, from its task
            tar.extractall(run_dir)


def _unpack(archive: bytes, run_dir: Path) -> None:
    """The task's folder in place of the run's: unpacked beside it, then swapped in."""
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    incoming = Path(tempfile.mkdtemp(prefix=f".{run_dir.name}.", dir=run_dir.parent))
    _extract(archive, incoming)
    if run_dir.exists():
        shutil.rmtree(run_dir)
    incoming.rename(run_dir)
