"""What a sweep runs: submissions x tasks x seeds, with one set of run settings for every cell.

A spec is a small TOML file, flags of ``a2perf sweep``, or both (a flag replaces the file's key)::

    submissions = ["ppo", "sac"]          # folders (relative to this file) or module names
    tasks = ["ExampleCorridor-v0", "OtherTask-v1"]
    seeds = [0, 1, 2]
    phase = "all"                         # train, inference, generalization or all
    gin_params = ["RunSettings.num_inference_episodes=10"]
    participant_args = ["num_episodes=3"]
    timeout = 3600                        # seconds per phase
    max_memory = "4G"

Every mistake is one line naming the key, before anything runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from a2perf_core.errors import A2PerfError

PHASES = ("train", "inference", "generalization", "all")

#: the keys of a spec file; every other key is an error
SPEC_KEYS = (
    "submissions",
    "tasks",
    "seeds",
    "phase",
    "gin_files",
    "gin_params",
    "participant_args",
    "timeout",
    "max_memory",
)

#: the keys every cell shares: a sweep folder holds cells of one set of them (see ``sweep.json``)
SETTING_KEYS = ("phase", "gin_files", "gin_params", "participant_args", "timeout", "max_memory")


class SweepSpecError(A2PerfError):
    """A spec that cannot be run: the message names the key and says what to give."""


@attrs.frozen
class SweepSpec:
    """A checked spec: submission references, task ids, seeds, and the settings of every cell."""

    submissions: tuple[str, ...]
    tasks: tuple[str, ...]
    seeds: tuple[int, ...]
    phase: str = "all"
    gin_files: tuple[str, ...] = ()
    gin_params: tuple[str, ...] = ()
    participant_args: tuple[str, ...] = ()
    timeout: float | None = None
    max_memory: str | None = None
    #: where the spec came from, for error messages (``sweep spec grid.toml``)
    source: str = attrs.field(default="sweep spec", eq=False)

    def settings(self) -> dict[str, Any]:
        """The shared settings as JSON (what ``sweep.json`` keeps to refuse a folder of other settings)."""
        return {key: _plain(getattr(self, key)) for key in SETTING_KEYS}

    def to_json(self) -> dict[str, Any]:
        return {key: _plain(getattr(self, key)) for key in SPEC_KEYS}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def read_spec_file(path: Path) -> dict[str, Any]:
    """The raw keys of a TOML spec; submission folders given relative to the file are made absolute."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise SweepSpecError(f"sweep spec {path}: reading TOML needs Python 3.11, or the tomli package") from None

    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SweepSpecError(f"sweep spec {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SweepSpecError(f"sweep spec {path}: cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SweepSpecError(f"sweep spec {path}: not TOML ({exc})") from None
    unknown = sorted(set(data) - set(SPEC_KEYS))
    if unknown:
        raise SweepSpecError(f"sweep spec {path}: unknown key {unknown[0]!r}; known keys: {', '.join(SPEC_KEYS)}")
    submissions = data.get("submissions")
    if isinstance(submissions, list):
        data["submissions"] = [_beside(path, s) for s in submissions]
    return data


def _beside(spec_path: Path, reference: Any) -> Any:
    """A folder named relative to the spec file, as an absolute path; anything else (a module name) as given."""
    if not isinstance(reference, str):
        return reference
    candidate = spec_path.parent / reference
    return str(candidate.resolve()) if candidate.exists() else reference


def make_spec(values: Mapping[str, Any], where: str = "sweep spec") -> SweepSpec:
    """A checked :class:`SweepSpec` from raw values (a TOML file's, flags'); a bad one is a one-line error."""

    def fail(key: str, problem: str) -> SweepSpecError:
        return SweepSpecError(f"{where}: {key} {problem}")

    def strings(key: str, required: bool = False) -> tuple[str, ...]:
        value = values.get(key, [])
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
            raise fail(key, "must be a list of non-empty strings")
        if required and not value:
            raise fail(key, "is missing: name at least one")
        if len(set(value)) != len(value):
            raise fail(key, f"lists {next(v for v in value if list(value).count(v) > 1)!r} twice")
        return tuple(value)

    submissions = strings("submissions", required=True)
    tasks = strings("tasks", required=True)
    seeds = values.get("seeds")
    if seeds is None:
        raise fail("seeds", "is missing: give a list of integers, e.g. [0, 1, 2]")
    if not isinstance(seeds, (list, tuple)) or not seeds or not all(_is_int(s) for s in seeds):
        raise fail("seeds", f"{seeds!r} must be a non-empty list of integers, e.g. [0, 1, 2]")
    if len(set(seeds)) != len(seeds):
        raise fail("seeds", f"{list(seeds)!r} lists a seed twice")
    phase = values.get("phase") or "all"
    if phase not in PHASES:
        raise fail("phase", f"{phase!r} must be one of {', '.join(PHASES)}")
    timeout = values.get("timeout")
    if timeout is not None and not (_is_number(timeout) and timeout > 0 and math.isfinite(timeout)):
        raise fail("timeout", f"{timeout!r} must be a positive number of seconds")
    max_memory = values.get("max_memory")
    if max_memory is not None:
        from a2perf_core.runner.cli import parse_memory

        if not isinstance(max_memory, str):
            raise fail("max_memory", f'{max_memory!r} must be a size such as "2G"')
        try:
            parse_memory(max_memory)
        except A2PerfError:
            raise fail("max_memory", f'{max_memory!r} must be a positive size such as "2G"') from None
    return SweepSpec(
        submissions=submissions,
        tasks=tasks,
        seeds=tuple(int(s) for s in seeds),
        phase=phase,
        gin_files=strings("gin_files"),
        gin_params=strings("gin_params"),
        participant_args=strings("participant_args"),
        timeout=None if timeout is None else float(timeout),
        max_memory=max_memory,
        source=where,
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
