"""Fixtures of the core's tests: the example third-party domain, installed the way a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_DOMAIN = REPO / "docs" / "examples" / "a2perf-example-domain"


@pytest.fixture(autouse=True)
def only_builtin_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The core's tests see the built-ins only, whatever else is installed (fixtures add more)."""
    from a2perf_core.plugins import set_plugins

    monkeypatch.setenv("A2PERF_LOAD_PLUGINS", "")
    old = set_plugins(None)
    yield
    set_plugins(old)


@pytest.fixture(scope="session")
def example_domain_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the example domain, pip-installed into it (a private site dir)."""
    target = tmp_path_factory.mktemp("example-site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(EXAMPLE_DOMAIN)],
        check=True,
    )
    return target


@pytest.fixture
def with_example_domain(example_domain_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The example domain is installed for this process and its children; plugins rediscovered."""
    from a2perf_core.plugins import set_plugins

    monkeypatch.syspath_prepend(str(example_domain_site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(example_domain_site), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("A2PERF_LOAD_PLUGINS", "a2perf-example-domain")
    old = set_plugins(None)
    yield example_domain_site
    set_plugins(old)


@pytest.fixture
def run_python():
    """Run code in a fresh interpreter (the plugin set and Gymnasium registry start empty)."""

    def run(code: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **(env_extra or {})}
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)

    return run
