"""One run (a submission, a task, a seed): its phases, metrics and run directory.

Every phase runs the participant in its own child process. Metrics start before the child is
released and stop after it ends; ``run.json`` and ``metrics.json`` are rewritten after each phase,
so a failure never loses what was measured before it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from a2perf_core.envs import get_task, tasks
from a2perf_core.errors import A2PerfError
from a2perf_core.metrics import METRICS_JSON, RUN_JSON, Metric, MetricValue, PhaseContext, RunRecords
from a2perf_core.runner.child import job_environ
from a2perf_core.runner.results import machine_facts, package_versions, read_json, write_json
from a2perf_core.runner.submission import Submission, load_submission
from a2perf_core.settings import RunSettings

#: called with (label, elapsed seconds, run directory) while a phase runs
Progress = Callable[[str, float, Path], None]


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@attrs.define
class RunOutcome:
    run_dir: Path
    phases: dict[str, dict[str, Any]]
    metrics: list[MetricValue]

    @property
    def ok(self) -> bool:
        return all(p.get("status") in ("ok", "skipped") for p in self.phases.values())


def generalization_set(task_id: str) -> list[str]:
    """The tasks of the task's domain marked as its generalization set."""
    domain = get_task(task_id).domain
    return [t.id for t in tasks().values() if t.domain == domain and t.generalization]


def missing_data(task_id: str) -> list[str]:
    """Names of the data assets a task needs that are not on this machine."""
    from a2perf_core.data import get_asset, locate

    return [name for name in get_task(task_id).data if locate(get_asset(name)) is None]


def instantiate_metrics() -> dict[str, Metric]:
    from a2perf_core.plugins import registered
    from a2perf_core.specs import load_object

    metrics = {}
    for name, reg in registered("metrics").items():
        try:
            metrics[name] = load_object(reg.spec.factory)()  # type: ignore[operator]
        except Exception as exc:  # a broken metric must not stop the benchmark
            raise A2PerfError(f"metric {name!r} ({reg.plugin.distribution}) could not be created: {exc}") from exc
    return metrics


class Run:
    """Runs the requested phases of one seed into one run directory."""

    def __init__(
        self, settings: RunSettings, run_dir: Path, resume: bool = False, progress: Progress | None = None
    ) -> None:
        self.settings = settings
        self.run_dir = run_dir = run_dir.resolve()  # the participant runs in its own directory
        self.progress = progress
        self.submission: Submission = load_submission(settings.submission)
        get_task(settings.task_id)
        self.metrics = instantiate_metrics()
        run_dir.mkdir(parents=True, exist_ok=True)
        previous = read_json(run_dir / RUN_JSON) if resume else None
        if previous and previous.get("task") != settings.task_id:
            raise A2PerfError(f"--resume: {run_dir} holds a run of {previous.get('task')}, not {settings.task_id}")
        self.info: dict[str, Any] = previous or {}
        self.values: list[dict[str, Any]] = (read_json(run_dir / METRICS_JSON) or []) if previous else []
        self.metric_errors: list[str] = []

    def _write(self) -> None:
        write_json(self.run_dir / RUN_JSON, self.info)
        write_json(self.run_dir / METRICS_JSON, self.values)

    def _begin(self) -> None:
        s = self.settings
        self.info.update(
            {
                "format": "a2perf-run/1",
                "task": s.task_id,
                "seed": s.seed,
                "phases_requested": list(s.phases),
                "submission": {
                    "reference": s.submission,
                    "loader": self.submission.loader,
                    "requirements": list(self.submission.requirements),
                },
                "settings": s.to_json(),
                "gin_config": s.gin_text,
                "versions": package_versions(),
                "machine": machine_facts(),
                "started": self.info.get("started", now()),
                "ended": None,
            }
        )
        self.info.setdefault("phases", {})
        self._write()

    def execute(self) -> RunOutcome:
        self._begin()
        failed_before = None
        for phase in self.settings.phases:
            record = self.info["phases"].get(phase, {})
            if record.get("status") == "ok":
                record["resumed"] = True
                continue
            if failed_before:
                self.info["phases"][phase] = {"status": "not run", "reason": f"the {failed_before} phase failed"}
                continue
            try:
                self.info["phases"][phase] = self._run_phase(phase)
            except KeyboardInterrupt as exc:  # a PhaseInterrupted's message names the signal
                reason = str(exc) or "interrupted (Ctrl-C)"
                self.info["phases"][phase] = {"status": "failed", "reason": reason, "ended": now()}
                self.info["ended"] = now()
                self._write()
                raise
            if self.info["phases"][phase]["status"] == "failed":
                failed_before = phase
            self._write()
        self._analyze()
        self.info["ended"] = now()
        if self.metric_errors:
            self.info["metric_errors"] = self.metric_errors
        self._write()
        return RunOutcome(self.run_dir, self.info["phases"], [MetricValue.from_json(v) for v in self.values])

    def _job(self, phase: str, label: str, task_id: str) -> dict[str, Any]:
        s, sub = self.settings, self.submission
        env_kwargs = {**s.env_kwargs, **(s.train_env_kwargs if phase == "train" else {})}
        return {
            "phase": phase,
            "label": label,
            "task_id": s.task_id,
            "generalization_task": task_id,
            "seed": s.seed,
            "run_dir": str(self.run_dir),
            "cwd": str(sub.root),
            "sys_path": list(sub.sys_path),
            "train_module": sub.train_module,
            "inference_module": sub.inference_module,
            "environ": job_environ(self.run_dir, phase, task_id, s.seed, s.num_train_steps, env_kwargs),
            "participant_args": dict(s.participant_args),
            "env_kwargs": env_kwargs,
            "num_inference_episodes": s.num_inference_episodes,
            "num_inference_steps": s.num_inference_steps,
            "num_warmup_calls": s.num_warmup_calls,
            "num_generalization_episodes": s.num_generalization_episodes,
        }

    def _run_phase(self, phase: str) -> dict[str, Any]:
        record: dict[str, Any] = {"status": "running", "started": now()}
        if phase == "generalization":
            task_ids = list(self.settings.generalization_tasks or generalization_set(self.settings.task_id))
            missing = {t: m for t in task_ids if (m := missing_data(t))}
            if missing:
                record["skipped_tasks"] = {
                    t: f"data missing: {', '.join(m)} (a2perf data fetch {' '.join(m)})" for t, m in missing.items()
                }
                task_ids = [t for t in task_ids if t not in missing]
            if not task_ids:
                reason = "no generalization task has its data" if missing else "the domain has no generalization set"
                return {**record, "status": "skipped", "reason": reason}
            self._clear(["generalization_episodes.csv"])
        else:
            task_ids = [self.settings.task_id]
            if phase == "train":
                self._clear(["train_log.csv", "train_scalars.csv"])
            if phase == "inference":
                self._clear(["inference_episodes.csv", "latencies_ns.npy", "warmup_latencies_ns.npy"])
        parts = []
        for task_id in task_ids:
            label = phase if phase != "generalization" else f"generalization-{task_id}"
            parts.append(self._run_child(phase, label, task_id))
        failed = [p for p in parts if not p["ok"]]
        record.update(
            {
                "status": "failed" if failed else "ok",
                "reason": "; ".join(f"{p['label']}: {p['reason']}" for p in failed) or None,
                "ended": now(),
                "wall_time_s": sum(p["wall_time_s"] for p in parts),
                "exitcodes": {p["label"]: p["exitcode"] for p in parts},
                "peak_tree_rss_mib": max(p["peak_tree_rss_mib"] for p in parts),
                "ru_maxrss_kib": max((p["ru_maxrss_kib"] for p in parts if p["ru_maxrss_kib"]), default=None),
            }
        )
        if phase == "generalization":
            record["tasks"] = {p["label"].removeprefix("generalization-"): p for p in parts}
        else:
            record.update(parts[0].get("result", {}))
        return record

    def _clear(self, names: Sequence[str]) -> None:
        for name in names:
            (self.run_dir / name).unlink(missing_ok=True)

    def _run_child(self, phase: str, label: str, task_id: str) -> dict[str, Any]:
        from a2perf_core.plugins import registered
        from a2perf_core.runner.executor import LocalExecutor
        from a2perf_core.specs import load_object

        executor_spec = registered("executors").get("local")
        executor = load_object(executor_spec.spec.factory)() if executor_spec else LocalExecutor()
        (self.run_dir / f".{label}_result.json").unlink(missing_ok=True)
        child = executor.process(self._job(phase, label, task_id))
        pid = child.start()
        contexts = {}
        for name, metric in self.metrics.items():
            ctx = PhaseContext(
                phase=label,
                run_dir=self.run_dir,
                task_id=task_id,
                seed=self.settings.seed,
                pid=pid,
                options=self.settings.metric_options.get(name, {}),
            )
            contexts[name] = ctx
            self._guard(name, "start", lambda m=metric, c=ctx: m.start(c))
        s = self.settings
        tick = (lambda elapsed: self.progress(label, elapsed, self.run_dir)) if self.progress else None
        for ctx in contexts.values():
            ctx.released_at = time.time()
        try:
            outcome = child.release_and_wait(s.timeout_s, s.max_memory_mib, tick)
        finally:
            for name, metric in self.metrics.items():
                values = self._guard(name, "stop", lambda m=metric, c=contexts[name]: m.stop(c)) or []
                self.values.extend(v.to_json() for v in values)
        result = read_json(self.run_dir / f".{label}_result.json") or {}
        rusage = read_json(self.run_dir / f".{label}_rusage.json") or {}
        reason = outcome.reason
        if "error" in result:
            reason = f"{result.pop('error')} (traceback in {label}_error.txt)"
        return {
            "label": label,
            "ok": outcome.ok and reason is None,
            "reason": reason,
            "exitcode": outcome.exitcode,
            "wall_time_s": outcome.wall_time_s,
            "peak_tree_rss_mib": outcome.peak_tree_rss_mib,
            "ru_maxrss_kib": max(rusage.values()) if rusage else None,
            "result": {**result, **outcome.recorded()},
        }

    def _guard(self, name: str, step: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as exc:  # a metric's failure is reported, never fatal to the run
            self.metric_errors.append(f"{name}.{step}: {type(exc).__name__}: {exc}")
            return None

    def _analyze(self) -> None:
        records = RunRecords(self.run_dir)
        write_json(self.run_dir / RUN_JSON, self.info)
        for name, metric in self.metrics.items():
            values = self._guard(name, "analyze", lambda m=metric: m.analyze(records)) or []
            fresh = {(v.name, v.phase) for v in values}  # a resumed run's old analysis is replaced
            self.values = [v for v in self.values if (v["name"], v.get("phase")) not in fresh]
            self.values.extend(v.to_json() for v in values)
