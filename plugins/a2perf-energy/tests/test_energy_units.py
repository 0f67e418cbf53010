"""Settings, value arithmetic and registration of the energy metric (no tracker started)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from a2perf_energy import plugin
from a2perf_energy.metric import EnergyMetric, energy_values

from a2perf_core.errors import A2PerfError
from a2perf_core.metrics import PhaseContext

METHOD = {
    "cpu_method": "CPU-load model: 8 W TDP x ...",
    "cpu_method_kind": "model",
    "ram_method": "constant 10 W (force_ram_power)",
    "gpu_method": "no GPU found (0)",
    "tracking_mode": "process",
    "region": "CAN/ontario",
}


def test_power_interval_defaults_per_phase() -> None:
    metric = EnergyMetric()
    assert metric.power_interval("train") == 5.0
    assert metric.power_interval("inference") == 1.0
    assert metric.power_interval("generalization") == 1.0
    assert EnergyMetric(measure_power_secs={"generalization": 3}).power_interval("generalization-Ant-v0") == 3.0
    assert EnergyMetric(measure_power_secs=2).power_interval("train") == 2.0
    assert EnergyMetric(measure_power_secs={"train": 10}).power_interval("inference") == 1.0


def test_run_options_override_gin_settings() -> None:
    # what a2perf-compat puts in metric_options["energy"] from A2Perf's track_emissions_decorator.*
    metric = EnergyMetric(force_ram_power=5.0)
    resolved = metric.with_options(
        {
            "measure_power_secs": 5,
            "country_iso_code": "FRA",
            "region": "x",
            "project_name": "a2perf_web_navigation_train",
        }
    )
    assert resolved.power_interval("inference") == 5.0
    assert (resolved.country_iso_code, resolved.region, resolved.force_ram_power) == ("FRA", "x", 5.0)
    assert metric.with_options({}) is metric
    with pytest.raises(A2PerfError, match="3-letter"):
        metric.with_options({"country_iso_code": "France"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tracking_mode": "container"}, "'process' or 'machine'"),
        ({"country_iso_code": "US"}, "3-letter ISO"),
        ({"force_cpu_power": 0}, "positive number of watts"),
        ({"force_ram_power": -3}, "positive number of watts"),
    ],
)
def test_bad_settings_are_user_facing_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(A2PerfError, match=message):
        EnergyMetric(**kwargs)


def test_process_mode_needs_the_participant(tmp_path: Path) -> None:
    with pytest.raises(A2PerfError, match="process id"):
        EnergyMetric().start(PhaseContext("train", tmp_path, "Test-v0", 0, pid=None))


def test_values_from_a_codecarbon_record() -> None:
    # 36 kJ = 0.01 kWh over 100 s: 360 W on average; 0.002 kg per 0.01 kWh = 200 g/kWh
    record = SimpleNamespace(
        duration=100.0,
        energy_consumed=0.01,
        cpu_energy=0.004,
        ram_energy=0.006,
        gpu_energy=0.0,
        emissions=0.002,
        codecarbon_version="3.3.2",
        country_name="Canada",
    )
    values = {v.name: v for v in energy_values("train", record, METHOD)}
    assert values["energy.total"].value == 0.01
    assert values["energy.cpu"].value == 0.004
    assert values["energy.ram"].value == 0.006
    assert values["energy.gpu"].value == 0.0
    assert values["energy.mean_power"].value == pytest.approx(360.0)
    assert values["energy.mean_power"].unit == "W"
    assert values["energy.emissions"].unit == "kg CO2eq"
    assert "200 g/kWh" in values["energy.emissions"].description
    assert values["energy.region"].value == "CAN/ontario"
    assert values["energy.cpu_method"].value == METHOD["cpu_method"]
    assert "model" in values["energy.cpu"].description
    assert all(v.phase == "train" for v in values.values())
    assert all(v.details["tracking_mode"] == "process" for v in values.values())


def test_registered_through_the_plugin(a2perf_plugins) -> None:
    spec = a2perf_plugins(plugin).registry.metrics["energy"].spec
    assert (spec.unit, spec.direction, spec.factory) == ("kWh", "lower", "a2perf_energy.metric:EnergyMetric")


def test_absent_without_the_plugin(a2perf_plugins) -> None:
    assert "energy" not in a2perf_plugins().registry.metrics


def test_entry_point_module_is_light() -> None:
    code = (
        "import sys, a2perf_energy.plugin; "
        "heavy = {'codecarbon', 'psutil', 'gin', 'a2perf_energy.metric'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_settings_are_gin_configurable() -> None:
    import gin

    try:
        gin.parse_config(
            "a2perf_energy.EnergyMetric.force_cpu_power = 40\n"
            "a2perf_energy.EnergyMetric.measure_power_secs = {'train': 10, 'inference': 2}"
        )
        metric = EnergyMetric()
        assert metric.force_cpu_power == 40
        assert (metric.power_interval("train"), metric.power_interval("inference")) == (10.0, 2.0)
    finally:
        gin.clear_config()


def test_the_kernels_cpu_model_is_the_one_py_cpuinfo_probes() -> None:
    """The fast path gives codecarbon the same CPU model (hence the same TDP) as its own probe."""
    import cpuinfo
    from a2perf_energy.metric import kernel_cpu_model

    kernel = kernel_cpu_model()
    if kernel is None:
        pytest.skip("no 'model name' in /proc/cpuinfo on this machine")
    assert kernel == cpuinfo.get_cpu_info()["brand_raw"].strip()


def test_kernel_cpu_model_reads_the_model_name_line(tmp_path: Path) -> None:
    from a2perf_energy.metric import kernel_cpu_model

    (tmp_path / "cpuinfo").write_text(
        "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n"
    )
    (tmp_path / "arm").write_text("processor\t: 0\nBogoMIPS\t: 50.00\n")
    assert kernel_cpu_model(tmp_path / "cpuinfo") == "Intel(R) Xeon(R) CPU @ 2.20GHz"
    assert kernel_cpu_model(tmp_path / "arm") is None
    assert kernel_cpu_model(tmp_path / "missing") is None
