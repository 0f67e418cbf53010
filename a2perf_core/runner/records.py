"""The typed records of a run: the job sent to a phase's process, and what ``run.json`` holds.

Every record is an attrs class with an explicit ``to_json``/``from_json``; nothing goes through
``default=str``, so a value that is not JSON fails where it is written. ``RUN_FIELDS`` and
``PHASE_FIELDS`` are the documented schema of ``run.json`` (docs/running.md shows the same table,
and a test checks both against a real run).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

RUN_FORMAT = "a2perf-run/2"

#: environment variable naming the folder a phase's processes write their records into (their attempt's)
RECORDS_DIR_ENV = "A2PERF_RECORDS_DIR"

#: what a phase's status may be
PHASE_STATUSES = ("ok", "failed", "not run", "skipped")

#: top-level fields of ``run.json``
RUN_FIELDS: dict[str, str] = {
    "format": f"schema version, `{RUN_FORMAT}`",
    "task": "task id",
    "seed": "seed of the run",
    "phases_requested": "phases asked for, in order",
    "submission": "`reference`, `loader`, `requirements`, `content_hash` (sha256 of its files) and "
    "`package_versions` (installed version of each package it names or imports; null if not installed)",
    "settings": "the resolved settings (`RunSettings` fields)",
    "gin_config": "the resolved gin configuration",
    "versions": "versions of the core, every loaded plugin distribution and key libraries",
    "machine": "host id (hashed), platform, Python, CPU model, logical CPUs, memory",
    "started": "UTC time the run started (kept when resumed)",
    "ended": "UTC time the run ended; null while it runs",
    "phases": "phase name -> phase record (below)",
    "phase_in_progress": "while a phase runs: `phase`, `attempt` (its id), `pid` (of the phase's process) and "
    "`started` (UTC); null otherwise (left set when `a2perf run` was killed)",
    "metric_errors": "errors of metrics that failed to load or raised (the run went on without them)",
    "trust": "`mode`: `trusted` (the default: the participant shares the harness's process) or `untrusted` "
    "(`--untrusted`: the policy runs sandboxed, see Trust model); `sandbox`: what isolated it (`bubblewrap`; "
    "null when trusted)",
    "environment": "`--isolate`: the submission's own environment the phases ran in: `key` (hash of the "
    "requirements, the Python interpreter and the installed core and task plugin), `python`, `created` (UTC), "
    "`reused` (true when the cache held it already) and `packages` (name -> version of everything in it); "
    "null without `--isolate`",
    "datasets": "the offline datasets the run declared (`RunSettings.datasets`, then the submission's "
    "`datasets.txt`): a list of `id` and `data_cost` (as the dataset records it: `energy_kwh`, `env_steps`, "
    "`wall_time_s`, `sources`)",
    "contention": "`executor` (where the run executed), `jobs` (runs it let execute at once) and `shared_machine` "
    "(true when other runs of the same invocation could run beside it on its machine, so its system metrics are "
    "not clean; `a2perf sweep --jobs 1` for clean ones)",
}

#: fields of each phase record in ``run.json`` ``phases``
PHASE_FIELDS: dict[str, str] = {
    "status": "`ok`, `failed`, `not run` or `skipped`",
    "reason": "why it is not ok (at most 1,000 characters; the full text is in `<label>_error.txt`)",
    "started": "UTC start time",
    "ended": "UTC end time",
    "resumed": "true when `--resume` reused it from an earlier invocation",
    "attempt": "id of the attempt whose records are in the run directory (`<phase>-<n>`, see Attempts); "
    "null when no process ran",
    "wall_time_s": "seconds of the participant's span (`wall_clock`), summed over the phase's processes",
    "exitcodes": "process label -> exit code (negative: killed by that signal)",
    "peak_tree_rss_mib": "peak RSS of the process tree, polled by the harness",
    "ru_maxrss_kib": "the kernel's RSS high-water mark of the participant's process (when it reported)",
    "containment": "how the phase's processes were contained and counted: `cgroup v2` (a group per process) or "
    "`subreaper` (the tree under the participant's root, which adopts orphans)",
    "participant_cpu_s": "CPU seconds of every process the phase started, ended and detached ones included",
    "episodes": "episodes completed",
    "episodes_requested": "episodes asked for (inference, generalization)",
    "timed_calls": "timed `infer_once` calls (inference)",
    "warmup_calls": "warm-up `infer_once` calls (inference)",
    "harness_overhead_ns_per_call": "median cost of the timed call path around a no-op `infer_once` (inference)",
    "partial_episode_dropped": "the `num_inference_steps` cap cut an episode short (inference)",
    "step_cap_reached": "the `num_inference_steps` cap ended the phase before all episodes (inference)",
    "skipped_tasks": "generalization task -> why it was skipped (missing data, with the fetch command)",
    "tasks": "generalization task -> record of its process (label, status, reason, exit code, wall time, "
    "RSS, episodes, containment, CPU seconds)",
    "reported_by": "untrusted mode: `participant` (train: its records come from the participant's own process) "
    "or `harness` (inference, generalization); null when trusted",
    "transport_floor_ns": "untrusted mode: median round trip of a no-op request as large as an observation, "
    "the pipe's share of each round trip (inference)",
}

#: at most this many characters of an error message go to run.json and the terminal
MAX_REASON_CHARS = 1000


def shorten(text: str, where: str, limit: int = MAX_REASON_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how much is left out and where the full text is."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters in {where}]"


def check_json(value: Any, where: str) -> Any:
    """``value`` if it is plain JSON (str keys; lists, not tuples or sets), else a TypeError."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, list):
        return [check_json(v, where) for v in value]
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f"{where}: key {key!r} is not a string")
        return {k: check_json(v, where) for k, v in value.items()}
    raise TypeError(f"{where}: {type(value).__name__} {value!r} is not JSON")


def plain_settings(settings: Any) -> dict[str, Any]:
    """``RunSettings`` as JSON: tuples become lists and the ``explicit`` set a sorted list."""

    def convert(value: Any) -> Any:
        if isinstance(value, (set, frozenset)):
            return sorted(value)
        if isinstance(value, tuple):
            return [convert(v) for v in value]
        if isinstance(value, list):
            return [convert(v) for v in value]
        if isinstance(value, Mapping):
            return {k: convert(v) for k, v in value.items()}
        return value

    return check_json(convert(attrs.asdict(settings, recurse=False)), "settings")


class FlatRecord:
    """A record of plain JSON values (no nested records): written and read field by field."""

    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        return check_json(attrs.asdict(self, recurse=False), type(self).__name__)  # type: ignore[arg-type]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Any:
        return cls(**data)


@attrs.frozen
class PhaseJob:
    """What a phase's child process needs, pickled to it: plain values only."""

    phase: str
    label: str
    task_id: str
    #: the task this process runs (the generalization task, else ``task_id``)
    generalization_task: str
    seed: int
    #: the folder the phase's records go to: its attempt's, never the run directory itself
    run_dir: str
    cwd: str
    sys_path: tuple[str, ...]
    train_module: str
    inference_module: str
    environ: Mapping[str, str]
    participant_args: Mapping[str, Any]
    env_kwargs: Mapping[str, Any]
    num_inference_episodes: int
    num_inference_steps: int | None
    num_warmup_calls: int
    num_generalization_episodes: int
    #: ``--untrusted``: inference and generalization keep the policy in a sandboxed process of its own
    untrusted: bool = False
    #: ``--isolate``: the interpreter of the submission's environment; None: the harness's
    python: str | None = None

    def __getitem__(self, name: str) -> Any:
        """Mapping access, for executors written against the dict job of ``a2perf-run/1``."""
        return getattr(self, name)

    def to_json(self) -> dict[str, Any]:
        data = attrs.asdict(self, recurse=False)
        data["sys_path"] = list(self.sys_path)
        data["environ"] = dict(self.environ)
        data["participant_args"] = dict(self.participant_args)
        data["env_kwargs"] = dict(self.env_kwargs)
        return check_json(data, "PhaseJob")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PhaseJob:
        return cls(**{**data, "sys_path": tuple(data["sys_path"])})


@attrs.frozen
class PhaseResult(FlatRecord):
    """What a phase's process reports about itself in ``.<label>_result.json``."""

    episodes: int | None = None
    episodes_requested: int | None = None
    timed_calls: int | None = None
    warmup_calls: int | None = None
    harness_overhead_ns_per_call: float | None = None
    partial_episode_dropped: bool | None = None
    step_cap_reached: bool | None = None
    transport_floor_ns: float | None = None
    #: ``"Type: message"`` when the phase raised
    error: str | None = None

    def shortfall(self) -> str | None:
        """Why the result is incomplete: fewer episodes than asked, unless a step cap ended the phase."""
        if self.episodes_requested is None or self.episodes is None or self.step_cap_reached:
            return None
        if self.episodes < self.episodes_requested:
            return f"only {self.episodes} of {self.episodes_requested} episodes completed"
        return None


@attrs.frozen
class ProcessRecord(FlatRecord):
    """One phase process: how it ended and what it reported."""

    label: str
    status: str
    reason: str | None
    exitcode: int | None
    wall_time_s: float
    peak_tree_rss_mib: float
    ru_maxrss_kib: int | None
    episodes: int | None = None
    #: how the phase's processes were held together: ``cgroup v2`` or ``subreaper``
    containment: str | None = None
    participant_cpu_s: float | None = None


@attrs.define
class PhaseRecord:
    """One phase in ``run.json``: every field of ``PHASE_FIELDS``, null where it does not apply."""

    status: str = attrs.field(validator=attrs.validators.in_(PHASE_STATUSES))
    reason: str | None = None
    started: str | None = None
    ended: str | None = None
    resumed: bool = False
    attempt: str | None = None
    wall_time_s: float | None = None
    exitcodes: dict[str, int | None] = attrs.Factory(dict)
    peak_tree_rss_mib: float | None = None
    ru_maxrss_kib: int | None = None
    containment: str | None = None
    participant_cpu_s: float | None = None
    episodes: int | None = None
    episodes_requested: int | None = None
    timed_calls: int | None = None
    warmup_calls: int | None = None
    harness_overhead_ns_per_call: float | None = None
    partial_episode_dropped: bool | None = None
    step_cap_reached: bool | None = None
    skipped_tasks: dict[str, str] = attrs.Factory(dict)
    tasks: dict[str, ProcessRecord] = attrs.Factory(dict)
    reported_by: str | None = None
    transport_floor_ns: float | None = None

    def to_json(self) -> dict[str, Any]:
        data = attrs.asdict(self, recurse=False)
        data["exitcodes"] = dict(self.exitcodes)
        data["skipped_tasks"] = dict(self.skipped_tasks)
        data["tasks"] = {name: record.to_json() for name, record in self.tasks.items()}
        return check_json(data, "PhaseRecord")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PhaseRecord:
        tasks = {name: ProcessRecord.from_json(r) for name, r in data.get("tasks", {}).items()}
        return cls(**{**data, "tasks": tasks})


@attrs.define
class SubmissionRecord(FlatRecord):
    """Which submission ran, by reference and by content."""

    reference: str
    loader: str
    requirements: list[str]
    content_hash: str
    package_versions: dict[str, str | None]


@attrs.frozen
class PhaseInProgress(FlatRecord):
    """The phase attempt running now, in ``run.json`` while it runs."""

    phase: str
    attempt: str
    #: the phase's root process
    pid: int
    started: str


def sole_run(executor: str) -> dict[str, Any]:
    """``run.json`` ``contention`` of a run no other run of its invocation ran beside."""
    return {"executor": executor, "jobs": 1, "shared_machine": False}


@attrs.define
class RunRecord:
    """``run.json``: every field of ``RUN_FIELDS``."""

    task: str
    seed: int
    phases_requested: list[str]
    submission: SubmissionRecord
    settings: dict[str, Any]
    gin_config: str
    versions: dict[str, str]
    machine: dict[str, Any]
    started: str
    ended: str | None = None
    phases: dict[str, PhaseRecord] = attrs.Factory(dict)
    phase_in_progress: PhaseInProgress | None = None
    metric_errors: list[str] = attrs.Factory(list)
    trust: dict[str, str | None] = attrs.Factory(lambda: {"mode": "trusted", "sandbox": None})
    environment: dict[str, Any] | None = None
    contention: dict[str, Any] = attrs.Factory(lambda: sole_run("local"))
    datasets: list[dict[str, Any]] = attrs.Factory(list)
    format: str = RUN_FORMAT

    def to_json(self) -> dict[str, Any]:
        data = attrs.asdict(self, recurse=False)
        data["submission"] = self.submission.to_json()
        data["phases"] = {name: record.to_json() for name, record in self.phases.items()}
        data["phase_in_progress"] = None if self.phase_in_progress is None else self.phase_in_progress.to_json()
        return check_json(data, "RunRecord")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunRecord:
        """A ``run.json`` of this format (also one written before attempts: their fields are null); an older
        or foreign file is a ValueError."""
        if data.get("format") != RUN_FORMAT:
            raise ValueError(f"format {data.get('format')!r}, not {RUN_FORMAT}")
        phases = {name: PhaseRecord.from_json(r) for name, r in data["phases"].items()}
        submission = SubmissionRecord.from_json(data["submission"])
        running = data.get("phase_in_progress")
        in_progress = None if running is None else PhaseInProgress.from_json(running)
        return cls(**{**data, "phases": phases, "submission": submission, "phase_in_progress": in_progress})
