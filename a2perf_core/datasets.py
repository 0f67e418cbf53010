"""Offline datasets in Minari's format: where they are kept, loading one a run declares, and what
producing it cost.

The root is Minari's own (``MINARI_DATASETS_PATH``, else Minari's default under the home folder), so a
dataset written there loads with plain ``minari.load_dataset(dataset_id)``.
Ids are ``a2perf/<task id>/<skill>-v<N>`` (Minari's namespaced form).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from a2perf_core.errors import A2PerfError, DataMissingError

NAMESPACE = "a2perf"
#: the dataset metadata key holding its data cost as JSON: ``{"energy_kwh", "env_steps", "wall_time_s",
#: "sources": [...]}`` (the collection itself and every run that trained a generating policy)
DATA_COST_KEY = "a2perf_data_cost"
COST_FIELDS = ("energy_kwh", "env_steps", "wall_time_s")


def dataset_id(task_id: str, skill: str, version: int = 0) -> str:
    """The id of ``task_id``'s dataset at ``skill`` (``novice``, ``intermediate``, ``expert``, ...)."""
    return f"{NAMESPACE}/{task_id}/{skill}-v{version}"


def dataset_root() -> Path:
    """Minari's dataset root (made if missing)."""
    _require_minari()
    from minari.storage.datasets_root_dir import get_dataset_path

    return get_dataset_path()


def _require_minari() -> Any:
    try:
        import minari
    except ImportError:
        raise A2PerfError("offline datasets need the minari package: pip install 'a2perf-core[datasets]'") from None
    return minari


def load(dataset_id: str) -> Any:
    """The local dataset ``dataset_id`` as a ``minari.MinariDataset``; a one-line error when it is not there."""
    minari = _require_minari()
    if dataset_id not in minari.list_local_datasets():
        raise DataMissingError(
            f"no dataset {dataset_id!r} under {dataset_root()}: make it with `a2perf data collect` "
            "(or set MINARI_DATASETS_PATH to the folder that holds it)"
        )
    return minari.load_dataset(dataset_id)


def data_cost(dataset: Any) -> dict[str, Any]:
    """What producing ``dataset`` (a ``MinariDataset`` or its id) cost, as recorded in its metadata;
    a one-line error for a dataset that records none (one not made by ``a2perf data collect``)."""
    if isinstance(dataset, str):
        dataset = load(dataset)
    raw = dataset.storage.metadata.get(DATA_COST_KEY)
    if raw is None:
        raise A2PerfError(
            f"dataset {dataset.spec.dataset_id!r} records no data cost ({DATA_COST_KEY!r} in its metadata)"
        )
    cost = json.loads(raw) if isinstance(raw, str) else dict(raw)
    missing = [name for name in COST_FIELDS if name not in cost]
    if missing:
        raise A2PerfError(f"dataset {dataset.spec.dataset_id!r}: data cost lacks {', '.join(missing)}")
    return cost
