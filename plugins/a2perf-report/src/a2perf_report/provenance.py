"""Where a report's numbers came from: versions, machines, gin configurations, checksums, and the
``a2perf run`` command lines that reproduce each group of runs."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from a2perf_report.runs import RunEntry

ALL_PHASES = ["train", "inference", "generalization"]


@attrs.frozen
class Provenance:
    #: distinct ``versions`` dicts of the runs, each with the number of runs that had it
    versions: tuple[tuple[dict[str, str], int], ...]
    machines: tuple[tuple[dict[str, Any], int], ...]
    #: distinct resolved gin configurations, each with the runs (folders) that used it
    gin_configs: tuple[tuple[str, tuple[str, ...]], ...]
    #: submission label -> content hash of its files
    submission_hashes: dict[str, str]
    #: task id -> {data asset name: sha256}, as the installed plugins declare them
    data_checksums: dict[str, dict[str, str]]
    #: one command per submission, task and invocation
    commands: tuple[str, ...]


def _distinct(items: Sequence[Any]) -> list[tuple[Any, int]]:
    out: list[tuple[Any, int]] = []
    for item in items:
        for k, (seen, count) in enumerate(out):
            if seen == item:
                out[k] = (seen, count + 1)
                break
        else:
            out.append((item, 1))
    return out


def shown_path(text: str) -> str:
    """A path inside the current folder, relative to it: the commands of a report written from a
    checkout (docs/baselines) name the checkout's folders, not this machine's."""
    path = Path(text)
    if not path.is_absolute():
        return text
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return text


def reproduce_command(run: RunEntry, seeds: Sequence[int | None]) -> str:
    """The ``a2perf run`` line that runs ``run``'s submission with its settings, for ``seeds``."""
    settings = run.info.get("settings") or {}
    reference = shown_path(str(run.info["submission"].get("reference") or settings.get("submission") or ""))
    args = ["a2perf", "run", reference, "--task", run.task]
    known = [s for s in seeds if s is not None]
    if len(known) > 1:
        args += ["--seeds", ",".join(str(s) for s in known)]
    elif known:
        args += ["--seed", str(known[0])]
    phases = list(settings.get("phases") or run.info.get("phases_requested") or ALL_PHASES)
    if phases != ALL_PHASES and len(phases) == 1:
        args += ["--phase", phases[0]]
    for gin_file in settings.get("gin_files") or []:
        args += ["--gin-file", shown_path(str(gin_file))]
    for binding in settings.get("gin_params") or []:
        args += ["--gin-param", str(binding)]
    for key, value in (settings.get("participant_args") or {}).items():
        args += ["--participant-arg", f"{key}={value!r}"]
    if settings.get("timeout_s") is not None:
        args += ["--timeout", f"{settings['timeout_s']:g}"]
    if settings.get("max_memory_mib") is not None:
        args += ["--max-memory", f"{settings['max_memory_mib']:g}M"]
    command = shlex.join(args)
    if phases != ALL_PHASES and len(phases) > 1:
        command += f"  # phases {', '.join(phases)}: run once per --phase"
    return command


def _declared_checksums(task: str) -> dict[str, str]:
    try:
        from a2perf_core.envs import tasks
        from a2perf_core.plugins import get_plugins

        assets = get_plugins().registry.data_assets
        return {name: assets[name].spec.sha256 for name in tasks()[task].data if name in assets}
    except Exception:
        return {}


def collect_provenance(runs: Sequence[RunEntry]) -> Provenance:
    groups: dict[tuple[str, str, str], list[RunEntry]] = {}
    for run in runs:
        groups.setdefault((run.submission, run.task, str(run.run_dir.parent)), []).append(run)
    commands = []
    for (_, _, parent), members in groups.items():
        seeded = [m for m in members if m.run_dir.name.startswith("seed_") and len(members) > 1]
        if seeded and len(seeded) == len(members):
            commands.append(
                reproduce_command(members[0], [m.seed for m in members]) + f" --out {shlex.quote(shown_path(parent))}"
            )
        else:
            commands.extend(
                reproduce_command(m, [m.seed]) + f" --out {shlex.quote(shown_path(str(m.run_dir)))}" for m in members
            )
    gin: dict[str, list[str]] = {}
    for run in runs:
        gin.setdefault(str(run.info.get("gin_config") or ""), []).append(str(run.run_dir))
    return Provenance(
        versions=tuple(_distinct([run.info.get("versions") or {} for run in runs])),
        machines=tuple(_distinct([run.info.get("machine") or {} for run in runs])),
        gin_configs=tuple((text, tuple(dirs)) for text, dirs in gin.items()),
        submission_hashes={r.submission: str(r.info["submission"].get("content_hash") or "") for r in runs},
        data_checksums={t: c for t in sorted({r.task for r in runs}) if (c := _declared_checksums(t))},
        commands=tuple(commands),
    )
