"""``a2perf run --isolate``: each submission's phases run in its own cached environment; requirements are
checked before anything starts, with and without it.

The slow tests make real environments with ``uv`` through the package index, in a cache folder of
their own; the two submissions need different major versions of ``tomli-w`` (0.4 and 1.x), a small
pure-Python package the core does not use.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from a2perf_core.cli import main
from a2perf_core.runner import isolate
from a2perf_core.runner.isolate import (
    ENV_CACHE_ENV,
    RequirementsError,
    environment_key,
    index_arguments,
    installed_distribution,
    pip_settings,
    unmet_requirements,
    uv_problem,
)

REPO = Path(__file__).resolve().parent.parent
TASK = "ExampleCorridor-v0"
EXAMPLE_DOMAIN = "a2perf-example-domain"

TRAIN_WRITES_VERSION = """
import importlib.metadata

import tomli_w

from a2perf_core import participant


def train():
    seen = {"version": importlib.metadata.version("tomli-w"), "dumps": tomli_w.dumps({"a": 1})}
    (participant.run_dir() / "tomli_w.txt").write_text(repr(seen))
"""


def submission(folder: Path, requirements: str) -> Path:
    """The bundled example with ``requirements`` and a train() that reports which tomli-w it imported."""
    shutil.copytree(REPO / "a2perf_core" / "examples" / "random_submission", folder)
    (folder / "requirements.txt").write_text(requirements)
    (folder / "train.py").write_text(TRAIN_WRITES_VERSION)
    return folder


def run(*args: str):
    return CliRunner().invoke(main, ["run", "--task", TASK, "--phase", "train", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def env_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One environment cache for this module's tests: a later test may find what an earlier one made."""
    return tmp_path_factory.mktemp("envs")


@pytest.fixture
def isolated(with_example_domain, env_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(ENV_CACHE_ENV, str(env_cache))
    return env_cache


# --- without uv ----------------------------------------------------------------------------------


def test_unmet_requirements_names_each_one_with_what_is_installed():
    import pytest as installed

    assert unmet_requirements([f"pytest=={installed.__version__}", "pytest>=1", "numpy>=1.24"]) == []
    assert unmet_requirements(["pytest<1", "a2perf-no-such-package>=2", "pytest; python_version < '3'"]) == [
        f"pytest<1 (installed: {installed.__version__})",
        "a2perf-no-such-package>=2 (not installed)",
    ]


def test_without_isolate_a_missing_requirement_is_one_line_before_the_run(with_example_domain, tmp_path):
    sub = submission(tmp_path / "sub", "numpy>=1.24\na2perf-no-such-package>=2\n")
    result = run(str(sub), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    error = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert error == [
        "error: the submission's requirements are not met in this environment: a2perf-no-such-package>=2 "
        f"(not installed); install them (pip install -r {sub / 'requirements.txt'}) or run with --isolate"
    ]
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()  # no phase started, no run directory made


def test_an_installed_package_submission_is_refused_with_isolate(isolated, tmp_path, monkeypatch):
    shutil.copytree(REPO / "a2perf_core" / "examples" / "random_submission", tmp_path / "pkgs" / "isolate_probe_sub")
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    result = run("isolate_probe_sub", "--isolate", "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    assert "error: --isolate runs submission folders; 'isolate_probe_sub' is imported from" in result.output
    assert not (tmp_path / "out").exists()


def test_pip_settings_become_uv_flags():
    settings = {
        "index-url": "https://mirror.example/simple",
        "extra-index-url": "https://a.example/simple https://b.example/simple",
        "find-links": "/wheels /more-wheels",
        "no-index": "true",
        "constraint": "/etc/constraints.txt",
    }
    assert index_arguments(["./wheelhouse"], settings) == [
        "--index-url",
        "https://mirror.example/simple",
        "--extra-index-url",
        "https://a.example/simple",
        "--extra-index-url",
        "https://b.example/simple",
        "--index-strategy",
        "unsafe-best-match",
        "--find-links",
        "./wheelhouse",
        "--find-links",
        "/wheels",
        "--find-links",
        "/more-wheels",
        "--no-index",
        "--constraint",
        "/etc/constraints.txt",
    ]
    assert index_arguments([], {}) == []


def test_pip_variables_win_over_pip_config(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PIP_INDEX_URL", "https://variable.example/simple")
    monkeypatch.setenv("PIP_FIND_LINKS", "/from-variable")
    settings = pip_settings()
    assert settings["index-url"] == "https://variable.example/simple"
    assert settings["find-links"] == "/from-variable"


def test_uv_errors_become_one_line_naming_the_requirement():
    missing = (
        "Using Python 3.11.7 environment at: /envs/x\n"
        "  × No solution found when resolving dependencies:\n"
        "  ╰─▶ Because tomli-w==99 was not found in the package registry and you require\n"
        "      tomli-w==99, we can conclude that your requirements are unsatisfiable.\n"
        "\n"
        "      hint: check the name\n"
    )
    assert uv_problem(missing, ["numpy>=1.24", "tomli_w==99"]) == (
        "requirement 'tomli_w==99' of the submission cannot be installed with --isolate: No solution found when "
        "resolving dependencies: Because tomli-w==99 was not found in the package registry and you require "
        "tomli-w==99, we can conclude that your requirements are unsatisfiable."
    )
    plain = "error: No solution found when resolving dependencies\n  cause: Because six==99 was not found.\n"
    assert uv_problem(plain, ["six==99"]) == (
        "requirement 'six==99' of the submission cannot be installed with --isolate: "
        "No solution found when resolving dependencies: Because six==99 was not found."
    )
    assert uv_problem("error: Failed to fetch: network down\n", ["six"]) == (
        "--isolate: the submission's environment cannot be made: Failed to fetch: network down"
    )


def test_the_key_follows_the_requirements_and_the_installed_code():
    core = installed_distribution("a2perf-core")
    assert core.install_args[-1] and core.version
    changed = isolate.InstalledDistribution(core.name, core.version, core.install_args, core.fingerprint + "x")
    key = environment_key(["tomli-w<1", "six"], [core])
    assert environment_key(["six", "tomli_w < 1"], [core]) == key
    assert environment_key(["tomli-w>=1", "six"], [core]) != key
    assert environment_key(["tomli-w<1", "six"], [changed]) != key


def test_an_editable_distributions_fingerprint_follows_its_source(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """A distribution installed editable from a folder: its fingerprint changes when a file of its package does."""
    source = tmp_path / "src"
    (source / "demo_pkg").mkdir(parents=True)
    (source / "demo_pkg" / "__init__.py").write_text("VALUE = 1\n")
    (source / "pyproject.toml").write_text("[project]\nname = 'demo-pkg'\nversion = '1.0'\n")
    info = tmp_path / "site" / "demo_pkg-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n")
    (info / "RECORD").write_text("")
    (info / "top_level.txt").write_text("demo_pkg\n")
    (info / "direct_url.json").write_text(json.dumps({"url": source.as_uri(), "dir_info": {"editable": True}}))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.syspath_prepend(str(source))
    before = installed_distribution("demo-pkg")
    assert before.install_args == ("-e", str(source))
    (source / "demo_pkg" / "__init__.py").write_text("VALUE = 2\n")
    assert installed_distribution("demo-pkg").fingerprint != before.fingerprint


# --- real environments ---------------------------------------------------------------------------


@pytest.mark.slow
def test_two_submissions_with_conflicting_requirements_each_run_in_their_own_environment(isolated, tmp_path):
    old = submission(tmp_path / "old", "tomli-w<1\n")
    new = submission(tmp_path / "new", "tomli-w>=1,<2\n")
    results = tmp_path / "results"
    records = {}
    for name, sub in (("old", old), ("new", new)):
        out = tmp_path / f"run-{name}"
        result = run(str(sub), "--isolate", "--out", str(out), "--results-root", str(results))
        assert result.exit_code == 0, result.output
        seen = eval((out / "tomli_w.txt").read_text())  # written by train() inside the environment
        assert seen["dumps"] == "a = 1\n"
        records[name] = json.loads((out / "run.json").read_text())
        environment = records[name]["environment"]
        assert environment["packages"]["tomli-w"] == seen["version"]
        assert records[name]["submission"]["package_versions"]["tomli-w"] == seen["version"]
        assert environment["reused"] is False
        assert {"a2perf-core", EXAMPLE_DOMAIN} <= set(environment["packages"])
        assert "pytest" not in environment["packages"]  # the harness's own packages stay outside
    assert records["old"]["environment"]["packages"]["tomli-w"].startswith("0.4.")
    assert records["new"]["environment"]["packages"]["tomli-w"].startswith("1.")
    assert records["old"]["environment"]["key"] != records["new"]["environment"]["key"]

    db = sqlite3.connect(results / "results.sqlite")
    stored = dict(db.execute("SELECT submission_reference, environment FROM runs"))
    assert {json.loads(v)["key"] for v in stored.values()} == {r["environment"]["key"] for r in records.values()}
    rows = db.execute("SELECT version FROM package_versions WHERE scope = 'environment' AND package = 'tomli-w'")
    assert sorted(v for (v,) in rows) == sorted(r["environment"]["packages"]["tomli-w"] for r in records.values())

    # a second run of each finds its environment in the cache: same key, same creation, uv never called
    def no_uv() -> str:
        raise AssertionError("uv was called for a cached environment")

    isolate.find_uv, saved = no_uv, isolate.find_uv
    try:
        out = tmp_path / "again-old"
        result = run(str(old), "--isolate", "--out", str(out), "--results-root", str(results))
        assert result.exit_code == 0, result.output
        again = json.loads((out / "run.json").read_text())["environment"]
        assert eval((out / "tomli_w.txt").read_text())["version"] == again["packages"]["tomli-w"]
        new_again = isolate.prepare_environment(["tomli-w>=1,<2"], ["a2perf-core", EXAMPLE_DOMAIN]).recorded()
    finally:
        isolate.find_uv = saved
    for name, warm in (("old", again), ("new", new_again)):
        first = records[name]["environment"]
        assert warm["reused"] is True
        assert (warm["key"], warm["created"], warm["packages"]) == (first["key"], first["created"], first["packages"])


@pytest.mark.slow
def test_a_requirement_that_does_not_exist_fails_before_training_in_one_line(isolated, tmp_path):
    sub = submission(tmp_path / "sub", "a2perf-no-such-package-anywhere\n")
    result = run(str(sub), "--isolate", "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    error = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "Traceback" not in result.output
    assert error[0].startswith(
        "error: requirement 'a2perf-no-such-package-anywhere' of the submission cannot be installed with --isolate: "
    )
    assert "not found" in error[0]
    assert not (tmp_path / "out").exists()  # no phase started
    assert not [p for p in isolated.iterdir() if p.is_dir() and not (p / isolate.ENVIRONMENT_RECORD).exists()]


@pytest.mark.slow
def test_a_requirement_that_conflicts_with_the_core_is_named(isolated, tmp_path):
    with pytest.raises(RequirementsError, match=r"^requirement 'numpy<1' of the submission .*numpy>=1\.24"):
        isolate.prepare_environment(["numpy<1"], ["a2perf-core"])
