"""codecarbon's tables read without pandas (:mod:`a2perf_energy.tables`) give what codecarbon's own reading gives."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from a2perf_energy.tables import _TablesOnDemand, _tdp_class, cpu_power_table
from codecarbon import input as codecarbon_input
from codecarbon.core import cpu


def registry_tdp(cls: type, model: str) -> float | None | str:
    """The TDP the class's table lookup gives for a detected model (``error`` when it raises)."""
    probe = object.__new__(cls)
    try:
        return probe._get_cpu_power_from_registry(model)
    except ValueError:
        return "error"


def detected_models() -> list[str]:
    """Names from the table, as listed and as a kernel reports them, and names it does not hold."""
    names = [n for n in cpu_power_table()[0] if n is not None]
    chosen = names[:: max(1, len(names) // 60)]
    reported = [f"Intel(R) {n.removeprefix('Intel ')} CPU @ 2.40GHz" for n in chosen if n.startswith("Intel")][:15]
    return [*chosen, *reported, "AMD EPYC", "AMD Ryzen 7", "Made-up CPU 9000", "Xeon"]


def test_the_tdp_lookup_on_plain_columns_is_codecarbons_on_its_pandas_table() -> None:
    models = detected_models()
    ours = {m: registry_tdp(_tdp_class(cpu.TDP), m) for m in models}
    theirs = {m: registry_tdp(cpu.TDP, m) for m in models}
    assert ours == theirs
    assert sum(isinstance(v, float) for v in theirs.values()) >= 40  # most of the sample is found


def test_the_plain_columns_are_pandas_cells() -> None:
    import pandas as pd

    frame = pd.read_csv(codecarbon_input._get_resource_path("data/hardware/cpu_power.csv"))
    names, tdps = cpu_power_table()
    assert names == [None if pd.isna(n) else n for n in frame["Name"]]
    assert [str(t) for t in tdps] == [str(t) for t in frame["TDP"]]


def test_a_table_not_read_is_read_by_codecarbons_loader() -> None:
    calls = []

    def loader() -> None:
        calls.append(1)
        tables["cloud_emissions"] = "the cloud table"

    tables = _TablesOnDemand(loader, {"global_energy_mix": {}})
    assert tables["global_energy_mix"] == {}
    assert tables["cloud_emissions"] == "the cloud table"
    assert tables["cloud_emissions"] == "the cloud table"
    assert calls == [1]
    with pytest.raises(KeyError):
        tables["no such table"]


#: in a fresh interpreter: a phase measured from warm-up to stop; whether pandas was imported, and
#: the emissions factor of the country's energy mix, from our tables or from codecarbon's (argv[2])
FRESH_PHASE = """
import json, os, sys
from pathlib import Path
from a2perf_energy import metric as energy, tables
from a2perf_core.metrics import PhaseContext
from a2perf_core.runner.wallclock import SpanMarks, span_path

if sys.argv[2] == "codecarbon":
    tables.prime_codecarbon_tables = lambda: None
folder = Path(sys.argv[1])
context = PhaseContext(phase="inference", run_dir=folder, task_id="Test-v0", seed=0, pid=os.getpid())
metric = energy.EnergyMetric()
metric.warm_up({})
metric.start(context)
span = SpanMarks(span_path(folder, "inference"))
span.mark("started")
span.mark("ended")
values = {v.name: v.value for v in metric.stop(context)}
from codecarbon.core.emissions import Emissions
from codecarbon.core.units import Energy
from codecarbon.external.geography import GeoMetadata
from codecarbon.input import DataSource

mix = Emissions(DataSource()).get_country_emissions(Energy.from_energy(kWh=1.0), GeoMetadata(country_iso_code="FRA"))
print(json.dumps({"pandas": "pandas" in sys.modules, "kg_per_kwh": mix, "names": sorted(values)}))
"""


def fresh_phase(folder: Path, tables: str) -> dict:
    folder.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", FRESH_PHASE, str(folder), tables], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_phase_measured_without_pandas_has_codecarbons_emissions_factor(tmp_path: Path) -> None:
    ours, theirs = fresh_phase(tmp_path / "ours", "ours"), fresh_phase(tmp_path / "theirs", "codecarbon")
    assert not ours["pandas"]
    assert theirs["pandas"]
    assert ours["kg_per_kwh"] == theirs["kg_per_kwh"] > 0
    assert ours["names"] == theirs["names"] and "energy.duration" in ours["names"]


UNKNOWN_CPU_TRACKER = """
from a2perf_energy import metric as energy
energy.kernel_cpu_model = lambda: "Imaginary CPU 9000"
tracker, warnings = energy.EnergyMetric()._tracker(10.0, "test")
print(any("Imaginary CPU 9000" in w for w in warnings))
"""


def test_codecarbon_warnings_on_an_unknown_cpu_are_recorded_not_printed() -> None:
    """The TDP lookup warns about a CPU codecarbon does not know: that goes into the metric's details,
    never onto the terminal of `a2perf run` or `a2perf sweep` (the harness builds a tracker to warm up)."""
    done = subprocess.run([sys.executable, "-c", UNKNOWN_CPU_TRACKER], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
    assert "codecarbon" not in done.stderr.lower()
