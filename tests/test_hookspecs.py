"""Meta-tests: every hook is documented with its exact signature and exercised by a test."""

from __future__ import annotations

import inspect
import re
import types
from pathlib import Path

import pytest

from a2perf_core import hookspecs
from a2perf_core.hookspecs import hookimpl
from a2perf_core.plugins import PluginInfo
from a2perf_core.specs import ExecutorSpec, LoaderSpec

ROOT = Path(__file__).resolve().parent.parent
HOOKS = {name: fn for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("a2perf_")}


def signature_text(name: str) -> str:
    sig = inspect.signature(HOOKS[name])
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"def {name}({params}) -> {sig.return_annotation}"


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hook_is_documented_with_its_signature(name):
    doc = (ROOT / "docs" / "plugins.md").read_text()
    assert f"### {name}\n" in doc
    assert signature_text(name) in doc


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hook_has_a_test(name):
    tests = "".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    assert re.search(rf"def {name}\(", tests), f"no test implements {name}"


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hook_docstring_says_when_it_is_called(name):
    assert "Called" in (HOOKS[name].__doc__ or "")


class PrefixLoader:
    """Loads references of the form 'corridor:<path>' as the folder at <path>."""

    def accepts(self, reference):
        return reference.startswith("corridor:")

    def load(self, reference):
        from a2perf_core.runner.submission import FolderLoader

        return FolderLoader().load(reference.removeprefix("corridor:"))


def test_a_plugin_loader_takes_precedence_by_priority(a2perf_plugins, tmp_path):
    from a2perf_core.runner.cli import example_submission
    from a2perf_core.runner.submission import load_submission

    module = types.ModuleType("prefix_loader")

    @hookimpl
    def a2perf_register_submission_loaders(register):
        register(LoaderSpec(name="corridor", factory=f"{__name__}:PrefixLoader", priority=50))

    module.a2perf_register_submission_loaders = a2perf_register_submission_loaders
    a2perf_plugins((module, PluginInfo("prefix_loader", "dist-prefix", "0")))
    loaded = load_submission(f"corridor:{example_submission()}")
    assert loaded.root == example_submission() and loaded.loader == "folder"


def test_executors_are_registered_and_duplicates_rejected(a2perf_plugins):
    from a2perf_core.errors import PluginError

    module = types.ModuleType("second_local")

    @hookimpl
    def a2perf_register_executors(register):
        register(ExecutorSpec(name="local", factory="x.y:Z"))

    module.a2perf_register_executors = a2perf_register_executors
    plugins = a2perf_plugins((module, PluginInfo("second_local", "dist-second", "0")))
    with pytest.raises(PluginError, match="duplicate executor 'local'.*a2perf-core.*dist-second"):
        _ = plugins.registry


def test_configure_run_may_adjust_settings(a2perf_plugins, with_example_domain):
    from a2perf_core.runner.cli import build_settings

    module = types.ModuleType("fewer_episodes")

    @hookimpl
    def a2perf_configure_run(settings):
        settings.num_inference_episodes = 1
        if "phases" not in settings.explicit:
            settings.phases = ("inference",)

    module.a2perf_configure_run = a2perf_configure_run
    from a2perf_example_domain import plugin as example

    a2perf_plugins(example, (module, PluginInfo("fewer_episodes", "dist-fewer", "0")))
    common = dict(
        submission="s",
        task="ExampleCorridor-v0",
        seed=0,
        gin_files=(),
        gin_params=(),
        participant_args=(),
        timeout=None,
        max_memory=None,
    )
    assert build_settings(phase=None, **common).phases == ("inference",)
    explicit = build_settings(phase="train", **common)
    assert explicit.phases == ("train",) and explicit.num_inference_episodes == 1
