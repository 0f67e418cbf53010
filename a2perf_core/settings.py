"""A run's settings: command-line options, then gin (``RunSettings.*``), then plugins' adjustments."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import attrs

from a2perf_core.errors import A2PerfError
from a2perf_core.specs import PHASES

#: RunSettings parameters settable from gin, with their defaults
GIN_DEFAULTS: dict[str, Any] = {
    "num_inference_episodes": 10,
    "num_inference_steps": None,
    "num_warmup_calls": 10,
    "num_generalization_episodes": 5,
    "num_train_steps": None,
    "timeout_s": None,
    "max_memory_mib": None,
    "participant_args": {},
    "env_kwargs": {},
    "train_env_kwargs": {},
    "generalization_tasks": None,
}


@attrs.define
class RunSettings:
    """Everything a run needs to know, as plain values."""

    task_id: str
    submission: str
    seed: int = 0
    phases: tuple[str, ...] = PHASES
    num_inference_episodes: int = 10
    num_inference_steps: int | None = None
    num_warmup_calls: int = 10
    num_generalization_episodes: int = 5
    num_train_steps: int | None = None
    timeout_s: float | None = None
    max_memory_mib: float | None = None
    participant_args: dict[str, Any] = attrs.Factory(dict)
    env_kwargs: dict[str, Any] = attrs.Factory(dict)
    #: added to env_kwargs in the train phase only (e.g. domain randomisation on)
    train_env_kwargs: dict[str, Any] = attrs.Factory(dict)
    generalization_tasks: tuple[str, ...] | None = None
    #: per-metric options, e.g. {"energy": {"measure_power_secs": 5}}
    metric_options: dict[str, dict[str, Any]] = attrs.Factory(dict)
    gin_files: tuple[str, ...] = ()
    gin_params: tuple[str, ...] = ()
    gin_text: str = ""
    warnings: list[str] = attrs.Factory(list)
    #: fields set on the command line, which configuration files must not override
    explicit: set[str] = attrs.Factory(set)

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


def parse_participant_arg(text: str) -> tuple[str, Any]:
    """``k=v``: the value as a Python literal when it parses as one, else the string."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise A2PerfError(f"--participant-arg {text!r} is not of the form key=value")
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return key.strip(), value


def resolve_gin_path(reference: str) -> Path:
    """A gin file given as a path, or as ``"package:relative/path.gin"`` inside an installed package."""
    path = Path(reference)
    if path.exists():
        return path
    package, sep, relative = reference.partition(":")
    if sep and package.replace(".", "").replace("_", "").isalnum():
        from importlib.resources import files

        try:
            candidate = Path(str(files(package).joinpath(relative)))
        except ModuleNotFoundError:
            candidate = None
        if candidate is not None and candidate.exists():
            return candidate
    raise A2PerfError(f"gin file {reference!r} not found")


def apply_gin(settings: RunSettings, files: list[str], params: list[str]) -> None:
    """Parse gin files and bindings and copy the ``RunSettings.*`` values into ``settings``."""
    import gin

    _register_configurable()
    _import_metric_configurables()
    try:
        gin.parse_config_files_and_bindings(
            [str(resolve_gin_path(f)) for f in files], params, skip_unknown=True, finalize_config=False
        )
    except A2PerfError:
        raise
    except Exception as exc:  # gin raises many types for bad input
        raise A2PerfError(f"could not parse the gin configuration: {type(exc).__name__}: {exc}") from exc
    values = gin_run_settings()
    for key, value in values.items():
        if key == "generalization_tasks" and value is not None:
            value = tuple(value)
        setattr(settings, key, value)
    settings.gin_text = gin.config_str()


_REGISTERED = False


def _import_metric_configurables() -> None:
    """Import each metric's module so gin knows its configurables (parsing skips unknown names)."""
    from a2perf_core.plugins import registered
    from a2perf_core.specs import load_object

    for reg in registered("metrics").values():
        try:
            load_object(reg.spec.factory)
        except Exception:  # a broken metric is reported when the run creates it
            pass


def _register_configurable() -> None:
    global _REGISTERED
    if _REGISTERED:
        return
    import gin

    def run_settings_values(**kwargs: Any) -> dict[str, Any]:
        return kwargs

    run_settings_values.__signature__ = _signature(GIN_DEFAULTS)  # type: ignore[attr-defined]
    gin.external_configurable(run_settings_values, name="RunSettings")
    _REGISTERED = True


def _signature(defaults: dict[str, Any]) -> Any:
    import inspect

    return inspect.Signature(
        [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v) for k, v in defaults.items()]
    )


def gin_run_settings() -> dict[str, Any]:
    """The values gin binds for ``RunSettings`` (only the bound ones)."""
    import gin

    bound = gin.get_bindings("RunSettings")
    return {k: v for k, v in bound.items() if k in GIN_DEFAULTS}


def clear_gin() -> None:
    import gin

    gin.clear_config()
