"""Run folders written without running anything, for tests of code that reads results.

:func:`write_run_folder` writes a ``run.json`` through the real :class:`~a2perf_core.runner.records.RunRecord`
(so it has every documented field) and a ``metrics.json`` of the values given, as ``a2perf run``
writes them. Tests of the results database, ``a2perf compare`` and reports build their inputs with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: machine facts of a made-up test machine (``run.json`` ``machine``)
TEST_MACHINE: dict[str, Any] = {
    "host_id": "0123456789ab",
    "platform": "Linux-6.1-x86_64-with-glibc2.36",
    "python": "3.11.7",
    "cpu_model": "Test CPU 3000",
    "logical_cpus": 8,
    "memory_gib": 31.3,
}

#: versions of the core and plugins (``run.json`` ``versions``)
TEST_VERSIONS: dict[str, str] = {"a2perf-core": "0.1.0", "a2perf-reliability": "0.1.0", "numpy": "2.0.0"}


def metric(
    name: str, value: Any, unit: str = "", direction: str = "none", phase: str | None = "inference", **details: Any
) -> dict[str, Any]:
    """One entry of ``metrics.json``."""
    from a2perf_core.metrics import MetricValue

    return MetricValue(name, value, unit, direction, phase, f"{name} (test value)", details).to_json()  # type: ignore[arg-type]


def write_run_folder(
    run_dir: Path,
    *,
    submission: str = "agent",
    content_hash: str = "sha256:" + "a" * 64,
    task: str = "ExampleCorridor-v0",
    seed: int = 0,
    metrics: Sequence[Mapping[str, Any]] = (),
    phases: Mapping[str, tuple[str, str | None]] | None = None,
    machine: Mapping[str, Any] | None = None,
    versions: Mapping[str, str] | None = None,
    settings: Mapping[str, Any] | None = None,
    gin_config: str = "RunSettings.num_inference_episodes = 3\n",
    started: str = "2026-12-01T10:00:00+00:00",
    ended: str | None = "2026-12-01T10:05:00+00:00",
) -> Path:
    """A run folder as ``a2perf run`` leaves it; ``phases`` maps phase -> (status, reason)."""
    from a2perf_core.runner.records import PhaseRecord, RunRecord, SubmissionRecord
    from a2perf_core.runner.results import write_json

    phases = {"inference": ("ok", None)} if phases is None else phases
    base_settings = {
        "task_id": task,
        "seed": seed,
        "num_inference_episodes": 3,
        "num_inference_steps": None,
        "num_warmup_calls": 10,
        "num_generalization_episodes": 5,
        "num_train_steps": None,
        "participant_args": {},
        "env_kwargs": {},
        "train_env_kwargs": {},
        "generalization_tasks": None,
        "timeout_s": None,
    }
    record = RunRecord(
        task=task,
        seed=seed,
        phases_requested=list(phases),
        submission=SubmissionRecord(
            reference=f"/submissions/{submission}",
            loader="folder",
            requirements=["numpy>=1.24"],
            content_hash=content_hash,
            package_versions={"numpy": "2.0.0"},
        ),
        settings={**base_settings, **(settings or {})},
        gin_config=gin_config,
        versions=dict(TEST_VERSIONS if versions is None else versions),
        machine=dict(TEST_MACHINE if machine is None else machine),
        started=started,
        ended=ended,
        phases={
            name: PhaseRecord(status=status, reason=reason, started=started, ended=ended, wall_time_s=1.5)
            for name, (status, reason) in phases.items()
        },
    )
    write_json(run_dir / "run.json", record.to_json())
    write_json(run_dir / "metrics.json", [dict(m) for m in metrics])
    return run_dir
