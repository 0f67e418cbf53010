"""The plugin manager facade: finds plugins once, builds the registry once, answers questions.

Core code asks ``get_plugins().registry.tasks`` and friends; it never calls ``pm.hook`` itself.
Plugins are found through entry points of group ``a2perf``; the core's own features are plugins
too, registered from :data:`BUILTIN_PLUGINS`.

Environment switches (read when plugins are first loaded):

``A2PERF_LOAD_PLUGINS``
    Comma-separated distribution names to load; empty means none but the built-ins. A name that is
    not an installed plugin is an error (with close matches).
``A2PERF_DISABLE_PLUGINS``
    Comma-separated distribution names to skip. A name that is not installed is accepted unless it
    is close to an installed plugin's name (a typo that would leave that plugin on): an error.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import pluggy

from a2perf_core import hookspecs
from a2perf_core.errors import PluginError
from a2perf_core.specs import DataAsset, ExecutorSpec, LoaderSpec, MetricSpec, Task

if TYPE_CHECKING:
    from pathlib import Path

    import click

    from a2perf_core.settings import RunSettings

ENTRY_POINT_GROUP = "a2perf"
BUILTIN_PLUGINS = ("a2perf_core.builtins",)
CORE_DISTRIBUTION = "a2perf-core"

#: registry section -> (hook name, spec class)
SECTIONS: dict[str, tuple[str, type]] = {
    "tasks": ("a2perf_register_tasks", Task),
    "data_assets": ("a2perf_register_data_assets", DataAsset),
    "metrics": ("a2perf_register_metrics", MetricSpec),
    "loaders": ("a2perf_register_submission_loaders", LoaderSpec),
    "executors": ("a2perf_register_executors", ExecutorSpec),
}
#: old hook name -> registry section it still feeds, for one release (with a DeprecationWarning)
DEPRECATED_HOOKS: dict[str, str] = {"a2perf_register_domains": "tasks"}


def canonical_name(name: str) -> str:
    """Distribution names compare as PEP 503 normalises them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _names_from_env(variable: str) -> set[str] | None:
    value = os.environ.get(variable)
    if value is None:
        return None
    return {canonical_name(n) for n in value.split(",") if n.strip()}


@attrs.frozen
class PluginInfo:
    """Who a plugin is: its pluggy name, distribution and version."""

    name: str
    distribution: str
    version: str


@attrs.frozen
class Registered:
    """A registered spec and the plugin that supplied it."""

    spec: Any
    plugin: PluginInfo


@attrs.define
class Registry:
    """Everything the installed plugins registered, keyed by id or name, with provenance."""

    tasks: dict[str, Registered] = attrs.Factory(dict)
    data_assets: dict[str, Registered] = attrs.Factory(dict)
    metrics: dict[str, Registered] = attrs.Factory(dict)
    loaders: dict[str, Registered] = attrs.Factory(dict)
    executors: dict[str, Registered] = attrs.Factory(dict)

    def add(self, section: str, spec: Any, plugin: PluginInfo) -> None:
        expected = SECTIONS[section][1]
        if not isinstance(spec, expected):
            raise PluginError(
                f"plugin {plugin.name!r} ({plugin.distribution}) registered {spec!r} "
                f"in {SECTIONS[section][0]}; expected a {expected.__name__}"
            )
        key = spec.id if section == "tasks" else spec.name
        table: dict[str, Registered] = getattr(self, section)
        if key in table:
            other = table[key].plugin
            raise PluginError(
                f"duplicate {section[:-1].replace('_', ' ')} {key!r}: registered by "
                f"{other.distribution} (plugin {other.name!r}) and by "
                f"{plugin.distribution} (plugin {plugin.name!r})"
            )
        table[key] = Registered(spec, plugin)

    def specs(self, section: str) -> list:
        return [r.spec for r in getattr(self, section).values()]


class Plugins:
    """A loaded set of plugins and the registry they built."""

    def __init__(self, pm: pluggy.PluginManager, infos: dict[str, PluginInfo]) -> None:
        self.pm = pm
        self._infos = infos
        self._registry: Registry | None = None

    @classmethod
    def from_objects(cls, plugins: Iterable[tuple[object, PluginInfo]], builtins: bool = True) -> Plugins:
        """A manager holding the given plugin objects (and the core built-ins unless told not to)."""
        pm = new_plugin_manager()
        infos: dict[str, PluginInfo] = {}
        chosen = list(_builtin_plugins()) if builtins else []
        for plugin, info in chosen + list(plugins):
            try:
                pm.register(plugin, name=info.name)
            except ValueError as exc:
                raise PluginError(f"plugin {info.name!r} ({info.distribution}) could not be registered: {exc}") from exc
            infos[info.name] = info
        _check_pending(pm, infos)
        return cls(pm, infos)

    @classmethod
    def discover(cls) -> Plugins:
        """Built-ins plus every installed ``a2perf`` entry point the environment switches allow."""
        return cls.from_objects(_entry_point_plugins())

    def info(self, plugin: object) -> PluginInfo:
        return self._infos[self.pm.get_name(plugin)]

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = self._build_registry()
        return self._registry

    def _build_registry(self) -> Registry:
        registry = Registry()
        hooks = [(hook_name, section) for section, (hook_name, _) in SECTIONS.items()]
        hooks += [(old_name, section) for old_name, section in DEPRECATED_HOOKS.items()]
        for hook_name, section in hooks:
            for impl in _in_registration_order(getattr(self.pm.hook, hook_name)):
                info = self._infos[impl.plugin_name]
                if hook_name in DEPRECATED_HOOKS:
                    new_name = SECTIONS[section][0]
                    warnings.warn(
                        f"plugin {info.name!r} ({info.distribution}) implements {hook_name}, which is renamed "
                        f"{new_name}; the old name stops working in the next release",
                        DeprecationWarning,
                        stacklevel=2,
                    )

                def register(spec: Any, section: str = section, info: PluginInfo = info) -> None:
                    registry.add(section, spec, info)

                _call(impl, info, register=register)
        return registry

    def add_commands(self, cli: click.Group, reserved: Iterable[str] = ()) -> list[str]:
        """Let every plugin add subcommands. A command named like one of ``reserved`` (the core's own,
        which the CLI adds lazily) is refused and reported in the returned one-line warnings;
        replacing a command already there is an error naming the plugin."""
        reserved = set(reserved)
        refused = []
        for impl in _in_registration_order(self.pm.hook.a2perf_register_commands):
            info = self._infos[impl.plugin_name]
            before = dict(cli.commands)
            try:
                _call(impl, info, cli=cli)
            except PluginError:
                cli.commands = before
                raise
            for name in [n for n in cli.commands if n in reserved and cli.commands[n] is not before.get(n)]:
                refused.append(
                    f"plugin {info.name!r} ({info.distribution}) defines the command {name!r}, "
                    "which is a core command; the plugin's command is ignored"
                )
                if name in before:
                    cli.commands[name] = before[name]
                else:
                    del cli.commands[name]
            for name, command in cli.commands.items():
                if name in before and before[name] is not command:
                    cli.commands = before
                    raise PluginError(f"plugin {info.name!r} ({info.distribution}) replaced the command {name!r}")
        return refused

    def plugin_table(self) -> list[dict[str, Any]]:
        """One row per plugin: distribution, version, hooks implemented, what it registered."""
        registry = self.registry
        rows = []
        for name, plugin in self.pm.list_name_plugin():
            info = self._infos[name]
            registered: dict[str, list[str]] = {}
            for section in SECTIONS:
                keys = [k for k, r in getattr(registry, section).items() if r.plugin.name == name]
                if keys:
                    registered[section] = keys
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
            rows.append(
                {
                    "name": name,
                    "distribution": info.distribution,
                    "version": info.version,
                    "hooks": hooks,
                    "registered": registered,
                }
            )
        return rows

    def configure_run(self, settings: RunSettings) -> None:
        """Let every plugin adjust a run's settings, once, in registration order (the last one wins).

        A plugin's exception is one error naming the plugin.
        """
        for impl in _in_registration_order(self.pm.hook.a2perf_configure_run):
            _call(impl, self._infos[impl.plugin_name], settings=settings)

    def runs_finished(self, run_dirs: Sequence[Path], out_dir: Path) -> list[str]:
        """Every plugin's ``a2perf_runs_finished``, in registration order: the lines they return, and
        a one-line warning for each that raised (the runs are over: nothing a plugin does afterwards
        may change their outcome)."""
        lines = []
        for impl in _in_registration_order(self.pm.hook.a2perf_runs_finished):
            info = self._infos[impl.plugin_name]
            available = {"run_dirs": list(run_dirs), "out_dir": out_dir}
            try:
                line = impl.function(**{name: available[name] for name in impl.argnames if name in available})
            except Exception as exc:
                lines.append(
                    f"warning: plugin {info.name!r} ({info.distribution}) failed after the runs: "
                    f"{type(exc).__name__}: {exc}"
                )
                continue
            if line:
                lines.append(str(line))
        return lines


def new_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def _in_registration_order(caller: pluggy.HookCaller) -> list:
    # pluggy calls the last registered first; registration is easier to reason about in order.
    return list(caller.get_hookimpls())


def _call(impl: Any, info: PluginInfo, **available: Any) -> None:
    kwargs = {name: available[name] for name in impl.argnames if name in available}
    try:
        impl.function(**kwargs)
    except PluginError:
        raise
    except Exception as exc:
        raise PluginError(
            f"plugin {info.name!r} ({info.distribution}) failed in {impl.function.__name__}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def _check_pending(pm: pluggy.PluginManager, infos: dict[str, PluginInfo]) -> None:
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        info = infos.get(pm.get_name(exc.plugin)) if exc.plugin is not None else None
        who = f"plugin {info.name!r} ({info.distribution})" if info else "a plugin"
        raise PluginError(f"{who} implements a hook that does not exist: {exc}") from exc


def _core_version() -> str:
    from a2perf_core import __version__

    return __version__


def _builtin_plugins() -> Iterable[tuple[object, PluginInfo]]:
    import importlib

    for module_name in BUILTIN_PLUGINS:
        module = importlib.import_module(module_name)
        yield module, PluginInfo(module_name, CORE_DISTRIBUTION, _core_version())


def _entry_point_plugins() -> Iterable[tuple[object, PluginInfo]]:
    from importlib.metadata import entry_points

    allowed = _names_from_env("A2PERF_LOAD_PLUGINS")
    disabled = _names_from_env("A2PERF_DISABLE_PLUGINS") or set()
    found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
    _check_switches(allowed, disabled, {canonical_name(ep.dist.name) for ep in found if ep.dist is not None})
    seen: dict[str, str] = {}
    for ep in found:
        dist_name = ep.dist.name if ep.dist is not None else "unknown"
        version = ep.dist.version if ep.dist is not None else "unknown"
        dist = canonical_name(dist_name)
        if (allowed is not None and dist not in allowed) or dist in disabled:
            continue
        if ep.name in seen and seen[ep.name] != dist:
            raise PluginError(
                f"entry point name {ep.name!r} is used by both {seen[ep.name]} and {dist}; "
                "entry point names must be unique"
            )
        if ep.name in seen:
            continue  # the same distribution seen twice on sys.path
        seen[ep.name] = dist
        try:
            plugin = ep.load()
        except Exception as exc:
            raise PluginError(
                f"plugin {ep.name!r} ({dist_name}) could not be imported from {ep.value!r}: "
                f"{type(exc).__name__}: {exc}. Reinstall it, or skip it with A2PERF_DISABLE_PLUGINS={dist_name}"
            ) from exc
        yield plugin, PluginInfo(ep.name, dist_name, version)


#: how close a name of A2PERF_DISABLE_PLUGINS must be to an installed plugin to count as its typo
TYPO_CUTOFF = 0.85


def _check_switches(allowed: set[str] | None, disabled: set[str], installed: set[str]) -> None:
    """A name in A2PERF_LOAD_PLUGINS must be an installed plugin distribution (or the core). A name
    in A2PERF_DISABLE_PLUGINS that is not installed is fine (there is nothing to skip) unless it is
    close to an installed one: then it is a typo that would leave that plugin on."""
    import difflib

    known = installed | {CORE_DISTRIBUTION}
    listing = ", ".join(sorted(installed)) or "none"
    for name in sorted((allowed or set()) - known):
        close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.75)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise PluginError(
            f"A2PERF_LOAD_PLUGINS names {name!r}, which is not an installed a2perf plugin{hint} (installed: {listing})"
        )
    for name in sorted(disabled - known):
        close = difflib.get_close_matches(name, sorted(installed), n=3, cutoff=TYPO_CUTOFF)
        if close:
            raise PluginError(
                f"A2PERF_DISABLE_PLUGINS names {name!r}, which is not installed; did you mean {', '.join(close)}?"
            )


_PLUGINS: Plugins | None = None


def get_plugins() -> Plugins:
    """The process-wide plugin set, discovered on first use."""
    global _PLUGINS
    if _PLUGINS is None:
        _PLUGINS = Plugins.discover()
    return _PLUGINS


def set_plugins(plugins: Plugins | None) -> Plugins | None:
    """Replace the process-wide plugin set (tests); ``None`` forces rediscovery. Returns the old one."""
    global _PLUGINS
    old, _PLUGINS = _PLUGINS, plugins
    return old


def registered(section: str) -> dict[str, Registered]:
    """Shortcut: ``registered("tasks")`` is ``get_plugins().registry.tasks``."""
    return getattr(get_plugins().registry, section)
