"""A run's settings, resolved once by :func:`resolve_run_settings`.

Precedence, later wins: the defaults (the fields of :class:`RunSettings`); the gin files the task
ships for its phases; the user's gin files (``--gin-file``); ``--gin-param`` bindings; plugins
(``a2perf_configure_run``); explicit command-line options.
"""

from __future__ import annotations

import ast
import copy
import math
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from a2perf_core.errors import A2PerfError
from a2perf_core.specs import PHASES

if TYPE_CHECKING:
    from a2perf_core.plugins import Plugins

#: seconds a phase's participant process may run when neither ``--timeout`` nor ``RunSettings.timeout_s``
#: is given: a hang ends, and a real training run of a day still fits
DEFAULT_PHASE_TIMEOUTS_S: dict[str, float] = {"train": 86400.0, "inference": 3600.0, "generalization": 3600.0}


class SettingsError(A2PerfError):
    """A setting has the wrong type or range, or the gin configuration names something unknown."""


def _gin(**metadata: Any) -> dict[str, Any]:
    return {"gin": True, **metadata}


def _check(condition: bool, attribute: attrs.Attribute, value: Any, expected: str) -> None:
    if not condition:
        raise SettingsError(f"RunSettings.{attribute.name} must be {expected}, got {value!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _int_at_least(minimum: int, optional: bool = False) -> Any:
    def check(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if optional and value is None:
            return
        expected = f"an integer >= {minimum}" + (" or None" if optional else "")
        _check(_is_int(value) and value >= minimum, attribute, value, expected)

    return check


def _bool(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    _check(isinstance(value, bool), attribute, value, "True or False")


def _positive_seconds_or_none(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None:
        _check(_is_number(value) and value > 0, attribute, value, "a positive number or None")


def _str_keyed_dict(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    _check(isinstance(value, dict) and all(isinstance(k, str) for k in value), attribute, value, "a dict with str keys")


def _phases(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    _check(
        isinstance(value, tuple) and bool(value) and all(p in PHASES for p in value),
        attribute,
        value,
        f"a non-empty tuple of {PHASES}",
    )


def _task_ids_or_none(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None:
        _check(
            isinstance(value, tuple) and all(isinstance(t, str) for t in value), attribute, value, "a list of task ids"
        )


def _strings(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    _check(isinstance(value, tuple) and all(isinstance(v, str) for v in value), attribute, value, "a list of strings")


def _phase_timeouts(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    _check(
        isinstance(value, dict) and set(value) <= set(PHASES) and all(_is_number(v) and v > 0 for v in value.values()),
        attribute,
        value,
        f"a dict of phase ({', '.join(PHASES)}) -> positive seconds",
    )


def _tuple_or_keep(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _with_default_phases(value: Any) -> Any:
    return {**DEFAULT_PHASE_TIMEOUTS_S, **value} if isinstance(value, dict) else value


def _note_assignment(instance: RunSettings, attribute: attrs.Attribute, value: Any) -> Any:
    if instance.assigned_fields is not None:
        instance.assigned_fields.add(attribute.name)
    return value


@attrs.define(on_setattr=[attrs.setters.convert, attrs.setters.validate, _note_assignment])
class RunSettings:
    """Everything a run needs to know, as plain values; every field is checked when it is set.

    Fields with ``gin`` metadata are bindable as ``RunSettings.<name>``; their defaults here are
    the only copy (:data:`GIN_DEFAULTS` is derived from them).
    """

    task_id: str = attrs.field(validator=attrs.validators.instance_of(str))
    submission: str = attrs.field(validator=attrs.validators.instance_of(str))
    seed: int = attrs.field(default=0, validator=_int_at_least(0))
    phases: tuple[str, ...] = attrs.field(default=PHASES, converter=_tuple_or_keep, validator=_phases)
    num_inference_episodes: int = attrs.field(default=10, validator=_int_at_least(1), metadata=_gin())
    num_inference_steps: int | None = attrs.field(default=None, validator=_int_at_least(1, True), metadata=_gin())
    num_warmup_calls: int = attrs.field(default=10, validator=_int_at_least(0), metadata=_gin())
    num_generalization_episodes: int = attrs.field(default=5, validator=_int_at_least(1), metadata=_gin())
    num_train_steps: int | None = attrs.field(default=None, validator=_int_at_least(1, True), metadata=_gin())
    #: one limit for every phase run; when not given, each phase has its own (:meth:`timeout_for`)
    timeout_s: float | None = attrs.field(default=None, validator=_positive_seconds_or_none, metadata=_gin())
    #: default limit of each phase; a binding names only the phases it changes
    phase_timeouts_s: dict[str, float] = attrs.field(
        factory=lambda: dict(DEFAULT_PHASE_TIMEOUTS_S),
        converter=_with_default_phases,
        validator=_phase_timeouts,
        metadata=_gin(),
    )
    max_memory_mib: float | None = attrs.field(default=None, validator=_positive_seconds_or_none, metadata=_gin())
    participant_args: dict[str, Any] = attrs.field(factory=dict, validator=_str_keyed_dict, metadata=_gin())
    env_kwargs: dict[str, Any] = attrs.field(factory=dict, validator=_str_keyed_dict, metadata=_gin())
    #: added to env_kwargs in the train phase only (e.g. domain randomisation on)
    train_env_kwargs: dict[str, Any] = attrs.field(factory=dict, validator=_str_keyed_dict, metadata=_gin())
    generalization_tasks: tuple[str, ...] | None = attrs.field(
        default=None, converter=_tuple_or_keep, validator=_task_ids_or_none, metadata=_gin()
    )
    #: ``--untrusted``: the policy runs in a sandboxed process, apart from the env and the records
    untrusted: bool = attrs.field(default=False, validator=_bool, metadata=_gin())
    #: ``--isolate``: the participant's phases run in a virtual environment of the submission's own
    isolate: bool = attrs.field(default=False, validator=_bool, metadata=_gin())
    #: ``--find-links``: folders or pages of wheels for the isolated environment, besides the pip settings'
    find_links: tuple[str, ...] = attrs.field(default=(), converter=_tuple_or_keep, validator=_strings, metadata=_gin())
    #: ids of the offline datasets the run uses, besides the submission's ``datasets.txt`` (:mod:`a2perf_core.offline`)
    datasets: tuple[str, ...] = attrs.field(default=(), converter=_tuple_or_keep, validator=_strings, metadata=_gin())
    #: ``--offline``: the offline track, where train() may not make an env and learns from the datasets
    offline: bool = attrs.field(default=False, validator=_bool, metadata=_gin())
    #: per-metric options, e.g. {"energy": {"measure_power_secs": 5}}
    metric_options: dict[str, dict[str, Any]] = attrs.Factory(dict)
    gin_files: tuple[str, ...] = ()
    gin_params: tuple[str, ...] = ()
    gin_text: str = ""
    warnings: list[str] = attrs.Factory(list)
    #: fields set on the command line, which configuration files and plugins must not override
    explicit: set[str] = attrs.Factory(set)
    #: while resolving: the fields assigned by plugins (None: not recording)
    assigned_fields: set[str] | None = attrs.field(
        default=None, init=False, repr=False, eq=False, on_setattr=attrs.setters.NO_OP
    )

    def timeout_for(self, phase: str) -> float:
        """Seconds the phase's participant process may run: ``timeout_s``, else the phase's default."""
        return self.timeout_s if self.timeout_s is not None else self.phase_timeouts_s[phase]

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self, filter=lambda field, _: field.name != "assigned_fields")


def _field_default(field: attrs.Attribute) -> Any:
    default = field.default
    return default.factory() if isinstance(default, attrs.Factory) else default  # type: ignore[arg-type]


#: RunSettings parameters settable from gin, with their defaults (derived from the fields above)
GIN_DEFAULTS: dict[str, Any] = {f.name: _field_default(f) for f in attrs.fields(RunSettings) if f.metadata.get("gin")}


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


def resolve_run_settings(
    submission: str,
    *,
    task: str | None = None,
    phase: str | None = None,
    seed: int = 0,
    gin_files: Sequence[str] = (),
    gin_params: Sequence[str] = (),
    participant_args: Sequence[str] = (),
    timeout_s: float | None = None,
    max_memory_mib: float | None = None,
    plugins: Plugins | None = None,
) -> RunSettings:
    """The settings of one run, each layer applied once (see the module docstring for the order).

    The task is known only after the user's gin and the plugins had their say (an A2Perf file's
    ``Submission.domain`` picks it), so the user's configuration is parsed first and the plugins
    are called once; then the task's gin files are parsed under the user's, and their values fill
    the fields no plugin set. Gin's global state is cleared first; on return it holds the resolved
    configuration, which the metrics' gin-configurable classes read when the run creates them.
    """
    from a2perf_core.envs import get_task
    from a2perf_core.plugins import get_plugins

    plugins = plugins or get_plugins()
    explicit = {name for name, given in (("task_id", task), ("phases", phase)) if given}
    phases = (PHASES if phase == "all" else (phase,)) if phase else PHASES
    if task:
        get_task(task)
    settings = RunSettings(task_id=task or "", submission=submission, seed=seed, phases=phases, explicit=explicit)
    settings.gin_files, settings.gin_params = tuple(gin_files), tuple(gin_params)
    user_values, notes = parse_gin(list(gin_files), list(gin_params))
    _assign(settings, user_values)
    before = {f.name: copy.deepcopy(getattr(settings, f.name)) for f in attrs.fields(RunSettings) if f.init}
    settings.assigned_fields = set()
    try:
        plugins.configure_run(settings)
        assigned = settings.assigned_fields
    finally:
        settings.assigned_fields = None
    set_by_plugins = assigned | {name for name, value in before.items() if getattr(settings, name) != value}
    if not settings.task_id:
        from a2perf_core.envs import default_task

        settings.task_id = default_task()
    task_spec = get_task(settings.task_id)
    task_files = [task_spec.gin_files[p] for p in PHASES if p in task_spec.gin_files]
    if task_files:
        combined, notes = parse_gin(task_files + list(gin_files), list(gin_params))
    else:
        combined = user_values
    settings.warnings.extend(notes)
    for name, value in combined.items():
        current = getattr(settings, name)
        if name not in set_by_plugins:
            setattr(settings, name, value)
        elif isinstance(current, dict) and isinstance(value, dict) and name not in user_values:
            setattr(settings, name, {**value, **current})  # a plugin's keys win over the task's
    if phase:
        settings.phases = phases
    if task:
        settings.task_id = task
    settings.seed = seed
    for item in participant_args:
        key, value = parse_participant_arg(item)
        settings.participant_args = {**settings.participant_args, key: value}
    if timeout_s is not None:
        settings.timeout_s = timeout_s
    if max_memory_mib is not None:
        settings.max_memory_mib = max_memory_mib
    import gin

    settings.gin_text = gin.config_str()
    return settings


def _assign(settings: RunSettings, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(settings, name, value)


#: passed to gin as ``skip_unknown``: no configurable has this name, so every unknown configurable or
#: parameter is an error, while a non-empty value makes gin skip (and log) an import that fails
_NO_CONFIGURABLE_SKIPPED = ("<no configurable is skipped>",)


def parse_gin(files: list[str], params: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Parse gin files and bindings into a clean gin state: the ``RunSettings.*`` values bound, and warnings.

    Unknown configurables and parameters are errors: gin knows ``RunSettings``, the metrics'
    configurables, and whatever the files' ``import`` lines register (A2Perf's names come from
    the compatibility package that way). An ``import`` of a module that is not installed is a
    warning (A2Perf's files import ``pkg_resources`` and never use it); a binding that needed it
    still fails. An ``include`` is looked up relative to the working directory, then relative to
    each folder above the including files, nearest first.
    """
    import gin

    gin.clear_config()
    _register_configurable()
    _import_metric_configurables()
    paths = [resolve_gin_path(f) for f in files]
    with _include_search_path(paths), _gin_log() as skipped_imports, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. deprecation warnings of modules the files import
        try:
            gin.parse_config_files_and_bindings(
                [str(p) for p in paths], params, skip_unknown=_NO_CONFIGURABLE_SKIPPED, finalize_config=False
            )
        except A2PerfError:
            raise
        except Exception as exc:  # gin raises many types for bad input
            raise SettingsError(f"gin configuration: {_one_line(exc)}") from exc
    notes = [f"gin: `import {name}` skipped: the module is not installed" for name in dict.fromkeys(skipped_imports)]
    return dict(gin.get_bindings("RunSettings")), notes


@contextmanager
def _gin_log() -> Iterator[list[str]]:
    """Gin's own log lines (root logger) kept off the terminal; the names of the imports it skipped collected.

    Gin reports a skipped import at INFO, so the root logger is lowered for the parse and every
    record below its usual level is dropped here.
    """
    import logging

    skipped: list[str] = []
    root = logging.getLogger()
    saved, usual = root.level, root.getEffectiveLevel()

    def keep(record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith("Skipping import of unknown module"):
            skipped.append(str(record.args[0]) if record.args else "?")  # type: ignore[index]
            return False
        return record.levelno >= usual and not message.startswith("Path not found")

    root.addFilter(keep)
    root.setLevel(min(usual, logging.INFO))
    try:
        yield skipped
    finally:
        root.setLevel(saved)
        root.removeFilter(keep)


def apply_gin(settings: RunSettings, files: list[str], params: list[str]) -> None:
    """Parse gin files and bindings and copy the ``RunSettings.*`` values into ``settings``."""
    import gin

    values, notes = parse_gin(files, params)
    _assign(settings, values)
    settings.warnings.extend(notes)
    settings.gin_text = gin.config_str()


def _one_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    where = next((line for line in lines[1:] if line.startswith("In ")), None)
    text = f"{text} ({where.removeprefix('In ')})" if where else text
    return re.sub(r"\s+", " ", text)


@contextmanager
def _include_search_path(paths: list[Path]) -> Iterator[None]:
    import gin
    from gin import config as gin_config

    prefixes: list[str] = gin_config._LOCATION_PREFIXES
    saved = list(prefixes)
    for path in paths:
        for folder in path.resolve().parents:
            if str(folder) not in prefixes:
                gin.add_config_file_search_path(str(folder))
    try:
        yield
    finally:
        prefixes[:] = saved


_REGISTERED = False


def _import_metric_configurables() -> None:
    """Import each metric's module so gin knows its configurables."""
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
