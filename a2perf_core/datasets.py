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
#: the other metadata keys ``a2perf data collect`` writes, each a JSON string
POLICY_KEY = "a2perf_policy"
SKILL_KEY = "a2perf_skill"
RETURNS_KEY = "a2perf_returns"
ENV_KEY = "a2perf_env"
#: the metric holding a phase's energy (the energy plugin's), in kWh
ENERGY_METRIC = "energy.total"


def dataset_id(task_id: str, skill: str, version: int = 0) -> str:
    """The id of ``task_id``'s dataset at ``skill`` (``novice``, ``intermediate``, ``expert``, ...)."""
    return f"{NAMESPACE}/{task_id}/{skill}-v{version}"


def metadata(dataset: Any) -> dict[str, Any]:
    """Every ``a2perf_*`` metadata entry of ``dataset`` (a ``MinariDataset`` or its id), decoded from JSON."""
    if isinstance(dataset, str):
        dataset = load(dataset)
    raw = dataset.storage.metadata
    return {k: json.loads(v) if isinstance(v, str) else v for k, v in raw.items() if k.startswith(f"{NAMESPACE}_")}


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


def training_cost(run_dir: str | Path) -> dict[str, Any]:
    """What a run's train phase cost, from its own records: ``energy_kwh`` (its ``energy.total`` metric of the
    train phase; None when the run measured none), ``env_steps`` (the last global step of its training log; 0
    for a run whose training made no env) and ``wall_time_s`` (the phase's wall time in ``run.json``).

    A run whose train phase did not end ``ok`` has no trained policy to charge for: a one-line error."""
    from a2perf_core.metrics import METRICS_JSON, RUN_JSON, RunRecords

    folder = Path(run_dir)
    try:
        info = json.loads((folder / RUN_JSON).read_text())
    except (OSError, ValueError) as exc:
        raise A2PerfError(f"{folder}: not a readable run folder ({RUN_JSON}: {exc})") from None
    train = (info.get("phases") or {}).get("train")
    if not isinstance(train, dict) or train.get("status") != "ok":
        status = "no train phase" if not isinstance(train, dict) else f"train phase {train.get('status')!r}"
        raise A2PerfError(f"{folder}: {status}, so it trained no policy whose cost can be counted")
    energy = None
    metrics_path = folder / METRICS_JSON
    if metrics_path.is_file():
        try:
            values = json.loads(metrics_path.read_text())
        except ValueError as exc:
            raise A2PerfError(f"{metrics_path}: not valid JSON ({exc})") from None
        for value in values:
            if value.get("name") == ENERGY_METRIC and value.get("phase") == "train":
                energy = float(value["value"]) if isinstance(value.get("value"), (int, float)) else None
    steps = RunRecords(folder).train_log().get("global_step")
    return {
        "energy_kwh": energy,
        "env_steps": int(steps.max()) if steps is not None and steps.size else 0,
        "wall_time_s": None if train.get("wall_time_s") is None else float(train["wall_time_s"]),
    }


def total_cost(costs: list[dict[str, Any]]) -> dict[str, Any]:
    """The sum of ``costs`` field by field; a field that any of them lacks (None: not measured) is None in
    the sum, never a sum of the rest."""
    total: dict[str, Any] = {}
    for name in COST_FIELDS:
        parts = [c.get(name) for c in costs]
        total[name] = None if any(p is None for p in parts) else sum(parts)
    return total
