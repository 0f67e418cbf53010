"""Installing and uninstalling a plugin with pip, in a throwaway environment (never the running one)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

EXAMPLE_DOMAIN = Path(__file__).resolve().parent.parent / "docs" / "examples" / "a2perf-example-domain"

#: the example domain under a distribution name installed nowhere else, so that the running
#: environment's own copy (if any) cannot answer for it
COPY_DIST = "a2perf-example-domain-copy"


def example_domain_copy(where: Path) -> Path:
    """The example domain's source, renamed to ``COPY_DIST``."""
    copy = where / COPY_DIST
    shutil.copytree(EXAMPLE_DOMAIN, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    pyproject = copy / "pyproject.toml"
    text = pyproject.read_text()
    text = text.replace('name = "a2perf-example-domain"', f'name = "{COPY_DIST}"')
    text = text.replace(
        'a2perf-example-domain = "a2perf_example_domain.plugin"', f'{COPY_DIST} = "a2perf_example_domain.plugin"'
    )
    assert COPY_DIST in text.split("[project.entry-points.a2perf]")[1], "the example's pyproject changed shape"
    pyproject.write_text(text)
    return copy


def throwaway_environment(where: Path) -> Path:
    """A venv whose own site-packages comes first and which sees this environment's packages
    (the core and its dependencies) behind it; returns its interpreter."""
    venv.create(where, with_pip=False)
    python = where / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    own_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    parents = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *sys.path[1:]])
    lines = [f"import site; site.addsitedir({p!r})" for p in parents if p and Path(p).is_dir()]
    (Path(own_site) / "a2perf-test-parent.pth").write_text("\n".join(lines) + "\n")
    return python


@pytest.mark.slow
def test_uninstalling_a_plugin_removes_its_tasks(tmp_path: Path) -> None:
    python = throwaway_environment(tmp_path / "venv")
    source = example_domain_copy(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "A2PERF_LOAD_PLUGINS")}
    if any(d.name == "a2perf-example-domain" for d in importlib.metadata.distributions()):
        env["A2PERF_DISABLE_PLUGINS"] = "a2perf-example-domain"  # the original registers the same ids
    pip = [sys.executable, "-m", "pip", "--python", str(python), "-q", "--disable-pip-version-check"]

    def task_ids() -> list[str]:
        listed = subprocess.run(
            [str(python), "-m", "a2perf_core", "tasks", "--json"], capture_output=True, text=True, env=env, check=True
        )
        return [row["id"] for row in json.loads(listed.stdout) if row["id"].startswith("Example")]

    def installed_here() -> bool:
        code = f"import importlib.metadata as m; print(any(d.name == {COPY_DIST!r} for d in m.distributions()))"
        return (
            subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "True\n"
        )

    assert task_ids() == []
    wheels = tmp_path / "wheels"
    build = [sys.executable, "-m", "pip", "-q", "wheel", "--no-deps", "-w", str(wheels), str(source)]
    subprocess.run(build, check=True)
    subprocess.run([*pip, "install", "--no-deps", str(next(wheels.glob("*.whl")))], check=True, env=env)
    assert task_ids() == ["ExampleCorridor-v0"]
    subprocess.run([*pip, "uninstall", "-y", COPY_DIST], check=True, env=env)
    assert task_ids() == []
    assert not installed_here()
