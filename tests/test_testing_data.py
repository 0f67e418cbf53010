"""Tests that need data or a browser: found the way the core finds them, skipped with the fix when
missing, and failing instead of skipping in CI."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from a2perf_core.specs import DataAsset
from a2perf_core.testing_data import data_file

REPO = Path(__file__).resolve().parent.parent
ASSET = DataAsset(name="toy/netlist", path="toy/netlist.pb.txt", url="https://example.invalid/netlist.pb.txt")


@pytest.fixture
def empty_roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("A2PERF_DATA_PATH", str(tmp_path / "path"))
    monkeypatch.setenv("A2PERF_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CI", raising=False)
    return tmp_path


def test_an_asset_is_found_on_the_search_path_then_in_the_cache(empty_roots):
    cached = empty_roots / "cache" / "toy" / "netlist.pb.txt"
    cached.parent.mkdir(parents=True)
    cached.write_text("node {}\n")
    assert data_file(ASSET) == cached  # what `a2perf data fetch` writes is what the tests use
    on_path = empty_roots / "path" / "toy" / "netlist.pb.txt"
    on_path.parent.mkdir(parents=True)
    on_path.write_text("node {}\n")
    assert data_file(ASSET) == on_path


def test_a_missing_asset_skips_with_the_fetch_command(empty_roots):
    with pytest.raises(pytest.skip.Exception, match="run `a2perf data fetch toy/netlist`"):
        data_file(ASSET)


def test_a_missing_asset_fails_in_ci(empty_roots, monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="a2perf data fetch toy/netlist.*CI=true"):
        data_file(ASSET)


def run_pytest(test: str, env_extra: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """A plugin's test in a fresh pytest, from the repository root (its conftest files apply)."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(env_extra)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", "--rootdir", str(REPO), test]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=300)


needs = {
    name: pytest.mark.skipif(importlib.util.find_spec(module) is None, reason=f"needs {name} installed")
    for name, module in (
        ("a2perf-circuit-training", "a2perf_circuit_training"),
        ("a2perf-web-navigation", "a2perf_web_navigation"),
    )
}


@pytest.mark.slow
@needs["a2perf-circuit-training"]
@pytest.mark.parametrize(("ci", "outcome"), [("", "1 skipped"), ("true", "1 failed")])
def test_a_plugin_test_without_its_data_skips_or_fails_in_ci(tmp_path, ci, outcome):
    test = "plugins/a2perf-circuit-training/tests/test_circuit_training_parsing.py::test_toy_design_counts_and_canvas"
    empty = {"A2PERF_DATA_PATH": str(tmp_path / "none"), "A2PERF_CACHE_DIR": str(tmp_path / "cache"), "CI": ci}
    result = run_pytest(test, empty, tmp_path)
    assert outcome in result.stdout and (result.returncode != 0) == bool(ci), result.stdout + result.stderr
    assert "a2perf data fetch circuit-training/toy-macro-stdcell/netlist" in result.stdout


@pytest.mark.slow
@needs["a2perf-web-navigation"]
@pytest.mark.parametrize(("ci", "outcome"), [("", "1 skipped"), ("true", "1 error")])  # fails in its setup
def test_a_browser_test_without_chromium_skips_or_fails_in_ci(tmp_path, ci, outcome):
    test = "plugins/a2perf-web-navigation/tests/test_web_navigation_browser.py::test_placeholders_are_observed"
    result = run_pytest(test, {"A2PERF_CHROME": str(tmp_path / "no-chromium"), "CI": ci}, tmp_path)
    assert outcome in result.stdout and (result.returncode != 0) == bool(ci), result.stdout + result.stderr
    assert "apt-get install chromium chromium-driver" in result.stdout
