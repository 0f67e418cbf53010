"""The ``energy`` metric: codecarbon's offline tracker over the participant's span of each phase.

The first tracker of a process costs a few tenths of a second (hardware detection, codecarbon's
imports; its tables are read without pandas, see :mod:`a2perf_energy.tables`); later ones take
milliseconds, from codecarbon's per-process caches. So
:meth:`EnergyMetric.warm_up` builds a throwaway tracker in the runner's background thread while the
phase processes start, and each phase's tracker is built in :meth:`EnergyMetric.start`, before the
runner releases the phase process. The tracker is started and stopped by a
:class:`ParticipantWindow`: a thread that watches the phase process's span file
(:mod:`a2perf_core.runner.wallclock`) and starts the tracker when the participant's first call is
noted and stops it when its last call returned, so the energy window is the span ``wall_clock``
reports, give or take the poll interval and the tracker's own start.
It never touches the network: the offline tracker takes the carbon intensity from tables bundled
with codecarbon. Every value states how the CPU figure was obtained, because on most machines
without RAPL counters it is a model (a TDP times a CPU share), not a measurement.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import gin

from a2perf_core.errors import A2PerfError
from a2perf_core.metrics import Metric, MetricValue, PhaseContext
from a2perf_core.runner.wallclock import ParticipantSpan, span_path

#: power sampling interval (s) per phase: long training phases need fewer samples
DEFAULT_MEASURE_POWER_SECS: Mapping[str, float] = {"train": 5.0, "inference": 1.0, "generalization": 1.0}
OTHER_PHASES_MEASURE_POWER_SECS = 1.0
J_PER_KWH = 3.6e6
CSV_NAME = "emissions.csv"
#: codecarbon detects the CPU once per process and warns only then that its TDP is a generic default
_generic_tdp_warned = False
#: what codecarbon warned while it built this process's first tracker (which power model it fell back
#: on); it says so only then, and it holds for every later tracker, so each phase's details repeat it
_first_tracker_warnings: list[str] | None = None
#: how often the window thread reads the span file: the most the tracker starts or stops late by
SPAN_POLL_S = 0.005


class EnergyMetricError(A2PerfError):
    """The energy metric was configured or used in a way it cannot measure."""


def kernel_cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """The CPU's brand string as the Linux kernel reports it (``model name``), ``None`` elsewhere.

    On x86 the kernel reads it with the same CPUID leaves py-cpuinfo uses for ``brand_raw``, which
    is all codecarbon takes from py-cpuinfo; py-cpuinfo spends a second or more in a probe process.
    """
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            return value.strip()
    return None


def prime_codecarbon_cpu_model() -> None:
    """Fill codecarbon's per-process cache of the CPU model from the kernel's, once, so the first
    tracker of a run skips py-cpuinfo's probe; without a kernel value codecarbon probes as usual."""
    from codecarbon.core import util

    model = kernel_cpu_model()
    if model is None or util.detect_cpu_model.cache_info().currsize:
        return
    import cpuinfo

    probe = cpuinfo.get_cpu_info
    cpuinfo.get_cpu_info = lambda: {"brand_raw": model}
    try:
        util.detect_cpu_model()  # lru_cache: codecarbon's every later call returns this value
    finally:
        cpuinfo.get_cpu_info = probe


@contextlib.contextmanager
def captured_codecarbon_warnings() -> Iterator[list[str]]:
    """Collect codecarbon's warnings (they say which power model it fell back on) without printing them.

    A logger filter, not a handler swap: codecarbon's constructor installs its own stream handler.
    """
    logger = logging.getLogger("codecarbon")
    messages: list[str] = []

    def collect(record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            messages.append(record.getMessage())
        return False

    level = logger.level
    logger.addFilter(collect)
    try:
        yield messages
    finally:
        logger.removeFilter(collect)
        logger.setLevel(level)


class ParticipantWindow:
    """Runs ``tracker`` over the participant's span: started when the phase process notes its first
    call, stopped when it notes the last one returned (or, without that mark, at :meth:`finish`,
    after the process ended). ``started_at`` / ``stopped_at`` are when the tracker's start and stop
    began, on the span's clock (``time.monotonic()``)."""

    def __init__(self, tracker: Any, path: Path, poll_s: float = SPAN_POLL_S) -> None:
        self.tracker = tracker
        self.path = path
        self.poll_s = poll_s
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self.span = ParticipantSpan()
        self.warnings: list[str] = []
        self._finished = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="a2perf-energy-window", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while True:
            finishing = self._finished.is_set()
            self.span = ParticipantSpan.read(self.path)
            if self.span.started is not None and self.started_at is None:
                self._start()
            if self.span.ended is not None or finishing:
                break
            self._finished.wait(self.poll_s)
        self._stop()

    def _start(self) -> None:
        self.started_at = time.monotonic()
        with captured_codecarbon_warnings() as warnings:
            self.tracker.start()
        self.warnings += warnings

    def _stop(self) -> None:
        with self._lock:
            if self.started_at is None or self.stopped_at is not None:
                return
            self.stopped_at = time.monotonic()
            with captured_codecarbon_warnings() as warnings:
                self.tracker.stop()
            self.warnings += warnings

    def finish(self) -> None:
        """The phase process ended: stop the tracker if the span's end was never noted."""
        self._finished.set()
        self._thread.join()
        self._stop()

    def details(self) -> dict[str, Any]:
        """How the tracked interval relates to the participant's span (seconds, ``None`` if unknown)."""
        span = self.span

        def lag(at: float | None, mark: float | None) -> float | None:
            return None if at is None or mark is None else at - mark

        return {
            "window": "participant span (wall_clock)",
            "window_start_lag_s": lag(self.started_at, span.started),
            "window_end_lag_s": lag(self.stopped_at, span.ended),
            "window_end": "participant's last call" if span.ended is not None else "phase process ended",
            "window_started_monotonic_s": self.started_at,
            "window_stopped_monotonic_s": self.stopped_at,
        }


@gin.configurable(module="a2perf_energy")
class EnergyMetric(Metric):
    """Energy (kWh) split into CPU/RAM/GPU, emissions (kg CO2eq) and mean power (W) of each phase."""

    def __init__(
        self,
        measure_power_secs: float | Mapping[str, float] = DEFAULT_MEASURE_POWER_SECS,
        tracking_mode: str = "process",
        country_iso_code: str = "USA",
        region: str | None = None,
        force_cpu_power: float | None = None,
        force_ram_power: float | None = None,
        pue: float = 1.0,
        log_level: str = "error",
        track_participant_cpu: bool = True,
        gpu_ids: list[int | str] | None = None,
    ) -> None:
        if tracking_mode not in ("process", "machine"):
            raise EnergyMetricError(f"energy tracking_mode must be 'process' or 'machine', got {tracking_mode!r}")
        if not (isinstance(country_iso_code, str) and len(country_iso_code) == 3 and country_iso_code.isalpha()):
            raise EnergyMetricError(
                f"energy country_iso_code must be a 3-letter ISO 3166 code such as 'USA' or 'FRA', "
                f"got {country_iso_code!r}"
            )
        for name, value in (("force_cpu_power", force_cpu_power), ("force_ram_power", force_ram_power)):
            if value is not None and value <= 0:
                raise EnergyMetricError(f"energy {name} must be a positive number of watts, got {value!r}")
        self._settings = {
            "measure_power_secs": measure_power_secs,
            "tracking_mode": tracking_mode,
            "country_iso_code": country_iso_code,
            "region": region,
            "force_cpu_power": force_cpu_power,
            "force_ram_power": force_ram_power,
            "pue": pue,
            "log_level": log_level,
            "track_participant_cpu": track_participant_cpu,
            "gpu_ids": gpu_ids,
        }
        self.measure_power_secs = measure_power_secs
        self.tracking_mode = tracking_mode
        self.country_iso_code = country_iso_code.upper()
        self.region = region
        self.force_cpu_power = force_cpu_power
        self.force_ram_power = force_ram_power
        self.pue = float(pue)
        self.log_level = log_level
        self.track_participant_cpu = track_participant_cpu
        self.gpu_ids = list(gpu_ids) if gpu_ids is not None else None
        self._trackers: dict[str, tuple[ParticipantWindow, dict[str, Any], EnergyMetric]] = {}

    def with_options(self, options: Mapping[str, Any]) -> EnergyMetric:
        """These settings overridden by a run's ``metric_options["energy"]`` (e.g. from A2Perf gin files)."""
        known = {k: v for k, v in options.items() if k in self._settings}
        return EnergyMetric(**{**self._settings, **known}) if known else self

    def _tracker(self, measure_power_secs: float, project_name: str) -> tuple[Any, list[str]]:
        """A tracker with these settings and its lazy set-up done, and codecarbon's warnings that apply
        to it. It writes no file: codecarbon's CSV output imports pandas and rewrites the file with it;
        :func:`write_emissions_csv` appends the row instead."""
        from codecarbon import OfflineEmissionsTracker

        from a2perf_energy.tables import prime_codecarbon_tables

        global _first_tracker_warnings
        with captured_codecarbon_warnings() as warnings:
            prime_codecarbon_cpu_model()
            prime_codecarbon_tables()  # matches the CPU's TDP, and warns when it knows no such CPU
            tracker = OfflineEmissionsTracker(
                country_iso_code=self.country_iso_code,
                region=self.region,
                measure_power_secs=measure_power_secs,
                tracking_mode=self.tracking_mode,
                force_cpu_power=self.force_cpu_power,
                force_ram_power=self.force_ram_power,
                pue=self.pue,
                gpu_ids=self.gpu_ids,
                output_methods=[],  # no file, no API: the metric writes the CSV
                project_name=project_name,
                allow_multiple_runs=True,
                log_level="warning",  # collected, not printed: they say which power model applies
            )
            prepare_before_the_window(tracker)
        if _first_tracker_warnings is None:
            _first_tracker_warnings = list(warnings)
        return tracker, list(dict.fromkeys([*_first_tracker_warnings, *warnings]))

    def warm_up(self, options: Mapping[str, Any]) -> None:
        """Build one tracker with the run's settings and drop it: codecarbon keeps what it detected
        (hardware, TDP table, emissions data) for every later tracker of this process."""
        cfg = self.with_options(options)
        cfg._tracker(OTHER_PHASES_MEASURE_POWER_SECS, "a2perf warm-up")
        logging.getLogger("codecarbon").setLevel(cfg.log_level.upper())

    def power_interval(self, phase: str) -> float:
        """Seconds between power samples; ``generalization-<task>`` phase labels use ``generalization``."""
        if not isinstance(self.measure_power_secs, Mapping):
            return float(self.measure_power_secs)
        for key in (phase, phase.partition("-")[0]):
            if key in self.measure_power_secs:
                return float(self.measure_power_secs[key])
        return OTHER_PHASES_MEASURE_POWER_SECS

    def start(self, phase: PhaseContext) -> None:
        cfg = self.with_options(phase.options)
        if phase.pid is None and cfg.tracking_mode == "process":
            raise EnergyMetricError(
                f"the energy metric in 'process' mode needs the participant's process id in phase {phase.phase!r}"
            )
        tracker, warnings = cfg._tracker(
            cfg.power_interval(phase.phase),
            str(phase.options.get("project_name") or f"a2perf {phase.task_id} {phase.phase}"),
        )
        cpu_tree = "harness process tree (codecarbon's default)"
        cpu = _cpu_hardware(tracker)
        if (
            cfg.track_participant_cpu
            and cfg.tracking_mode == "process"
            and phase.pid is not None
            and cpu is not None
            and getattr(cpu, "_mode", None) == "cpu_load"
            and hasattr(cpu, "_get_process_cpu_times")
        ):
            from a2perf_energy.cputime import ParticipantCpuClock

            cpu._get_process_cpu_times = ParticipantCpuClock(phase.pid).as_codecarbon_times
            cpu_tree = "participant process tree, ended processes included"
        logging.getLogger("codecarbon").setLevel(cfg.log_level.upper())
        method = cfg._method(tracker, cpu, cpu_tree, warnings)
        method["measure_power_secs"] = cfg.power_interval(phase.phase)
        method["csv"] = phase.path(CSV_NAME).name
        window = ParticipantWindow(tracker, span_path(phase.live_records, phase.phase))
        self._trackers[phase.phase] = (window, method, cfg)

    def stop(self, phase: PhaseContext) -> list[MetricValue]:
        entry = self._trackers.pop(phase.phase, None)
        if entry is None:
            return []
        window, method, cfg = entry
        window.finish()
        logging.getLogger("codecarbon").setLevel(cfg.log_level.upper())
        method = {
            **method,
            **window.details(),
            "codecarbon_warnings": [*method["codecarbon_warnings"], *window.warnings],
        }
        if window.started_at is None:
            return [
                MetricValue(
                    "energy.status",
                    "not measured",
                    "",
                    "none",
                    phase.phase,
                    "the participant was never called in this phase, so there is no span to measure",
                    method,
                )
            ]
        data = getattr(window.tracker, "final_emissions_data", None)
        if data is not None:
            write_emissions_csv(phase.path(CSV_NAME), data)
        if data is None:
            return [
                MetricValue(
                    "energy.status",
                    "failed",
                    "",
                    "none",
                    phase.phase,
                    "codecarbon did not produce a measurement",
                    method,
                )
            ]
        return energy_values(phase.phase, data, method)

    def _method(self, tracker: Any, cpu: Any, cpu_tree: str, warnings: list[str]) -> dict[str, Any]:
        mode = getattr(cpu, "_mode", "unknown")
        tdp = getattr(cpu, "_tdp", None)
        n_cpus = getattr(cpu, "_cpu_count", None)
        global _generic_tdp_warned
        _generic_tdp_warned = _generic_tdp_warned or any("don't know" in w or "W per thread" in w for w in warnings)
        if self.force_cpu_power is not None:
            tdp_source = "forced by force_cpu_power"
        elif _generic_tdp_warned or getattr(cpu, "_is_generic_tdp", False):
            tdp_source = "codecarbon's default of 4 W per logical CPU (CPU model not in its table)"
        else:
            tdp_source = "codecarbon's TDP table for the CPU model"
        if mode == "intel_rapl":
            kind, cpu_method = "measured", "RAPL energy counters (whole CPU package, every process on it)"
        elif mode == "cpu_load" and self.tracking_mode == "process":
            kind = "model"
            cpu_method = (
                f"CPU-load model: {tdp} W TDP x CPU-seconds of the {cpu_tree} / (seconds x {n_cpus} "
                f"logical CPUs); TDP {tdp_source}"
            )
        elif mode == "cpu_load":
            kind = "model"
            cpu_method = f"CPU-load model: {tdp} W TDP x (0.1 + 0.9 x machine load^3); TDP {tdp_source}"
        elif mode == "constant":
            kind, cpu_method = "constant", f"constant: 50 % of a {tdp} W TDP whatever the load; TDP {tdp_source}"
        else:
            kind, cpu_method = "measured", f"codecarbon mode {mode!r}"
        if self.force_ram_power is not None:
            ram_method = f"constant {self.force_ram_power} W (force_ram_power)"
        else:
            basis = "RSS of the harness process tree" if self.tracking_mode == "process" else "total RAM"
            ram_method = f"codecarbon model: about 5 W per estimated DIMM from the {basis}, 10 W minimum"
        gpus = tracker._conf.get("gpu_count", 0) if hasattr(tracker, "_conf") else 0
        region = self.country_iso_code + (f"/{self.region}" if self.region else "")
        return {
            "cpu_method": cpu_method,
            "cpu_method_kind": kind,
            "cpu_tdp_w": tdp,
            "ram_method": ram_method,
            "gpu_method": "NVML / AMD SMI energy counters" if gpus else "no GPU found (0)",
            "tracking_mode": self.tracking_mode,
            "region": region,
            "pue": self.pue,
            "codecarbon_warnings": list(warnings),
        }


#: codecarbon's lazy set-up steps (present in codecarbon 3.x), which its start or stop would otherwise do
#: inside the tracked interval: hardware detection, the emissions engine's import, geography, cloud facts
LAZY_SETUP = ("_ensure_hardware_ready", "_ensure_emissions_engine", "_ensure_geo_metadata", "_ensure_cloud_conf")


def prepare_before_the_window(tracker: Any) -> None:
    """Do the tracker's lazy set-up now, before the release: otherwise ``stop()`` imports the
    emissions engine (with ``requests``) inside ``energy.duration``, charged to the participant."""
    for name in LAZY_SETUP:
        step = getattr(tracker, name, None)
        if step is not None:
            step()


def write_emissions_csv(path: Path, data: Any) -> None:
    """Append codecarbon's final record (``EmissionsData``) to ``path`` as one row, in codecarbon's own
    column order, with the header when the file is new; flushed and fsynced before it returns."""
    row = dict(data.values)
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)
        f.flush()
        os.fsync(f.fileno())


def _cpu_hardware(tracker: Any) -> Any:
    return next((h for h in getattr(tracker, "_hardware", []) if type(h).__name__ == "CPU"), None)


def energy_values(phase: str, data: Any, method: Mapping[str, Any]) -> list[MetricValue]:
    """Metric values from codecarbon's final record (energy in kWh, emissions in kg, duration in s)."""
    duration = float(data.duration)
    total = float(data.energy_consumed)
    details = {
        **method,
        "codecarbon_version": getattr(data, "codecarbon_version", ""),
        "country_name": getattr(data, "country_name", ""),
        "tracked_s": duration,
    }

    def kwh(name: str, value: float, description: str) -> MetricValue:
        return MetricValue(name, float(value), "kWh", "lower", phase, description, details)

    intensity = float(data.emissions) / total * 1000 if total > 0 else 0.0
    return [
        kwh("energy.total", total, "energy used during the phase (CPU + RAM + GPU, times PUE)"),
        kwh("energy.cpu", data.cpu_energy, f"CPU energy; {method['cpu_method_kind']}: {method['cpu_method']}"),
        kwh("energy.ram", data.ram_energy, f"RAM energy; {method['ram_method']}"),
        kwh("energy.gpu", data.gpu_energy, f"GPU energy; {method['gpu_method']}"),
        MetricValue(
            "energy.emissions",
            float(data.emissions),
            "kg CO2eq",
            "lower",
            phase,
            f"energy x carbon intensity of {method['region']} ({intensity:.0f} g/kWh, codecarbon's bundled tables)",
            details,
        ),
        MetricValue(
            "energy.mean_power",
            total * J_PER_KWH / duration if duration > 0 else 0.0,
            "W",
            "lower",
            phase,
            "mean power over the tracked interval (energy / duration)",
            details,
        ),
        MetricValue(
            "energy.duration",
            duration,
            "s",
            "none",
            phase,
            "interval the tracker covered: the participant's span (wall_clock), see details for the lags",
            details,
        ),
        MetricValue(
            "energy.cpu_method",
            method["cpu_method"],
            "",
            "none",
            phase,
            f"how the CPU figure was obtained ({method['cpu_method_kind']})",
            details,
        ),
        MetricValue(
            "energy.tracking_mode",
            method["tracking_mode"],
            "",
            "none",
            phase,
            "codecarbon tracking mode: 'process' charges the participant only, 'machine' the whole host",
            details,
        ),
        MetricValue(
            "energy.region",
            method["region"],
            "",
            "none",
            phase,
            "ISO country code (and region) whose carbon intensity was used",
            details,
        ),
    ]
