"""The command line: listings as tables and JSON, errors without tracebacks."""

from __future__ import annotations

import json

from click.testing import CliRunner

from a2perf_core import __version__
from a2perf_core.cli import main


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
    assert "a2perf-example-domain" in table and "register_domains" in table


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
