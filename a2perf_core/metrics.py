"""The one interface between the runner and metric plugins.

Lifecycle, for each phase of a run (train, inference, generalization):

0. once per run, as it begins, ``Metric.warm_up(options)`` runs in a background thread of the harness
   while the phase processes start: one-time set-up (imports, hardware detection) done there is in
   no phase's start, and so neither delays a phase nor falls near the participant's span;
1. the runner starts the participant's child process, which waits;
2. ``Metric.start(phase)`` is called in the harness process with ``phase.pid`` set, so a metric can
   start samplers or trackers (their start-up is outside the timed region);
3. the runner releases the child; the phase's wall clock runs until the child ends;
4. ``Metric.stop(phase)`` returns the values measured during the phase.

After all phases, ``Metric.analyze(run)`` computes values from the raw records the runner wrote
(:class:`RunRecords`), and after several seeds ``Metric.summarize(runs)`` computes values that need
more than one run. Per-call work (each ``infer_once``) never goes through pluggy or a metric: the
runner times calls itself and writes the samples to the records.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs

if TYPE_CHECKING:
    import numpy as np

Direction = Literal["lower", "higher", "none"]

#: raw record files written by the runner, relative to the run directory
TRAIN_LOG = "train_log.csv"
TRAIN_SCALARS = "train_scalars.csv"
#: evaluation episodes the participant ran while training, beside the training log
EVAL_LOG = "eval_log.csv"
INFERENCE_EPISODES = "inference_episodes.csv"
LATENCIES = "latencies_ns.npy"
WARMUP_LATENCIES = "warmup_latencies_ns.npy"
GENERALIZATION_EPISODES = "generalization_episodes.csv"
RUN_JSON = "run.json"
METRICS_JSON = "metrics.json"
#: the child appends each latency sample here as it is taken (raw native int64); the runner
#: turns them into LATENCIES / WARMUP_LATENCIES when the phase ends, however it ends
LATENCIES_RAW = ".latencies_ns.i64"
WARMUP_LATENCIES_RAW = ".warmup_latencies_ns.i64"
#: untrusted mode: each timed call's round trip as the harness saw it (observation sent -> action decoded)
LATENCIES_ROUNDTRIP = "latencies_roundtrip_ns.npy"
LATENCIES_ROUNDTRIP_RAW = ".latencies_roundtrip_ns.i64"


def phase_log(label: str) -> str:
    """The participant's stdout and stderr in the phase process ``label``."""
    return f"{label}.log"


def phase_error(label: str) -> str:
    """The full traceback when the phase process ``label`` raised."""
    return f"{label}_error.txt"


def phase_result(label: str) -> str:
    """What the phase process ``label`` reports (``PhaseResult``), written as it ends."""
    return f".{label}_result.json"


def phase_rusage(label: str) -> str:
    """The kernel's memory high-water marks of the phase process ``label``."""
    return f".{label}_rusage.json"


@attrs.frozen
class MetricValue:
    """One measured number with its unit and which direction is better."""

    name: str
    value: float | int | str | bool | None
    unit: str = ""
    direction: Direction = "none"
    phase: str | None = None
    description: str = ""
    #: how the value was obtained (method, source, sample count, ...)
    details: Mapping[str, Any] = attrs.field(factory=dict)

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MetricValue:
        return cls(**data)


@attrs.define
class PhaseContext:
    """What a metric may know about the phase being measured."""

    phase: str
    run_dir: Path
    task_id: str
    seed: int
    #: process id of the participant's child process (the root of the process tree to watch)
    pid: int | None = None
    #: the metric's own settings (from gin), and the resolved run options
    options: Mapping[str, Any] = attrs.field(factory=dict)
    #: ``time.time()`` when the participant was released: set after every ``start`` returned, so a
    #: sampler started early can leave out what it saw while other metrics were starting
    released_at: float | None = None
    #: the folder the phase process writes its records into while it runs (the phase attempt's;
    #: they are moved into ``run_dir`` when the phase ends), e.g. its span file
    records_dir: Path | None = None

    @property
    def live_records(self) -> Path:
        """Where the phase process's records are while the phase runs."""
        return self.records_dir or self.run_dir

    def path(self, name: str) -> Path:
        """A file in the run directory for this phase, e.g. ``path("memory.csv")`` -> ``memory_train.csv``."""
        stem, dot, suffix = name.rpartition(".")
        return self.run_dir / (f"{stem}_{self.phase}.{suffix}" if dot else f"{name}_{self.phase}")


class Metric:
    """Base class of metric plugins; override only the steps you need. Defaults do nothing."""

    def warm_up(self, options: Mapping[str, Any]) -> None:
        """Called once per run, in a background thread, before the first phase's :meth:`start` (which
        waits for it to return). For set-up that is the same for every phase and slow only the first
        time in a process. ``options``: the metric's settings for the run (as ``PhaseContext.options``).
        A failure is recorded as the metric's error; its phases still call :meth:`start`."""

    def start(self, phase: PhaseContext) -> None:
        """Called before the participant's timed region begins."""

    def stop(self, phase: PhaseContext) -> list[MetricValue]:
        """Called after the participant's process ended (success or failure)."""
        return []

    def analyze(self, run: RunRecords) -> list[MetricValue]:
        """Called once after all phases, from the raw records."""
        return []

    def summarize(self, runs: Sequence[RunRecords]) -> list[MetricValue]:
        """Called once after several runs (seeds) of the same task and submission."""
        return []


class RunRecords:
    """Read access to one run directory's raw records; tolerant of phases that never ran."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)

    def __repr__(self) -> str:
        return f"RunRecords({str(self.run_dir)!r})"

    @property
    def info(self) -> dict[str, Any]:
        """The contents of ``run.json`` (empty if absent)."""
        path = self.run_dir / RUN_JSON
        return json.loads(path.read_text()) if path.exists() else {}

    def phase_ok(self, phase: str) -> bool:
        return self.info.get("phases", {}).get(phase, {}).get("status") == "ok"

    def table(self, name: str) -> dict[str, np.ndarray]:
        """A CSV record as columns; numeric columns become float arrays. Missing file: no columns."""
        import numpy as np

        path = self.run_dir / name
        if not path.exists():
            return {}
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows:
            with path.open(newline="") as f:
                header = next(csv.reader(f), [])
            return {h: np.array([], dtype=float) for h in header}
        columns: dict[str, np.ndarray] = {}
        for key in rows[0]:
            values = [r[key] for r in rows]
            try:
                columns[key] = np.array([float(v) for v in values])
            except ValueError:
                columns[key] = np.array(values)
        return columns

    def train_log(self) -> dict[str, np.ndarray]:
        """Columns ``global_step, episode_return, episode_length, wall_time_s, finished`` (0: cut off)."""
        return self.table(TRAIN_LOG)

    def inference_episodes(self) -> dict[str, np.ndarray]:
        """Columns ``episode, return, length``: one row per inference episode."""
        return self.table(INFERENCE_EPISODES)

    def generalization_episodes(self) -> dict[str, np.ndarray]:
        """Columns ``task, episode, return, length``."""
        return self.table(GENERALIZATION_EPISODES)

    def latencies_ns(self) -> np.ndarray:
        """Nanoseconds of each timed ``infer_once`` call (warm-up excluded)."""
        return self._array(LATENCIES)

    def warmup_latencies_ns(self) -> np.ndarray:
        return self._array(WARMUP_LATENCIES)

    def latencies_roundtrip_ns(self) -> np.ndarray:
        """Untrusted mode: the harness-observed round trip of each timed call (empty in trusted mode)."""
        return self._array(LATENCIES_ROUNDTRIP)

    def _array(self, name: str) -> np.ndarray:
        import numpy as np

        path = self.run_dir / name
        return np.load(path) if path.exists() else np.array([], dtype=np.int64)
