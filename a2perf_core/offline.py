"""The datasets a run declares, and the offline track, where ``train()`` learns from them without an env.

A submission declares datasets in ``RunSettings.datasets`` (gin) and in a ``datasets.txt`` beside its
``train.py`` (one id per line, ``#`` comments); the run uses both, each once, gin's first. Each is checked
before anything starts: it must be on this machine and record its data cost, because a result trained
on data is only comparable together with what producing that data cost.

On the offline track (``a2perf run --offline``, ``RunSettings.offline``) every env factory of the
harness refuses in the train phase: the phase's processes get :data:`OFFLINE_ENV`, and
:func:`refuse_env` (called by ``participant.make_env`` and by the creator every task id is registered
with, so by ``gymnasium.make`` too) raises :class:`OfflineTrackError`. A refusal also leaves a note in
the phase's records folder, so a ``train()`` that catches the error still fails its phase.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from a2perf_core.errors import A2PerfError

#: the manifest file of a submission folder: one dataset id per line
MANIFEST = "datasets.txt"
#: set in a phase's processes by the runner: JSON list of the run's dataset ids
DATASETS_ENV = "A2PERF_DATASETS"
#: set in the train phase's processes of an offline run
OFFLINE_ENV = "A2PERF_OFFLINE"
#: written into the records folder (``A2PERF_RECORDS_DIR``) when an env factory refused
VIOLATION_FILE = "offline_violation.txt"


class OfflineTrackError(A2PerfError):
    """Something made an env in the train phase of an offline run."""


@attrs.frozen
class DeclaredDataset:
    """One dataset a run uses: its id and what producing it cost (as the dataset records it)."""

    id: str
    data_cost: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "data_cost": dict(self.data_cost)}


def read_manifest(folder: Path) -> list[str]:
    """The dataset ids of ``folder``'s ``datasets.txt`` (none when there is no such file)."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return []
    ids = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        if any(c.isspace() for c in text):
            raise A2PerfError(f"{path}:{number}: {text!r} is not one dataset id (one id per line)")
        ids.append(text)
    return ids


def declared_ids(settings_datasets: Iterable[str], submission_root: Path | None) -> list[str]:
    """The ids of ``RunSettings.datasets`` then those of the submission's manifest, each once."""
    manifest = read_manifest(submission_root) if submission_root is not None else []
    return list(dict.fromkeys([*settings_datasets, *manifest]))


def check_datasets(ids: Sequence[str]) -> list[DeclaredDataset]:
    """Each declared dataset with its data cost; a one-line error for one that is missing or records no cost."""
    from a2perf_core.datasets import data_cost, load

    return [DeclaredDataset(dataset_id, data_cost(load(dataset_id))) for dataset_id in ids]


def resolve_datasets(settings: Any, submission_root: Path | None) -> list[DeclaredDataset]:
    """The run's datasets, checked (see the module docstring); an offline run must declare one."""
    ids = declared_ids(settings.datasets, submission_root)
    if settings.offline and not ids:
        raise OfflineTrackError(
            "the offline track trains from datasets only, and this run declares none: list their ids in "
            f"RunSettings.datasets or in the submission's {MANIFEST}"
        )
    return check_datasets(ids)


def phase_environ(phase: str, datasets: Sequence[str], offline: bool) -> dict[str, str]:
    """What a phase's processes learn about the run's datasets and track."""
    environ = {DATASETS_ENV: json.dumps(list(datasets))}
    if offline and phase == "train":
        environ[OFFLINE_ENV] = "1"
    return environ


def is_offline_train() -> bool:
    """Whether this process is (in) the train phase of an offline run."""
    return os.environ.get(OFFLINE_ENV) == "1"


def refuse_env(what: str) -> None:
    """Raise :class:`OfflineTrackError` when this is an offline run's train phase (a no-op elsewhere).

    The note left in the records folder lets the runner fail the phase even if the error is caught.
    """
    if not is_offline_train():
        return
    message = f"the offline track: train() may not make an env ({what}); it learns from participant.datasets()"
    from a2perf_core.runner.records import RECORDS_DIR_ENV

    records = os.environ.get(RECORDS_DIR_ENV)
    if records:
        try:
            with open(Path(records) / VIOLATION_FILE, "a") as note:
                note.write(message + "\n")
        except OSError:
            pass
    raise OfflineTrackError(message)


def violation(records_dir: Path) -> str | None:
    """The first refusal a phase's processes noted in ``records_dir``, if any."""
    path = Path(records_dir) / VIOLATION_FILE
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    return lines[0] if lines else f"the offline track: an env factory refused (see {VIOLATION_FILE})"
