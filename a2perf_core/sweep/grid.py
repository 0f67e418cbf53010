"""The cells of a sweep: one run folder per submission, task and seed, with that run's settings.

A cell's folder is ``<submission>@<hash8>/<task>/seed_<n>`` below the sweep folder: the submission's
content hash is part of its name, so a changed submission gets new folders (and new runs) while the
runs of the old version stay where they are.
"""

from __future__ import annotations

from typing import Any

import attrs

from a2perf_core.errors import A2PerfError
from a2perf_core.sweep.spec import SweepSpec, SweepSpecError


@attrs.frozen
class Cell:
    """One run of the grid."""

    submission: str
    #: the submission's name and content hash, ``name@1a2b3c4d`` (see ``submission_label``)
    label: str
    content_hash: str
    task: str
    seed: int

    @property
    def path(self) -> str:
        """The run folder, relative to the sweep folder (also the cell's key in ``sweep.json``)."""
        return f"{self.label}/{self.task}/seed_{self.seed}"

    @property
    def group(self) -> str:
        """The folder of the cell's seeds (one ``summary.json`` each)."""
        return f"{self.label}/{self.task}"


@attrs.frozen
class GridCell:
    """A cell and the resolved settings its run gets."""

    cell: Cell
    settings: Any


def build_grid(spec: SweepSpec) -> list[GridCell]:
    """Every cell, in the order submissions x tasks x seeds, each with its run's settings; a submission
    that does not load, an unknown task, or a task whose data is missing is a one-line error."""
    import attrs as _attrs

    from a2perf_core.envs import get_task
    from a2perf_core.runner.cli import build_settings
    from a2perf_core.runner.results import submission_content_hash, submission_label
    from a2perf_core.runner.run import missing_data
    from a2perf_core.runner.submission import check_participant_args, load_submission

    for task in spec.tasks:
        try:
            get_task(task)
        except A2PerfError as exc:
            raise SweepSpecError(f"{spec.source}: tasks: {exc}") from None
    runs_participant = spec.phase in ("all", "train", "inference")
    for task in spec.tasks:
        if runs_participant and (missing := missing_data(task)):
            raise SweepSpecError(
                f"{spec.source}: task {task} needs data that is not on this machine: {', '.join(missing)}; "
                f"run `a2perf data fetch {' '.join(missing)}` first"
            )
    grid = []
    for reference in spec.submissions:
        try:
            submission = load_submission(reference)
        except A2PerfError as exc:
            problems = str(exc).replace(":\n  - ", ": ").replace("\n  - ", "; ")  # one line
            raise SweepSpecError(f"{spec.source}: {problems}") from None
        content_hash = submission_content_hash(submission.root)
        label = submission_label(reference, content_hash)
        for task in spec.tasks:
            settings = build_settings(
                reference,
                task,
                spec.phase,
                spec.seeds[0],
                spec.gin_files,
                spec.gin_params,
                spec.participant_args,
                spec.timeout,
                spec.max_memory,
            )
            check_participant_args(submission, settings.participant_args, settings.phases)
            for seed in spec.seeds:
                cell = Cell(reference, label, content_hash, task, seed)
                grid.append(GridCell(cell, _attrs.evolve(settings, seed=seed)))
    labels = {}
    for entry in grid:
        other = labels.setdefault(entry.cell.label, entry.cell.submission)
        if other != entry.cell.submission:
            raise SweepSpecError(
                f"{spec.source}: submissions {other!r} and {entry.cell.submission!r} are the same files "
                f"under the same name ({entry.cell.label}); list it once"
            )
    return grid
