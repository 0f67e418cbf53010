"""What one run asks Ray for, per domain: CPUs, memory, and custom resources such as ``browser``.

A run's phases execute one after another, so a run needs what its heaviest phase needs. A web
navigation env drives one headless Chromium, so its runs ask for one ``browser``: a node offers as
many as it can hold (``ray start --resources '{"browser": 4}'``) and Ray places no more runs there.
A quadruped env is physics-bound on one core. Memory is what a phase's process tree peaks at with
the bundled example submission, rounded up; a learner that needs more says so through
``A2PERF_RAY_RESOURCES``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import attrs

from a2perf_core.api import A2PerfError

MIB = 1024 * 1024

#: env var: JSON object of domain -> request, replacing this table's entries (e.g. for a learner using 4 cores)
RESOURCES_ENV = "A2PERF_RAY_RESOURCES"


@attrs.frozen
class CellResources:
    """A Ray resource request: ``num_cpus``, ``memory`` (bytes) and custom resources."""

    num_cpus: float = 1
    memory_mib: int = 512
    custom: dict[str, float] = attrs.Factory(dict)

    def ray_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"num_cpus": self.num_cpus, "memory": self.memory_mib * MIB}
        if self.custom:
            options["resources"] = dict(self.custom)
        return options


#: domain -> what one run of it asks for; a domain not listed gets ``DEFAULT``
DOMAIN_RESOURCES: dict[str, CellResources] = {
    "circuit_training": CellResources(num_cpus=1, memory_mib=1024),
    "quadruped_locomotion": CellResources(num_cpus=1, memory_mib=1024),
    "web_navigation": CellResources(num_cpus=1, memory_mib=2048, custom={"browser": 1}),
}
DEFAULT = CellResources()


def resources_for(domain: str, environ: dict[str, str] | None = None) -> CellResources:
    """The request of one run of ``domain``: ``A2PERF_RAY_RESOURCES``'s entry, else the table's."""
    text = (os.environ if environ is None else environ).get(RESOURCES_ENV)
    if text:
        overrides = _parse_overrides(text)
        if domain in overrides:
            return overrides[domain]
    return DOMAIN_RESOURCES.get(domain, DEFAULT)


def _parse_overrides(text: str) -> dict[str, CellResources]:
    where = f"{RESOURCES_ENV}={text!r}"
    try:
        data = json.loads(text)
    except ValueError:
        raise A2PerfError(f'{where}: not JSON; give e.g. \'{{"quadruped_locomotion": {{"num_cpus": 4}}}}\'') from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise A2PerfError(f"{where}: give an object of domain -> {{num_cpus, memory_mib, custom}}")
    result = {}
    for domain, entry in data.items():
        unknown = set(entry) - {"num_cpus", "memory_mib", "custom"}
        cpus, memory, custom = (
            entry.get("num_cpus", 1),
            entry.get("memory_mib", DEFAULT.memory_mib),
            entry.get("custom", {}),
        )
        numbers_ok = all(isinstance(x, (int, float)) and not isinstance(x, bool) and x >= 0 for x in (cpus, memory))
        custom_ok = isinstance(custom, dict) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in custom.values()
        )
        if unknown or not numbers_ok or not custom_ok:
            raise A2PerfError(
                f"{where}: {domain!r} must hold num_cpus and memory_mib (numbers, 0 or more) and custom "
                "(name -> number)"
            )
        result[domain] = CellResources(num_cpus=cpus, memory_mib=int(memory), custom=dict(custom))
    return result
