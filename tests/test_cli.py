"""The command line: listings as tables and JSON, errors without tracebacks."""

from __future__ import annotations

import json
import types

import pytest
from click.testing import CliRunner

from a2perf_core import __version__
from a2perf_core.cli import CORE_COMMANDS, main
from a2perf_core.hookspecs import hookimpl
from a2perf_core.plugins import PluginInfo


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and __version__ in result.output


def test_plugins_lists_builtins_and_installed(with_example_domain):
    rows = json.loads(invoke("plugins", "--json").output)
    by_dist = {r["distribution"]: r for r in rows}
    assert by_dist["a2perf-core"]["registered"]["executors"] == ["local"]
    assert by_dist["a2perf-example-domain"]["registered"] == {"tasks": ["ExampleCorridor-v0"]}
    table = invoke("plugins").output
    assert "a2perf-example-domain" in table and "register_tasks" in table


def test_tasks_table_and_json(with_example_domain):
    rows = json.loads(invoke("tasks", "--json").output)
    assert [(r["id"], r["domain"], r["data_present"]) for r in rows] == [("ExampleCorridor-v0", "example", True)]
    table = invoke("tasks", "--domain", "example").output
    assert "ExampleCorridor-v0" in table and "none needed" in table


def test_unknown_domain_is_a_clear_error(with_example_domain):
    result = invoke("tasks", "--domain", "nope")
    assert result.exit_code == 2
    assert "no tasks in domain 'nope'; installed domains: example" in result.output
    assert "Traceback" not in result.output


def test_uninstalled_plugin_tasks_disappear(with_example_domain, monkeypatch):
    monkeypatch.setenv("A2PERF_LOAD_PLUGINS", "")
    from a2perf_core.plugins import set_plugins

    set_plugins(None)
    assert json.loads(invoke("tasks", "--json").output) == []


def test_metrics_lists_wall_clock():
    rows = json.loads(invoke("metrics", "--json").output)
    wall = [r for r in rows if r["name"] == "wall_clock"]
    assert wall == [
        {
            "name": "wall_clock",
            "unit": "s",
            "direction": "lower",
            "distribution": "a2perf-core",
            "description": wall[0]["description"],
        }
    ]


def test_help_lists_core_commands():
    result = invoke("--help")
    for command in ("plugins", "tasks", "metrics", "data", "run", "validate", "init-submission"):
        assert command in result.output


def commands_plugin(*names: str) -> tuple[object, PluginInfo]:
    """A plugin adding a command per name; each prints 'plugin <name>'."""
    import click

    module = types.ModuleType("commands_plugin")

    @hookimpl
    def a2perf_register_commands(cli):
        for name in names:
            cli.add_command(click.Command(name, callback=lambda name=name: click.echo(f"plugin {name}")), name)

    module.a2perf_register_commands = a2perf_register_commands
    return module, PluginInfo("commands_plugin", "dist-commands", "0")


@pytest.mark.parametrize("lookup_first", ["hello", "--help", "tasks"])
def test_a_plugin_cannot_replace_a_core_command(a2perf_plugins, lookup_first):
    """Whatever is looked up first (a plugin command, the listing, the core command itself)."""
    a2perf_plugins(commands_plugin("tasks", "hello"))
    invoke(lookup_first)
    result = invoke("tasks", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout) == []
    assert invoke("hello").stdout == "plugin hello\n"


def test_a_refused_core_command_is_a_one_line_warning_naming_the_plugin(a2perf_plugins):
    a2perf_plugins(commands_plugin(*CORE_COMMANDS))
    result = invoke("--help")
    for name in CORE_COMMANDS:
        assert (
            f"warning: plugin 'commands_plugin' (dist-commands) defines the command {name!r}, which is a core "
            "command; the plugin's command is ignored"
        ) in result.stderr
    assert [r["name"] for r in json.loads(invoke("metrics", "--json").stdout)] == ["wall_clock"]


def test_plugin_commands_follow_the_plugin_set(a2perf_plugins):
    a2perf_plugins(commands_plugin("hello"))
    assert invoke("hello").stdout == "plugin hello\n"
    a2perf_plugins()
    assert invoke("hello").exit_code == 2  # no such command any more


def test_unknown_executor_is_a_one_line_error_with_the_known_names():
    result = invoke("run", "--executor", "rey")
    assert result.exit_code == 2
    assert result.output.strip() == "error: unknown executor 'rey'; known executors: local"
