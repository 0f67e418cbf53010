"""Wall-clock time per phase: measured by the runner from release to exit of the participant."""

from __future__ import annotations

from a2perf_core.metrics import Metric, MetricValue, RunRecords


class WallClockMetric(Metric):
    """Reads the phases' wall times from ``run.json`` (tracker start-up is outside them)."""

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
                    description="wall-clock time of the phase's participant processes",
                    details={"status": record.get("status")},
                )
            )
        return values
