"""codecarbon's bundled reference tables, read without pandas where the offline tracker needs them.

codecarbon 3.x reads its reference tables on first use, all at once, two of them (the CPU power
table and the cloud regions' table) with pandas, whose import is about half a second: most of the
first tracker's cost, in the harness, before the first phase can be released. The offline tracker
uses the JSON tables and, from the CPU power table, only the TDP of the detected model. So
:func:`prime_codecarbon_tables` loads the JSON tables as codecarbon does, leaves the two pandas
tables to codecarbon's own loader should anything ask for them (a tracker on a cloud machine), and
gives codecarbon's TDP lookup the CPU power table as plain columns: the same matching code runs on
the same names, so the same model and TDP come out. Where codecarbon's internals differ from what
this expects (another version), nothing is changed and codecarbon loads its tables itself.
"""

from __future__ import annotations

import csv
import json
import math
from typing import Any

#: the tables codecarbon's static loader fills that are JSON files: cache key -> bundled path
JSON_TABLES = {
    "global_energy_mix": "data/private_infra/global_energy_mix.json",
    "carbon_intensity_per_source": "data/private_infra/carbon_intensity_per_source.json",
    "nordic_country_energy_mix": "data/private_infra/nordic_emissions.json",
    "china_provincial_emissions": "data/private_infra/2023/china_provincial_emissions.json",
}
CPU_POWER_TABLE = "data/hardware/cpu_power.csv"
#: the cells pandas' ``read_csv`` reads as missing by default: such a name matches nothing there
PANDAS_MISSING = frozenset(
    "#N/A,#N/A N/A,#NA,-1.#IND,-1.#QNAN,-NaN,-nan,1.#IND,1.#QNAN,<NA>,N/A,NA,NULL,NaN,None,n/a,nan,null".split(",")
)


def cpu_power_table() -> tuple[list[str | None], list[str | float]]:
    """The CPU power table's ``Name`` and ``TDP`` columns, cells as pandas reads them: text (the TDP
    column holds cells that are no number, so pandas keeps it as text too), missing cells NaN."""
    from codecarbon import input as codecarbon_input

    names: list[str | None] = []
    tdps: list[str | float] = []
    with open(codecarbon_input._get_resource_path(CPU_POWER_TABLE), newline="") as f:
        for row in csv.DictReader(f):
            name, tdp = row["Name"], row["TDP"]
            names.append(None if name == "" or name in PANDAS_MISSING else name)
            tdps.append(math.nan if tdp == "" or tdp in PANDAS_MISSING else tdp)
    return names, tdps


class _TablesOnDemand(dict):
    """codecarbon's table cache; a table not in it (one of the pandas tables) is read by codecarbon's
    own loader, which fills in every table."""

    def __init__(self, loader: Any, tables: dict[str, Any]) -> None:
        super().__init__(tables)
        self._loader = loader

    def __missing__(self, key: str) -> Any:
        self._loader()
        if not dict.__contains__(self, key):
            raise KeyError(key)
        return dict.__getitem__(self, key)


def _expected_internals() -> bool:
    from codecarbon import input as codecarbon_input
    from codecarbon.core import cpu, hardware_cache

    return (
        isinstance(getattr(codecarbon_input, "_CACHE", None), dict)
        and hasattr(codecarbon_input, "_STATIC_DATA_LOADED")
        and callable(getattr(codecarbon_input, "_load_static_data", None))
        and callable(getattr(codecarbon_input, "_get_resource_path", None))
        and hasattr(hardware_cache, "_tdp")
        and callable(getattr(cpu.TDP, "_get_matching_cpu", None))
        and callable(getattr(cpu.TDP, "_get_cpu_power_from_registry", None))
    )


def prime_codecarbon_tables() -> None:
    """Once per process, before the first tracker: codecarbon's JSON tables loaded and its CPU TDP
    looked up, neither importing pandas."""
    from codecarbon import input as codecarbon_input
    from codecarbon.core import cpu, hardware_cache

    if not _expected_internals():
        return
    if not codecarbon_input._STATIC_DATA_LOADED:
        tables = {}
        for key, path in JSON_TABLES.items():
            with open(codecarbon_input._get_resource_path(path)) as f:
                tables[key] = json.load(f)
        codecarbon_input._CACHE = _TablesOnDemand(
            codecarbon_input._load_static_data, {**codecarbon_input._CACHE, **tables}
        )
        codecarbon_input._STATIC_DATA_LOADED = True
    if hardware_cache._tdp is None:
        hardware_cache._tdp = _tdp_class(cpu.TDP)()


def _tdp_class(base: type) -> type:
    class TdpFromColumns(base):  # type: ignore[misc, valid-type]
        """codecarbon's TDP detection, its table lookup done on plain columns."""

        def _get_cpu_power_from_registry(self, cpu_model_raw: str) -> float | None:
            names, tdps = cpu_power_table()
            match = self._get_matching_cpu(cpu_model_raw, {"Name": names})
            return float(tdps[names.index(match)]) if match else None

    return TdpFromColumns
