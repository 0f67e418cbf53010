"""``sweep.json``: what a sweep folder holds, cell by cell, rewritten after every cell that ends.

The run folders are the truth about a run (``run.json``); the manifest adds what only the sweep
knows: the spec and settings the folder was made with, and how often each cell was tried and failed,
which decides whether a re-run retries it (see :func:`cell_state`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from a2perf_core.sweep.grid import Cell
from a2perf_core.sweep.spec import SweepSpec, SweepSpecError

MANIFEST = "sweep.json"
MANIFEST_FORMAT = "a2perf-sweep/1"


def read_manifest(sweep_dir: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None for a new sweep; a foreign or unreadable one is a one-line error."""
    from a2perf_core.runner.results import read_json

    path = sweep_dir / MANIFEST
    if not path.exists():
        return None
    try:
        data = read_json(path)
    except ValueError as exc:
        raise SweepSpecError(f"{path}: not a sweep manifest ({exc}); choose another --out") from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT or not isinstance(data.get("cells"), dict):
        raise SweepSpecError(f"{path}: not a {MANIFEST_FORMAT} manifest; choose another --out")
    return data


def new_manifest(spec: SweepSpec, previous: dict[str, Any] | None, executor: str, retries: int) -> dict[str, Any]:
    """The manifest of this invocation: the previous one's cells kept (their tries count), the spec's
    settings checked against the ones the folder was made with."""
    from a2perf_core.runner.run import now

    if previous is not None and previous.get("settings") != spec.settings():
        before, after = previous.get("settings") or {}, spec.settings()
        changed = "; ".join(f"{k} {before.get(k)!r} -> {after[k]!r}" for k in after if before.get(k) != after[k])
        raise SweepSpecError(
            f"the sweep folder holds runs of other settings ({changed}); use another --out for these settings"
        )
    return {
        "format": MANIFEST_FORMAT,
        "created": previous["created"] if previous else now(),
        "updated": now(),
        "spec": spec.to_json(),
        "settings": spec.settings(),
        "executor": executor,
        "retries": retries,
        "cells": dict(previous["cells"]) if previous else {},
    }


def cell_entry(manifest: dict[str, Any], cell: Cell) -> dict[str, Any]:
    """The cell's record in the manifest, made if new."""
    return manifest["cells"].setdefault(
        cell.path,
        {
            "submission": cell.submission,
            "label": cell.label,
            "content_hash": cell.content_hash,
            "task": cell.task,
            "seed": cell.seed,
            "status": "pending",
            "tries": 0,
            "failures": 0,
            "reason": None,
            "run_id": None,
            "ended": None,
        },
    )


def cell_state(run_dir: Path, entry: dict[str, Any], retries: int) -> tuple[str, bool]:
    """``(status, resume)`` of a cell before this invocation runs it.

    ``done``: its ``run.json`` ended with every requested phase complete; skipped. ``failed``: it
    failed more than ``retries`` times (counted in the manifest); left as it is. ``pending``: to run,
    continuing its folder (``resume``) when there is a ``run.json`` of an earlier try, killed or failed.
    """
    from a2perf_core.metrics import RUN_JSON
    from a2perf_core.runner.results import read_json
    from a2perf_core.runner.summary import run_status

    if not (run_dir / RUN_JSON).exists():
        return "pending", False
    try:
        info = read_json(run_dir / RUN_JSON) or {}
    except ValueError:
        info = {}
    content_hash = (info.get("submission") or {}).get("content_hash")
    if content_hash != entry["content_hash"]:
        raise SweepSpecError(
            f"{run_dir} holds a run of other submission files ({content_hash}, not {entry['content_hash']}); "
            "move it away or use another --out"
        )
    if info.get("ended") and run_status(run_dir)["status"] == "ok":
        return "done", False
    if entry["failures"] > retries:
        return "failed", False
    return "pending", True


def failure_reason(run_dir: Path) -> str:
    """Why a cell's run failed, one line per failed phase joined (from its ``run.json``)."""
    from a2perf_core.runner.summary import run_status

    return "; ".join(f"{phase} {why}" for phase, why in run_status(run_dir)["failed_phases"].items())
