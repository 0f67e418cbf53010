"""One run (a submission, a task, a seed): its phases, metrics and run directory.

Every phase runs the participant in its own child process. Metrics start before the child is
released and stop after it ends; ``run.json`` and ``metrics.json`` are rewritten after each phase,
so a failure never loses what was measured before it.

Each phase attempt writes into a folder of its own, ``.attempts/<phase>-<n>``; when the attempt ends
(however it ends), its records are moved into the run directory, and no other attempt's folder ever
is. A process of a killed harness that keeps writing into its old attempt's folder therefore cannot
change the records. ``a2perf run`` holds the run directory's lock for the whole run.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from a2perf_core.envs import get_task, tasks
from a2perf_core.errors import A2PerfError, DataMissingError
from a2perf_core.metrics import (
    EVAL_LOG,
    GENERALIZATION_EPISODES,
    INFERENCE_EPISODES,
    LATENCIES,
    LATENCIES_RAW,
    LATENCIES_ROUNDTRIP,
    LATENCIES_ROUNDTRIP_RAW,
    METRICS_JSON,
    RUN_JSON,
    TRAIN_LOG,
    TRAIN_SCALARS,
    WARMUP_LATENCIES,
    WARMUP_LATENCIES_RAW,
    Metric,
    MetricValue,
    PhaseContext,
    RunRecords,
    phase_error,
    phase_log,
    phase_result,
    phase_rusage,
)
from a2perf_core.offline import VIOLATION_FILE, phase_environ, resolve_datasets, violation
from a2perf_core.participant import PARTICIPANT_DIR
from a2perf_core.runner.child import job_environ
from a2perf_core.runner.isolate import participant_environment
from a2perf_core.runner.process import ChildProcess, describe_exit
from a2perf_core.runner.records import (
    PhaseInProgress,
    PhaseJob,
    PhaseRecord,
    PhaseResult,
    ProcessRecord,
    RunRecord,
    SubmissionRecord,
    check_json,
    plain_settings,
    shorten,
)
from a2perf_core.runner.results import (
    machine_facts,
    package_versions,
    read_json,
    submission_content_hash,
    submission_package_versions,
    write_json,
)
from a2perf_core.runner.submission import Submission, load_submission
from a2perf_core.settings import RunSettings

#: called with (label, elapsed seconds, the folder the phase attempt writes its records into) while a phase runs
Progress = Callable[[str, float, Path], None]

#: settings that change what a phase produces: ``--resume`` reuses a phase only when they match
RESULT_SETTINGS = (
    "task_id",
    "seed",
    "num_inference_episodes",
    "num_inference_steps",
    "num_warmup_calls",
    "num_generalization_episodes",
    "num_train_steps",
    "participant_args",
    "env_kwargs",
    "train_env_kwargs",
    "generalization_tasks",
    "untrusted",
    "datasets",
    "offline",
)
#: the value a run.json written before the setting existed has (as ``run.json`` spells it)
RESULT_SETTINGS_ADDED: dict[str, Any] = {"datasets": [], "offline": False}


def recorded_setting(settings: dict[str, Any], key: str) -> Any:
    """Setting ``key`` of a ``run.json``'s ``settings``, read the same for a run recorded before it existed."""
    return settings.get(key, RESULT_SETTINGS_ADDED.get(key))


#: the longest the runner waits for a prestarted process to finish its imports before it releases a phase
PREPARE_TIMEOUT_S = 120.0

#: the run directory's lock file, and the folder of its phase attempts
RUN_LOCK = ".lock"
ATTEMPTS = ".attempts"
#: suffix of an attempt folder that is not its phase's promoted attempt (renamed when another one is promoted)
ABANDONED = ".abandoned"


def phase_span(label: str) -> str:
    """The span file of the phase process ``label`` (see :mod:`a2perf_core.runner.wallclock`)."""
    from a2perf_core.runner.wallclock import span_path

    return span_path(".", label).name


#: the files of one phase process ``label``
PROCESS_FILES = (phase_log, phase_error, phase_result, phase_rusage, phase_span)


def phase_records(phase: str) -> tuple[str, ...]:
    """What a phase's processes record, besides each process's log, error, result and rusage files."""
    return {
        "train": (TRAIN_LOG, TRAIN_SCALARS, EVAL_LOG, VIOLATION_FILE),
        "inference": (INFERENCE_EPISODES, LATENCIES, WARMUP_LATENCIES, LATENCIES_ROUNDTRIP),
        "generalization": (GENERALIZATION_EPISODES,),
    }[phase]


class RunDirectoryError(A2PerfError):
    """``--out`` holds records that this run must not mix with or reuse."""


class RunDirectoryInUse(RunDirectoryError):
    """Another ``a2perf run`` holds the run directory's lock."""


class RunLock:
    """An exclusive ``flock`` on ``<run_dir>/.lock``, which holds the pid and start time of its holder.

    The kernel releases a flock when the last descriptor of its open file is closed, so the lock of
    a harness that died, even by SIGKILL, is free for the next one without any clean-up: the
    descriptor is close-on-exec, so no phase process (spawned through exec) keeps it open.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`RunDirectoryInUse` naming the process that holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_holder(os.pread(fd, 4096, 0))
            os.close(fd)
            raise RunDirectoryInUse(
                f"{self.path.parent} is in use by another `a2perf run` ({holder}); "
                "wait for it to end, or stop it, then --resume"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps({"pid": os.getpid(), "started": now()}) + "\n").encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None


def _lock_holder(content: bytes) -> str:
    try:
        holder = json.loads(content)
        return f"pid {int(holder['pid'])}, started {holder['started']}"
    except (ValueError, TypeError, KeyError):  # read between the holder's truncate and its write
        return "pid unknown"


@attrs.frozen
class PhaseAttempt:
    """One try at a phase: its id (``<phase>-<n>``) and the folder its processes write into."""

    phase: str
    id: str
    folder: Path
    started: str


def attempt_number(folder_name: str, phase: str) -> int | None:
    """``n`` of an attempt folder ``<phase>-<n>`` (abandoned or not); None for another phase's."""
    match = re.fullmatch(rf"{re.escape(phase)}-(\d+)(?:{re.escape(ABANDONED)})?", folder_name)
    return int(match.group(1)) if match else None


def new_attempt(run_dir: Path, phase: str) -> PhaseAttempt:
    """The phase's next attempt, numbered after every attempt folder of the phase present. The
    runner never deletes an attempt folder, so an id is never used twice in a run directory."""
    attempts = run_dir / ATTEMPTS
    attempts.mkdir(exist_ok=True)
    numbers = [n for p in attempts.iterdir() if (n := attempt_number(p.name, phase)) is not None]
    attempt_id = f"{phase}-{max(numbers, default=0) + 1}"
    folder = attempts / attempt_id
    folder.mkdir()
    return PhaseAttempt(phase, attempt_id, folder, now())


def promote(run_dir: Path, attempt: PhaseAttempt, labels: Sequence[str]) -> None:
    """Move the attempt's records into the run directory, each file by ``os.replace``; a record of
    the phase the attempt did not write is removed there, so nothing of an earlier attempt stays.
    The latency ``.npy`` files are made from the attempt's raw samples first. Then every other
    attempt folder of the phase is renamed ``*.abandoned``."""
    folder = attempt.folder
    if attempt.phase == "inference":
        _save_samples(folder / LATENCIES_RAW, folder / LATENCIES)
        _save_samples(folder / WARMUP_LATENCIES_RAW, folder / WARMUP_LATENCIES)
        _save_samples(folder / LATENCIES_ROUNDTRIP_RAW, folder / LATENCIES_ROUNDTRIP)
        # left by a run of a version without attempts
        for name in (LATENCIES_RAW, WARMUP_LATENCIES_RAW, LATENCIES_ROUNDTRIP_RAW):
            (run_dir / name).unlink(missing_ok=True)
    names = [*phase_records(attempt.phase), *(files(label) for label in labels for files in PROCESS_FILES)]
    if attempt.phase == "generalization":  # the files of tasks this attempt did not run
        for pattern in (files("generalization-*") for files in PROCESS_FILES):
            for path in run_dir.glob(pattern):
                if path.name not in names:
                    path.unlink(missing_ok=True)
    for name in names:
        if (folder / name).exists():
            os.replace(folder / name, run_dir / name)
        else:
            (run_dir / name).unlink(missing_ok=True)
    for other in (run_dir / ATTEMPTS).iterdir():
        is_phase_attempt = attempt_number(other.name, attempt.phase) is not None
        if other != folder and is_phase_attempt and not other.name.endswith(ABANDONED):
            other.rename(other.with_name(other.name + ABANDONED))


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@attrs.define
class RunOutcome:
    run_dir: Path
    #: phase name -> its record as in run.json
    phases: dict[str, dict[str, Any]]
    metrics: list[MetricValue]
    record: RunRecord | None = None

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


def instantiate_metrics(errors: list[str] | None = None) -> dict[str, Metric]:
    """Every registered metric that can be created. A broken one is left out, never fatal: its error
    is appended to ``errors`` (or issued as a warning when no list is given)."""
    from a2perf_core.plugins import registered
    from a2perf_core.specs import load_object

    metrics = {}
    for name, reg in registered("metrics").items():
        try:
            metrics[name] = load_object(reg.spec.factory)()  # type: ignore[operator]
        except Exception as exc:  # a broken metric must not stop the benchmark
            message = f"metric {name!r} ({reg.plugin.distribution}) could not be created: {type(exc).__name__}: {exc}"
            if errors is None:
                warnings.warn(message, RuntimeWarning, stacklevel=2)
            else:
                errors.append(shorten(message, "the metric's plugin"))
    return metrics


def _phase_labels_match(phase: str, value_phase: str | None) -> bool:
    if value_phase is None:
        return False
    return value_phase == phase or (phase == "generalization" and value_phase.startswith("generalization-"))


def _save_samples(raw: Path, target: Path) -> None:
    """The raw int64 samples a phase process appended, as an ``.npy`` (written atomically); nothing
    when the process took none."""
    import numpy as np

    if not raw.exists():
        return
    data = raw.read_bytes()
    samples = np.frombuffer(data[: len(data) - len(data) % 8], dtype=np.dtype("=i8")).astype(np.int64)
    tmp = target.with_name(target.name + ".tmp.npy")
    np.save(tmp, samples)
    tmp.replace(target)
    raw.unlink()


def _checked_sandbox() -> str:
    """The sandbox untrusted mode will use, proven to work here; a one-line error before anything starts."""
    import tempfile

    from a2perf_core.runner.sandbox import check_sandbox

    with tempfile.TemporaryDirectory() as probe:
        return check_sandbox(Path(probe))


def participant_reported(value: MetricValue) -> MetricValue:
    """``value`` marked as computed from records the participant's own process wrote (untrusted mode's train)."""
    return attrs.evolve(value, details={**value.details, "reported_by": "participant"})


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
        if {"train", "inference"} & set(settings.phases) and (missing := missing_data(settings.task_id)):
            raise DataMissingError(
                f"{settings.task_id} needs data that is not on this machine: {', '.join(missing)}; "
                f"run `a2perf data fetch {' '.join(missing)}` first"
            )
        self.datasets = resolve_datasets(settings, self.submission.root)
        self.environment = participant_environment(settings, self.submission)
        self.content_hash = submission_content_hash(self.submission.root)
        run_dir.mkdir(parents=True, exist_ok=True)
        self.lock = RunLock(run_dir / RUN_LOCK)  # held until execute() returns; taken before anything is read
        self.lock.acquire()
        #: the processes of the phases still to run, started ahead (see :class:`ChildProcess`), by label
        self.prestarted: dict[str, ChildProcess] = {}
        try:
            self.sandbox = _checked_sandbox() if settings.untrusted else None
            previous = self._previous(resume)
            self._prestart(previous)  # before the warm-up thread, which would slow the spawns (one GIL)
            self.metric_errors: list[str] = []
            self.metrics = instantiate_metrics(self.metric_errors)
            self._warm_up: threading.Thread | None = self._start_warm_up()
            if settings.untrusted:
                (run_dir / PARTICIPANT_DIR).mkdir(exist_ok=True)
            self.record = self._new_record(previous)
            self.values: list[MetricValue] = (
                [MetricValue.from_json(v) for v in read_json(run_dir / METRICS_JSON) or []] if previous else []
            )
        except BaseException:
            self._end_prestarted()
            self.lock.release()
            raise
        #: the phase attempt running now
        self.attempt: PhaseAttempt | None = None

    def _previous(self, resume: bool) -> RunRecord | None:
        """The run ``--resume`` continues; refuses records that are not this run's."""
        path = self.run_dir / RUN_JSON
        if not path.exists():
            if not resume and (self.run_dir / METRICS_JSON).exists():
                raise RunDirectoryError(f"{self.run_dir} holds metrics of another run; choose another --out")
            return None
        if not resume:
            raise RunDirectoryError(
                f"{self.run_dir} already holds a run; pass --resume to continue it, or choose another --out"
            )
        try:
            previous = RunRecord.from_json(read_json(path))
        except (ValueError, TypeError, KeyError) as exc:
            raise RunDirectoryError(f"--resume: {path} is not a run this version can continue ({exc})") from None
        now_settings = plain_settings(self.settings)
        differences = [
            f"{key} {recorded_setting(previous.settings, key)!r} -> {now_settings.get(key)!r}"
            for key in RESULT_SETTINGS
            if recorded_setting(previous.settings, key) != now_settings.get(key)
        ]
        if previous.submission.content_hash != self.content_hash:
            differences.insert(0, "the submission's files differ (content hash)")
        if differences:
            raise RunDirectoryError(
                f"--resume: {self.run_dir} holds a different run: {'; '.join(differences)}; "
                "rerun without --resume into another --out"
            )
        return previous

    def _new_record(self, previous: RunRecord | None) -> RunRecord:
        s, sub = self.settings, self.submission
        return RunRecord(
            task=s.task_id,
            seed=s.seed,
            phases_requested=list(s.phases),
            submission=SubmissionRecord(
                reference=s.submission,
                loader=sub.loader,
                requirements=list(sub.requirements),
                content_hash=self.content_hash,
                package_versions=self._submission_package_versions(),
            ),
            settings=plain_settings(s),
            gin_config=s.gin_text,
            versions=package_versions(),
            machine=machine_facts(),
            started=previous.started if previous else now(),
            phases=previous.phases if previous else {},
            metric_errors=self.metric_errors,
            trust={"mode": "untrusted" if s.untrusted else "trusted", "sandbox": self.sandbox},
            environment=None if self.environment is None else self.environment.recorded(),
            datasets=[d.to_json() for d in self.datasets],
        )

    def _submission_package_versions(self) -> dict[str, str | None]:
        """The submission's packages as the participant's processes see them (in its environment with --isolate)."""
        from packaging.utils import canonicalize_name

        versions = submission_package_versions(self.submission.root, self.submission.requirements)
        if self.environment is None:
            return versions
        inside = {canonicalize_name(name): version for name, version in self.environment.packages.items()}
        return {canonicalize_name(name): inside.get(canonicalize_name(name)) for name in versions}

    def _start_warm_up(self) -> threading.Thread:
        """Every metric's :meth:`~a2perf_core.metrics.Metric.warm_up`, in turn, in a background thread
        that overlaps the phase processes' start-up; :meth:`_warmed_up` waits for it."""

        def warm_up() -> None:
            for name, metric in self.metrics.items():
                options = self.settings.metric_options.get(name, {})
                self._guard(name, "warm_up", lambda m=metric, o=options: m.warm_up(o))

        thread = threading.Thread(target=warm_up, name="a2perf-metrics-warm-up", daemon=True)
        thread.start()
        return thread

    def _warmed_up(self) -> None:
        """Wait until every metric's warm-up returned (before any metric step runs)."""
        if self._warm_up is not None:
            self._warm_up.join()
            self._warm_up = None

    def _write(self) -> None:
        write_json(self.run_dir / RUN_JSON, self.record.to_json())
        write_json(self.run_dir / METRICS_JSON, [v.to_json() for v in self.values])

    def execute(self) -> RunOutcome:
        try:
            return self._execute()
        finally:
            self._end_prestarted()
            self.lock.release()

    def _prestart(self, previous: RunRecord | None) -> None:
        """Start the process of every phase still to run now, so that their interpreters' start-up
        and imports overlap the harness's own start instead of preceding each phase."""
        done = {name for name, record in (previous.phases if previous else {}).items() if record.status == "ok"}
        for phase in self.settings.phases:
            if phase not in done:
                for label in self._phase_tasks(phase)[0].values():
                    child = ChildProcess(label)
                    child.prestart(None if self.environment is None else self.environment.python)
                    self.prestarted[label] = child

    def _hold_back_prestarted(self) -> None:
        """Wait until every prestarted process has done its imports and blocks, so that none of them
        runs while a phase is measured; one still busy after :data:`PREPARE_TIMEOUT_S` is ended (its
        phase will start a fresh process)."""
        for label, child in list(self.prestarted.items()):
            if not child.wait_prepared(PREPARE_TIMEOUT_S):
                child.end_tree()
                del self.prestarted[label]

    def _end_prestarted(self) -> None:
        """End the prestarted processes no phase used (a failed phase, Ctrl-C, an error)."""
        while self.prestarted:
            self.prestarted.popitem()[1].end_tree()

    def _execute(self) -> RunOutcome:
        self._write()
        phases = self.record.phases
        failed_before = None
        for phase in self.settings.phases:
            earlier = phases.get(phase)
            if earlier is not None and earlier.status == "ok":
                earlier.resumed = True
                continue
            self.values = [v for v in self.values if not _phase_labels_match(phase, v.phase)]
            if failed_before:
                phases[phase] = PhaseRecord(status="not run", reason=f"the {failed_before} phase failed")
                continue
            self.attempt = None
            try:
                phases[phase] = self._run_phase(phase)
            except KeyboardInterrupt as exc:  # a PhaseInterrupted's message names the signal
                reason = str(exc) or "interrupted (Ctrl-C)"
                attempt = None if self.attempt is None else self.attempt.id
                phases[phase] = PhaseRecord(status="failed", reason=reason, ended=now(), attempt=attempt)
                self.record.ended = now()
                self._write()
                raise
            if phases[phase].status == "failed":
                failed_before = phase
            self._write()
        self._analyze()
        self.record.ended = now()
        self._write()
        return RunOutcome(
            self.run_dir, {name: r.to_json() for name, r in phases.items()}, list(self.values), self.record
        )

    def _job(self, phase: str, label: str, task_id: str, records_dir: Path) -> PhaseJob:
        s, sub = self.settings, self.submission
        env_kwargs = {**s.env_kwargs, **(s.train_env_kwargs if phase == "train" else {})}
        environ = job_environ(
            self.run_dir,
            phase,
            task_id,
            s.seed,
            s.num_train_steps,
            env_kwargs,
            records_dir=records_dir,
            untrusted=s.untrusted,
        )
        environ.update(phase_environ(phase, [d.id for d in self.datasets], s.offline))
        if self.environment is not None:
            environ.update(self.environment.phase_environ())
        return PhaseJob(
            phase=phase,
            label=label,
            task_id=s.task_id,
            generalization_task=task_id,
            seed=s.seed,
            run_dir=str(records_dir),
            cwd=str(sub.root),
            sys_path=tuple(sub.sys_path),
            train_module=sub.train_module,
            inference_module=sub.inference_module,
            environ=environ,
            participant_args=dict(s.participant_args),
            env_kwargs=env_kwargs,
            num_inference_episodes=s.num_inference_episodes,
            num_inference_steps=s.num_inference_steps,
            num_warmup_calls=s.num_warmup_calls,
            num_generalization_episodes=s.num_generalization_episodes,
            untrusted=s.untrusted,
            python=None if self.environment is None else self.environment.python,
        )

    def _phase_tasks(self, phase: str) -> tuple[dict[str, str], dict[str, str]]:
        """The phase's processes (task id -> label), and the generalization tasks left out (task id -> why)."""
        if phase != "generalization":
            return {self.settings.task_id: phase}, {}
        task_ids = list(self.settings.generalization_tasks or generalization_set(self.settings.task_id))
        missing = {t: m for t in task_ids if (m := missing_data(t))}
        skipped = {t: f"data missing: {', '.join(m)} (a2perf data fetch {' '.join(m)})" for t, m in missing.items()}
        return {t: f"generalization-{t}" for t in task_ids if t not in missing}, skipped

    def _run_phase(self, phase: str) -> PhaseRecord:
        started = now()
        labels, skipped = self._phase_tasks(phase)
        if not labels:
            missing = bool(skipped)
            reason = "no generalization task has its data" if missing else "the domain has no generalization set"
            return PhaseRecord(status="skipped", reason=reason, started=started, skipped_tasks=skipped)
        self.attempt = attempt = new_attempt(self.run_dir, phase)
        parts: list[tuple[ProcessRecord, PhaseResult]] = []
        try:
            for task_id, label in labels.items():
                parts.append(self._run_child(phase, label, task_id, attempt))
        finally:  # however the attempt ends
            promote(self.run_dir, attempt, list(labels.values()))
            self.record.phase_in_progress = None
        processes = [p for p, _ in parts]
        failed = [p for p in processes if p.status != "ok"]
        rss = [p.ru_maxrss_kib for p in processes if p.ru_maxrss_kib]
        cpu = [p.participant_cpu_s for p in processes]
        record = PhaseRecord(
            status="failed" if failed else "ok",
            reason="; ".join(f"{p.label}: {p.reason}" for p in failed) or None,
            started=started,
            ended=now(),
            attempt=attempt.id,
            wall_time_s=sum(p.wall_time_s for p in processes),
            exitcodes={p.label: p.exitcode for p in processes},
            peak_tree_rss_mib=max(p.peak_tree_rss_mib for p in processes),
            ru_maxrss_kib=max(rss) if rss else None,
            containment=", ".join(sorted({p.containment for p in processes})),
            participant_cpu_s=None if None in cpu else sum(cpu),  # type: ignore[arg-type]
            skipped_tasks=skipped,
            reported_by=("participant" if phase == "train" else "harness") if self.settings.untrusted else None,
        )
        if phase == "generalization":
            record.tasks = {p.label.removeprefix("generalization-"): p for p in processes}
            counted = [r for _, r in parts if r.episodes is not None]
            record.episodes = sum(r.episodes or 0 for r in counted) if counted else None
            record.episodes_requested = sum(r.episodes_requested or 0 for _, r in parts)
        else:
            result = parts[0][1]
            for name in attrs.fields_dict(PhaseResult):
                if name != "error":
                    setattr(record, name, getattr(result, name))
        return record

    def _run_child(
        self, phase: str, label: str, task_id: str, attempt: PhaseAttempt
    ) -> tuple[ProcessRecord, PhaseResult]:
        records = attempt.folder
        child = self.prestarted.pop(label, None) or ChildProcess(label)
        pid = child.start(self._job(phase, label, task_id, records))
        self.record.phase_in_progress = PhaseInProgress(phase, attempt.id, pid, attempt.started)
        write_json(self.run_dir / RUN_JSON, self.record.to_json())  # before the release
        contexts = {}
        self._warmed_up()
        for name, metric in self.metrics.items():
            ctx = PhaseContext(
                phase=label,
                run_dir=self.run_dir,
                task_id=task_id,
                seed=self.settings.seed,
                pid=pid,
                options=self.settings.metric_options.get(name, {}),
                records_dir=records,
            )
            contexts[name] = ctx
            self._guard(name, "start", lambda m=metric, c=ctx: m.start(c))
        s = self.settings
        tick = (lambda elapsed: self.progress(label, elapsed, records)) if self.progress else None
        self._hold_back_prestarted()
        for ctx in contexts.values():
            ctx.released_at = time.time()
        try:
            outcome = child.release_and_wait(s.timeout_for(phase), s.max_memory_mib, tick)
        finally:
            for name, metric in self.metrics.items():
                self.values.extend(self._guard(name, "stop", lambda m=metric, c=contexts[name]: m.stop(c)) or [])
        reported = read_json(records / phase_result(label))
        result = PhaseResult.from_json(reported) if reported is not None else PhaseResult()
        rusage = read_json(records / phase_rusage(label)) or {}
        reason = outcome.reason
        if result.error is not None:
            reason = f"{shorten(result.error, phase_error(label))} (traceback in {phase_error(label)})"
        elif reason is None and reported is None:
            reason = f"the process {describe_exit(outcome.exitcode)} without reporting a result"
        elif reason is None:
            reason = result.shortfall()
        if phase == "train" and result.error is None and (refused := violation(records)):
            reason = refused if reason is None else f"{refused}; {reason}"  # train() caught the refusal
        process = ProcessRecord(
            label=label,
            status="ok" if outcome.ok and reason is None else "failed",
            reason=reason,
            exitcode=outcome.exitcode,
            wall_time_s=outcome.wall_time_s,
            peak_tree_rss_mib=outcome.peak_tree_rss_mib,
            ru_maxrss_kib=max(rusage.values()) if rusage else None,
            episodes=result.episodes,
            containment=outcome.containment,
            participant_cpu_s=outcome.participant_cpu_s,
        )
        return process, result

    def _guard(self, name: str, step: str, call: Callable[[], Any]) -> Any:
        """The metric step's result; its failure (or a value that is not JSON) is recorded, never fatal."""
        try:
            result = call()
            for value in result or []:
                check_json(value.to_json(), f"value {value.name!r}")
            return result
        except Exception as exc:  # a metric's failure is reported, never fatal to the run
            self.metric_errors.append(shorten(f"{name}.{step}: {type(exc).__name__}: {exc}", "the metric's plugin"))
            return None

    def _analyze(self) -> None:
        self._warmed_up()
        records = RunRecords(self.run_dir)
        write_json(self.run_dir / RUN_JSON, self.record.to_json())
        for name, metric in self.metrics.items():
            values = self._guard(name, "analyze", lambda m=metric: m.analyze(records)) or []
            if self.settings.untrusted:
                values = [participant_reported(v) if v.phase == "train" else v for v in values]
            fresh = {(v.name, v.phase) for v in values}  # a resumed run's old analysis is replaced
            self.values = [v for v in self.values if (v.name, v.phase) not in fresh]
            self.values.extend(values)
