"""Every plugin is its own distribution with a unique, prefixed entry point, README and tests."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_DIRS = sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").is_file())


def project(path: Path) -> dict:
    return tomllib.loads((path / "pyproject.toml").read_text())["project"]


def test_there_are_plugins():
    assert len(PLUGIN_DIRS) >= 8


@pytest.mark.parametrize("plugin_dir", PLUGIN_DIRS, ids=lambda p: p.name)
def test_plugin_layout(plugin_dir):
    meta = project(plugin_dir)
    assert meta["name"] == plugin_dir.name
    entry_points = meta["entry-points"]["a2perf"]
    assert list(entry_points) == [plugin_dir.name], "the entry point is named after the distribution"
    assert (plugin_dir / "README.md").is_file()
    assert list((plugin_dir / "tests").glob("test_*.py")), "every plugin has its own tests"
    assert any(dep.startswith("a2perf-core") for dep in meta["dependencies"])
    for dep in meta["dependencies"]:
        assert "==" not in dep, f"{dep}: pin lower bounds, not exact versions"


def test_entry_point_names_do_not_collide():
    names = [name for d in PLUGIN_DIRS for name in project(d)["entry-points"]["a2perf"]]
    assert len(names) == len(set(names))
    assert all(name.startswith("a2perf-") for name in names)


def test_test_file_names_are_unique_across_plugins():
    """Test modules are collected together; unique names keep reports unambiguous."""
    names = [p.name for p in ROOT.glob("plugins/*/tests/test_*.py")] + [p.name for p in ROOT.glob("tests/test_*.py")]
    assert len(names) == len(set(names))
