"""Plugin discovery, the registry and its errors."""

from __future__ import annotations

import types

import pytest

from a2perf_core.errors import PluginError
from a2perf_core.hookspecs import hookimpl
from a2perf_core.plugins import PluginInfo, Plugins, _entry_point_plugins
from a2perf_core.specs import DataAsset, MetricSpec, Task


def domain_plugin(name: str, *task_ids: str) -> tuple[object, PluginInfo]:
    module = types.ModuleType(name)

    @hookimpl
    def a2perf_register_tasks(register):
        for task_id in task_ids:
            register(Task(id=task_id, entry_point="pkg.mod:Env", domain=name))

    module.a2perf_register_tasks = a2perf_register_tasks
    return module, PluginInfo(name, f"dist-{name}", "1.0")


def old_name_plugin(name: str, *task_ids: str) -> tuple[object, PluginInfo]:
    """A plugin written against the hook's old name."""
    module = types.ModuleType(name)

    @hookimpl
    def a2perf_register_domains(register):
        for task_id in task_ids:
            register(Task(id=task_id, entry_point="pkg.mod:Env", domain=name))

    module.a2perf_register_domains = a2perf_register_domains
    return module, PluginInfo(name, f"dist-{name}", "1.0")


def test_old_hook_name_still_registers_tasks_with_a_deprecation_warning(a2perf_plugins):
    plugins = a2perf_plugins(old_name_plugin("legacy", "Legacy-v0"), domain_plugin("modern", "Modern-v0"))
    with pytest.warns(DeprecationWarning, match="plugin 'legacy' \\(dist-legacy\\) implements a2perf_register_domains"):
        tasks = plugins.registry.tasks
    assert sorted(tasks) == ["Legacy-v0", "Modern-v0"]
    assert tasks["Legacy-v0"].plugin.distribution == "dist-legacy"


def test_new_hook_name_gives_no_warning(a2perf_plugins):
    import warnings

    plugins = a2perf_plugins(domain_plugin("modern", "Modern-v0"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert list(plugins.registry.tasks) == ["Modern-v0"]


def test_a_duplicate_across_old_and_new_hook_names_is_still_an_error(a2perf_plugins):
    plugins = a2perf_plugins(old_name_plugin("legacy", "Same-v0"), domain_plugin("modern", "Same-v0"))
    with pytest.warns(DeprecationWarning), pytest.raises(PluginError, match="dist-modern.*dist-legacy"):
        _ = plugins.registry


def test_registry_records_which_distribution_supplied_each_task(a2perf_plugins):
    plugins = a2perf_plugins(domain_plugin("alpha", "Alpha-A-v0", "Alpha-B-v0"), domain_plugin("beta", "Beta-v1"))
    tasks = plugins.registry.tasks
    assert sorted(tasks) == ["Alpha-A-v0", "Alpha-B-v0", "Beta-v1"]
    assert tasks["Beta-v1"].plugin.distribution == "dist-beta"
    assert tasks["Alpha-A-v0"].plugin.distribution == "dist-alpha"


def test_builtins_are_plugins_too(a2perf_plugins):
    plugins = a2perf_plugins()
    assert set(plugins.registry.loaders) == {"folder", "module"}
    assert set(plugins.registry.executors) == {"local"}
    assert plugins.registry.metrics["wall_clock"].plugin.distribution == "a2perf-core"


def test_duplicate_id_names_both_distributions(a2perf_plugins):
    plugins = a2perf_plugins(domain_plugin("alpha", "Same-v0"), domain_plugin("beta", "Same-v0"))
    with pytest.raises(PluginError) as excinfo:
        _ = plugins.registry
    message = str(excinfo.value)
    assert "Same-v0" in message and "dist-alpha" in message and "dist-beta" in message


def test_misspelled_hook_fails_naming_the_plugin(a2perf_plugins):
    module = types.ModuleType("typo")

    @hookimpl
    def a2perf_register_domain(register):  # missing the final "s"
        pass

    module.a2perf_register_domain = a2perf_register_domain
    with pytest.raises(PluginError) as excinfo:
        a2perf_plugins((module, PluginInfo("typo", "dist-typo", "0.1")))
    assert "dist-typo" in str(excinfo.value) and "a2perf_register_domain" in str(excinfo.value)


def test_wrong_spec_type_is_rejected(a2perf_plugins):
    module = types.ModuleType("wrong")

    @hookimpl
    def a2perf_register_metrics(register):
        register(Task(id="Oops-v0", entry_point="a:b", domain="x"))

    module.a2perf_register_metrics = a2perf_register_metrics
    plugins = a2perf_plugins((module, PluginInfo("wrong", "dist-wrong", "0")))
    with pytest.raises(PluginError, match="dist-wrong.*expected a MetricSpec"):
        _ = plugins.registry


def test_exception_inside_a_hook_names_the_plugin(a2perf_plugins):
    module = types.ModuleType("broken")

    @hookimpl
    def a2perf_register_data_assets(register):
        register(DataAsset(name="x", path="/absolute/not/allowed"))

    module.a2perf_register_data_assets = a2perf_register_data_assets
    plugins = a2perf_plugins((module, PluginInfo("broken", "dist-broken", "0")))
    with pytest.raises(PluginError, match="dist-broken.*must be relative"):
        _ = plugins.registry


def test_hook_implementations_may_omit_arguments(a2perf_plugins):
    """A plugin that names fewer arguments than the spec keeps working (arguments may be added)."""
    module = types.ModuleType("minimal")
    calls = []

    @hookimpl
    def a2perf_register_commands():
        calls.append(True)

    module.a2perf_register_commands = a2perf_register_commands
    import click

    plugins = a2perf_plugins((module, PluginInfo("minimal", "dist-minimal", "0")))
    plugins.add_commands(click.Group())
    assert calls == [True]


def test_plugin_replacing_a_command_is_an_error(a2perf_plugins):
    import click

    module = types.ModuleType("clash")

    @hookimpl
    def a2perf_register_commands(cli):
        cli.add_command(click.Command("tasks"), "tasks")

    module.a2perf_register_commands = a2perf_register_commands
    group = click.Group(commands={"tasks": click.Command("tasks")})
    plugins = a2perf_plugins((module, PluginInfo("clash", "dist-clash", "0")))
    with pytest.raises(PluginError, match="dist-clash.*replaced the command 'tasks'"):
        plugins.add_commands(group)


def test_plugin_table_lists_hooks_and_registrations(a2perf_plugins):
    plugins = a2perf_plugins(domain_plugin("alpha", "Alpha-A-v0"))
    rows = {r["name"]: r for r in plugins.plugin_table()}
    assert rows["alpha"]["hooks"] == ["a2perf_register_tasks"]
    assert rows["alpha"]["registered"] == {"tasks": ["Alpha-A-v0"]}
    assert rows["a2perf_core.builtins"]["distribution"] == "a2perf-core"


def test_specs_validate_at_the_boundary():
    with pytest.raises(ValueError, match="Name-vN"):
        Task(id="NoVersion", entry_point="a:b", domain="d")
    with pytest.raises(ValueError, match="package.module:callable"):
        Task(id="Ok-v0", entry_point="not an entry point", domain="d")
    with pytest.raises(ValueError, match="unknown phases"):
        Task(id="Ok-v0", entry_point="a:b", domain="d", gin_files={"training": "x.gin"})
    with pytest.raises(ValueError):
        MetricSpec(name="m", factory="a:b", direction="sideways")


class TestEntryPointSwitches:
    def test_example_domain_is_discovered(self, with_example_domain):
        names = [info.distribution for _, info in _entry_point_plugins()]
        assert names == ["a2perf-example-domain"]

    def test_empty_load_list_loads_none(self, with_example_domain, monkeypatch):
        monkeypatch.setenv("A2PERF_LOAD_PLUGINS", "")
        assert list(_entry_point_plugins()) == []

    def test_disable_list_skips_a_distribution(self, with_example_domain, monkeypatch):
        monkeypatch.setenv("A2PERF_DISABLE_PLUGINS", "A2Perf_Example.Domain")  # normalised like PEP 503
        assert list(_entry_point_plugins()) == []

    @pytest.mark.parametrize(
        ("variable", "value", "message"),
        [
            (
                "A2PERF_LOAD_PLUGINS",
                "a2perf-exmple-domain",
                "A2PERF_LOAD_PLUGINS names 'a2perf-exmple-domain', which is not an installed a2perf plugin; "
                "did you mean a2perf-example-domain",
            ),
            (
                "A2PERF_LOAD_PLUGINS",
                "a2perf-example-domain,nothing-like-it",
                "A2PERF_LOAD_PLUGINS names 'nothing-like-it', which is not an installed a2perf plugin (installed: ",
            ),
            (
                "A2PERF_DISABLE_PLUGINS",
                "a2perf-example-domian",
                "A2PERF_DISABLE_PLUGINS names 'a2perf-example-domian', which is not installed; "
                "did you mean a2perf-example-domain?",
            ),
        ],
    )
    def test_a_misspelled_distribution_is_a_one_line_error(
        self, with_example_domain, monkeypatch, variable, value, message
    ):
        monkeypatch.setenv(variable, value)
        with pytest.raises(PluginError) as excinfo:
            list(_entry_point_plugins())
        assert str(excinfo.value).startswith(message) and "\n" not in str(excinfo.value)
        assert "a2perf-example-domain" in str(excinfo.value)  # what is installed, or the close match

    def test_disabling_a_plugin_that_is_not_installed_is_fine(self, with_example_domain, monkeypatch):
        monkeypatch.setenv("A2PERF_DISABLE_PLUGINS", "a2perf-energy")
        assert [info.distribution for _, info in _entry_point_plugins()] == ["a2perf-example-domain"]

    @pytest.mark.parametrize("command", [["tasks"], ["run", "--phase", "inference", "--out", "run"]])
    def test_a_misspelled_name_stops_the_cli_before_anything_runs(self, with_example_domain, tmp_path, command):
        import os
        import subprocess
        import sys

        env = {**os.environ, "A2PERF_LOAD_PLUGINS": "a2perf-example-domian"}
        result = subprocess.run(
            [sys.executable, "-m", "a2perf_core", *command],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert result.returncode == 2
        [line] = result.stderr.splitlines()
        assert line.startswith(
            "error: A2PERF_LOAD_PLUGINS names 'a2perf-example-domian', which is not an installed a2perf plugin; "
            "did you mean a2perf-example-domain"
        )
        assert not (tmp_path / "run").exists()

    def test_discovered_plugins_include_builtins(self, with_example_domain):
        plugins = Plugins.discover()
        assert "ExampleCorridor-v0" in plugins.registry.tasks
        assert plugins.registry.tasks["ExampleCorridor-v0"].plugin.distribution == "a2perf-example-domain"
        assert "folder" in plugins.registry.loaders


def test_example_domain_passes_its_own_tests(example_domain_site):
    """A third-party domain is tested the way ours are: its own suite, with only it installed."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    tests = Path(__file__).resolve().parent.parent / "docs" / "examples" / "a2perf-example-domain" / "tests"
    env = {**os.environ, "PYTHONPATH": str(example_domain_site), "A2PERF_LOAD_PLUGINS": "a2perf-example-domain"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tests.parent,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert "2 passed" in result.stdout
