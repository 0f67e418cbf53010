"""The README's "Differences from A2Perf" table against A2Perf's energy analysis on real runs.

``data/a2perf_energy_values.json`` holds the codecarbon records of real runs and what A2Perf's
``correct_energy_measurements`` and ``get_total_energy`` returned on them (its ``recorded`` key says
how). Each test recomputes one row's effect and checks the number the README states.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from a2perf_energy.metric import J_PER_KWH, energy_values

DATA = json.loads((Path(__file__).parent / "data" / "a2perf_energy_values.json").read_text())
README = Path(__file__).parents[1] / "README.md"
RUN = DATA["run"]
A2PERF = DATA["a2perf"]
#: the fork's CPU power without RAPL: 50 % of its 85 W default TDP (CPU model unknown)
FORK_CONSTANT_CPU_W = 0.5 * 85
#: the fork's RAM power: 3 W per 8 GiB of the machine's memory
FORK_RAM_W_PER_GIB = 3 / 8
#: what ``metrics.py`` passes for circuit training's collect jobs: TDP x CPU share x CPUs used / CPUs
A2PERF_COLLECT_CPU_W = 300 * 0.85 * 96 / 128
METHOD = {"cpu_method": "", "cpu_method_kind": "model", "ram_method": "", "gpu_method": "", "tracking_mode": "process"}


def difference_row(behaviour: str) -> str:
    """The row of the README's differences table whose first cell is ``behaviour``."""
    table = README.read_text().partition("## Differences from A2Perf")[2]
    rows = [line for line in table.splitlines() if line.startswith(f"| {behaviour} |")]
    assert rows, f"no row {behaviour!r} in the README's 'Differences from A2Perf' table"
    return rows[0]


def our_total_kwh(record: dict) -> float:
    values = energy_values("inference", SimpleNamespace(**record, emissions=0.0), {**METHOD, "region": "USA"})
    return next(v.value for v in values if v.name == "energy.total")


def a2perf_corrected_rows(rows: list[dict]) -> list[dict]:
    """``correct_energy_measurements`` on one run's rows (one collect job, no GPU)."""
    constant_cpu = len({r["cpu_power"] for r in rows}) == 1
    corrected = []
    for i, row in enumerate(rows):
        cpu_w = A2PERF_COLLECT_CPU_W if constant_cpu else row["cpu_power"]
        interval = row["duration"] - rows[i - 1]["duration"] if i else 0.0
        energy = (cpu_w + row["gpu_power"] + row["ram_power"]) * interval / J_PER_KWH
        corrected.append({"actual_cpu_power": cpu_w, "energy": energy})
    return corrected


def test_a2perf_analysis_of_our_csv_reproduces_its_recorded_output() -> None:
    assert A2PERF["get_total_energy_as_is_kwh"] == RUN["energy_consumed"] == our_total_kwh(RUN)
    (corrected,) = a2perf_corrected_rows([RUN])
    assert corrected["actual_cpu_power"] == A2PERF["corrected_row"]["actual_cpu_power"]
    assert corrected["energy"] == A2PERF["corrected_row"]["energy_consumed"] == A2PERF["total_after_correction_kwh"]
    row = difference_row("analysis of the CSV")
    assert (
        f"CPU power set to {A2PERF_COLLECT_CPU_W:.2f} W and energy to 0 kWh vs ours {our_total_kwh(RUN):.3e} kWh" in row
    )
    assert f"1 s of {RUN['duration']:.2f} s ({100 / RUN['duration']:.1f} %)" in row


def test_a2perf_decorator_keywords_rejected_by_todays_codecarbon() -> None:
    import codecarbon

    with pytest.raises(TypeError, match="default_cpu_power") as raised:
        codecarbon.track_emissions(project_name="a2perf", measure_power_secs=1, default_cpu_power=None, pue=1.0)
    assert f"`TypeError: {raised.value}`" in difference_row("codecarbon")


def test_machine_mode_charges_more_than_process_mode() -> None:
    machine, process = DATA["modes"]["machine"], DATA["modes"]["process"]
    row = difference_row("tracking mode")
    assert f"machine {machine['energy']:.3e} kWh vs process {process['energy']:.3e} kWh" in row
    assert (
        f"({machine['energy'] / process['energy']:.2f} times); CPU {machine['cpu'] / process['cpu']:.2f} times" in row
    )
    assert f"RAM {machine['ram_power']:.0f} W vs {process['ram_power']:.0f} W" in row


def test_fork_power_models_on_the_run() -> None:
    seconds = RUN["duration"]
    fork_cpu_kwh = FORK_CONSTANT_CPU_W * seconds / J_PER_KWH
    assert (
        f"run: {FORK_CONSTANT_CPU_W} W × {seconds:.2f} s = {fork_cpu_kwh:.3e} kWh vs ours {RUN['cpu_energy']:.3e} kWh"
        in (difference_row("CPU model without RAPL"))
    )
    fork_ram_w = FORK_RAM_W_PER_GIB * RUN["ram_total_size"]
    row = difference_row("RAM model")
    assert f"{fork_ram_w:.2f} W ({RUN['ram_total_size']:.2f} GiB) vs {RUN['ram_power']:.0f} W" in row
    assert f"{fork_ram_w * seconds / J_PER_KWH:.3e} vs {RUN['ram_energy']:.3e} kWh" in row


def test_carbon_intensity_of_the_a2perf_files_region() -> None:
    from codecarbon.core.emissions import Emissions
    from codecarbon.core.units import Energy
    from codecarbon.external.geography import GeoMetadata
    from codecarbon.input import DataSource

    emissions = Emissions(DataSource())

    def grams_per_kwh(region: str | None) -> float:
        geo = GeoMetadata(country_iso_code="USA", country_name="United States", region=region)
        return emissions.get_private_infra_emissions(Energy.from_energy(kWh=1.0), geo) * 1000

    usa, massachusetts = grams_per_kwh(None), grams_per_kwh("massachusetts")
    row = difference_row("carbon intensity")
    assert (
        f"USA {usa:.2f} g/kWh, Massachusetts {massachusetts:.2f} g/kWh (+{(massachusetts / usa - 1) * 100:.1f} %)"
        in row
    )


def test_seeds_aggregated_alike() -> None:
    totals = np.array([our_total_kwh(row) for row in DATA["seeds"]["rows"]])
    theirs = DATA["seeds"]["a2perf_total_kwh"]
    assert (totals.mean(), totals.std(ddof=1)) == pytest.approx((theirs["mean"], theirs["std"]), rel=1e-12)
    assert f"{theirs['mean']:.4e} ± {theirs['std']:.4e} kWh both" in difference_row("several seeds")
