"""Wall-clock time per phase: the span of the participant's own calls, as the phase process noted it.

The phase process writes its marks to a hidden file in the run directory (``.<label>_span.json``),
taken with ``time.monotonic()``, which on Linux is ``CLOCK_MONOTONIC``: one clock for every process
of the machine, so the harness and the metrics can compare the child's marks with their own times.

- ``ready``: the process is set up (tasks registered) and waits to be released;
- ``started``: just before the harness calls into the participant, i.e. before it imports the
  participant's ``train`` / ``inference`` module (module-level code is the participant's);
- ``ended``: just after the participant's last call returned (``train()``, or the last episode's
  ``infer_once`` and ``env.step``), or raised.

Everything the harness does before ``started`` (interpreter start, imports, task registration, env
creation, metric start-up) and after ``ended`` (closing the env, writing results, process exit,
metric stop) is outside the span.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import attrs

from a2perf_core.metrics import Metric, MetricValue, RunRecords

SPAN_CLOCK = "CLOCK_MONOTONIC"
MARKS = ("ready", "started", "ended")


def span_path(run_dir: str | os.PathLike[str], label: str) -> Path:
    """The span file of the phase process ``label`` (``train``, ``generalization-<task>``, ...)."""
    return Path(run_dir) / f".{label}_span.json"


@attrs.frozen
class ParticipantSpan:
    """The marks a phase process wrote, in ``time.monotonic()`` seconds (``None``: not reached)."""

    ready: float | None = None
    started: float | None = None
    ended: float | None = None

    @classmethod
    def read(cls, path: Path) -> ParticipantSpan:
        """The marks in ``path``; no file (or an unreadable one) means no mark was reached."""
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return cls()
        if not isinstance(data, dict):
            return cls()
        marks = {k: data.get(k) for k in MARKS}
        return cls(**{k: float(v) if isinstance(v, (int, float)) else None for k, v in marks.items()})

    def window(self, released: float, exited: float) -> tuple[float, float] | None:
        """``(start, end)`` of the participant's span, clamped to the process's ``[released, exited]``.

        ``None`` when the participant was never called. A process that ended without its ``ended``
        mark (killed, timed out, ``os._exit``) ends at ``exited``, the moment the harness saw it end.
        Clamping keeps a wrong mark from making the span longer than the process ran.
        """
        if self.started is None:
            return None
        start = min(max(self.started, released), exited)
        end = exited if self.ended is None else min(max(self.ended, start), exited)
        return start, end


class SpanMarks:
    """The phase process's side: notes each mark once and rewrites the span file at once
    (atomically), so a process that is killed later keeps the marks it reached."""

    def __init__(self, path: Path) -> None:
        self.path = path
        earlier = ParticipantSpan.read(path)  # this process's own: the harness removes older files
        self._marks = {k: v for k in MARKS if (v := getattr(earlier, k)) is not None}

    def mark(self, name: str) -> None:
        if name in self._marks:
            return
        self._marks[name] = time.monotonic()
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"clock": SPAN_CLOCK, **self._marks}))
        os.replace(tmp, self.path)


class WallClockMetric(Metric):
    """Reads the phases' wall times from ``run.json``: the participant's span (see the module doc)."""

    def analyze(self, run: RunRecords) -> list[MetricValue]:
        values = []
        for phase, record in run.info.get("phases", {}).items():
            if record.get("wall_time_s") is None:
                continue
            values.append(
                MetricValue(
                    name=f"wall_clock.{phase}",
                    value=record["wall_time_s"],
                    unit="s",
                    direction="lower",
                    phase=phase,
                    description="wall-clock time of the participant's calls in the phase (from just before its "
                    "module is imported until its last call returned)",
                    details={"status": record.get("status")},
                )
            )
        return values
