"""The plugin API: one module, cheap to import, every name resolving; our plugins use only it."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from a2perf_core import api

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DOMAIN = ROOT / "docs" / "examples" / "a2perf-example-domain" / "src"
ENTRY_POINT_MODULES = sorted(ROOT.glob("plugins/*/src/*/plugin.py")) + [
    ROOT / "plugins" / "a2perf-compat" / "src" / "a2perf" / "compat_plugin.py"
]


@pytest.mark.parametrize("name", api.__all__)
def test_every_exported_name_resolves(name):
    assert getattr(api, name) is not None
    assert name in dir(api)


def test_the_table_and_all_agree():
    assert sorted(api.EXPORTS) == sorted(api.__all__)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Tsak'"):
        _ = api.Tsak


def test_names_are_the_core_objects():
    from a2perf_core.hookspecs import hookimpl
    from a2perf_core.settings import RunSettings
    from a2perf_core.specs import Task

    assert (api.hookimpl, api.Task, api.RunSettings) == (hookimpl, Task, RunSettings)


def test_importing_the_api_and_what_an_entry_point_needs_is_cheap(run_python):
    result = run_python(
        "import sys\n"
        "from a2perf_core.api import hookimpl, Task, DataAsset, MetricSpec, LoaderSpec, ExecutorSpec\n"
        "import json\n"
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))\n"
    )
    assert result.returncode == 0, result.stderr
    top_level = set(json.loads(result.stdout))
    assert not top_level & {"numpy", "gymnasium", "click", "rich", "gin", "psutil"}


def test_importing_the_api_module_imports_nothing_else_of_ours(run_python):
    result = run_python("import sys, a2perf_core.api\nprint(sorted(m for m in sys.modules if m.startswith('a2perf')))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['a2perf_core', 'a2perf_core.api']"


def a2perf_core_imports(path: Path) -> set[str]:
    """Every a2perf_core module a source file imports, at any depth (TYPE_CHECKING blocks included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("a2perf_core"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("a2perf_core"))
    return found


def test_the_example_domain_imports_nothing_of_the_core_but_the_api():
    imports = {p.name: a2perf_core_imports(p) for p in EXAMPLE_DOMAIN.rglob("*.py")}
    assert {name: found - {"a2perf_core.api"} for name, found in imports.items() if found - {"a2perf_core.api"}} == {}
    assert imports["plugin.py"] == {"a2perf_core.api"}


@pytest.mark.parametrize("path", ENTRY_POINT_MODULES, ids=lambda p: p.parent.name)
def test_our_entry_point_modules_import_the_core_only_through_the_api(path):
    tree = ast.parse(path.read_text())
    top = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module
        and node.module.startswith("a2perf_core")
        and node in tree.body + [n for s in tree.body if isinstance(s, ast.If) for n in s.body]
    }
    assert top == {"a2perf_core.api"}


def test_protocols_describe_the_builtins():
    from a2perf_core.runner.executor import LocalExecutor
    from a2perf_core.runner.submission import FolderLoader, ModuleLoader

    assert isinstance(LocalExecutor(), api.Executor)
    assert isinstance(FolderLoader(), api.SubmissionLoader) and isinstance(ModuleLoader(), api.SubmissionLoader)
    assert not isinstance(object(), api.Executor)
