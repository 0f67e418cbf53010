"""Sessions: ``tests`` (everything, what CI runs), ``lint``, one per plugin, and ``bench``."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent
PLUGINS = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").is_file())
BROWSER_PACKAGES = ("chromium", "chromium-driver")


def local_requirements(plugin: str) -> list[str]:
    """The plugins of this repository that ``plugin`` requires (e.g. a2perf-report needs
    a2perf-reliability): installed from here, never looked up on the package index."""
    text = (ROOT / "plugins" / plugin / "pyproject.toml").read_text()
    return [name for name in PLUGINS if name != plugin and re.search(rf'"{re.escape(name)}\s*(>=|==|~=|\[|")', text)]


def install_core_and(session: nox.Session, plugins: list[str]) -> None:
    plugins = list(dict.fromkeys([*plugins, *(dep for name in plugins for dep in local_requirements(name))]))
    editable = [arg for name in plugins for arg in ("-e", f"plugins/{name}")]
    session.install("-e", ".[test]", *editable)


def ensure_browser(session: nox.Session) -> None:
    """The web navigation tests drive a real Chromium: install Debian's when missing and allowed."""
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        session.log("installing Chromium and chromedriver from Debian's packages")
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        session.run("apt-get", "update", "-qq", external=True, env=env)
        session.run("apt-get", "install", "-y", "-qq", *BROWSER_PACKAGES, external=True, env=env)
        return
    session.warn(
        f"no Chromium found: install the Debian packages {' '.join(BROWSER_PACKAGES)} "
        "(or set A2PERF_CHROME / A2PERF_CHROMEDRIVER); browser tests will be skipped (and fail in CI)"
    )


def ensure_bubblewrap(session: nox.Session) -> None:
    """The --untrusted sandbox tests run the policy under bubblewrap: install Debian's when missing and allowed."""
    if shutil.which("bwrap"):
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        session.log("installing bubblewrap from Debian's packages")
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        session.run("apt-get", "update", "-qq", external=True, env=env)
        session.run("apt-get", "install", "-y", "-qq", "bubblewrap", external=True, env=env)
        return
    session.warn("no bwrap found: install the Debian package bubblewrap; sandbox tests will be skipped")


#: the learning baselines' stack (``baselines/sb3*``): torch's CPU wheel, then stable-baselines3 and sb3-contrib
TORCH_CPU = "torch==2.13.0+cpu"
SB3 = ("stable-baselines3>=2.4,<3", "sb3-contrib>=2.4,<3")


def install_cpu_torch_and_sb3(session: nox.Session) -> None:
    """torch's CPU build, never a CUDA one: from the wheel directory in ``PIP_FIND_LINKS`` when set,
    else through uv's CPU backend; then stable-baselines3 and sb3-contrib on top of it."""
    find_links = os.environ.get("PIP_FIND_LINKS")
    if find_links:
        session.install("--find-links", find_links, TORCH_CPU)
    elif session.venv_backend == "uv":
        session.install("--torch-backend", "cpu", TORCH_CPU)
    else:
        session.error("torch's CPU wheel: set PIP_FIND_LINKS to a directory holding it, or install uv")
    session.install(*SB3)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite, slow end-to-end tests included, with every plugin installed."""
    ensure_browser(session)
    ensure_bubblewrap(session)
    install_cpu_torch_and_sb3(session)
    install_core_and(session, PLUGINS)
    session.install("docs/examples/a2perf-example-domain")  # a third-party plugin, installed as a user would
    session.run("pytest", "--runslow", "-p", "no:cacheprovider", "--durations=15", *session.posargs)


#: the datasets an offline sweep (``baselines/sweeps/<domain>_bc.toml``) declares, each collected with
#: ``a2perf data collect`` before that sweep when it is not in Minari's dataset root yet
BC_DATASETS: dict[str, list[dict[str, str]]] = {
    "circuit_training": [
        {
            "task": "CircuitTraining-Synthetic-v0",
            "policy": "baselines/circuit_greedy",
            "skill": "expert",
            "episodes": "5",
        }
    ],
    "quadruped_locomotion": [
        {
            "task": "QuadrupedLocomotion-DogPace-v1",
            "policy": "baselines/quadruped_pretrained",
            "skill": "expert",
            "episodes": "10",
        }
    ],
    "web_navigation": [
        {
            "task": "WebNavigation-Difficulty-01-v1",
            "policy": "baselines/web_rule_based",
            "skill": "expert",
            "episodes": "200",
        }
    ],
}


def collect_missing_datasets(session: nox.Session, domain: str) -> None:
    """Collect each of ``domain``'s offline datasets that is not there yet (collect never overwrites)."""
    listed = session.run("python", "-c", "import minari; print(*minari.list_local_datasets(), sep='\\n')", silent=True)
    for dataset in BC_DATASETS.get(domain, []):
        dataset_id = f"a2perf/{dataset['task']}/{dataset['skill']}-v0"
        if dataset_id in str(listed).split():
            session.log(f"dataset {dataset_id} is there: not collected again")
            continue
        options = [f"--{key}={value}" for key, value in dataset.items()]
        session.run("a2perf", "data", "collect", *options)


@nox.session
def baselines(session: nox.Session) -> None:
    """docs/baselines/<domain>/report.md: every baseline swept over its domain's task and seeds at the
    budget its spec (``baselines/sweeps/<domain>.toml``) documents, then one report per domain. Hours on
    2 cores; ``nox -s baselines -- circuit_training`` runs one domain. A rerun resumes the sweeps. A
    domain's offline sweep (``<domain>_bc.toml``: behaviour cloning from collected datasets) joins its
    report."""
    ensure_browser(session)
    install_cpu_torch_and_sb3(session)
    install_core_and(session, PLUGINS)
    specs = sorted(p for p in (ROOT / "baselines" / "sweeps").glob("*.toml") if not p.stem.endswith("_bc"))
    chosen = [p for p in specs if not session.posargs or p.stem in session.posargs]
    if not chosen:
        session.error(f"no baseline sweep named {' '.join(session.posargs)}; known: {' '.join(p.stem for p in specs)}")
    for spec in chosen:
        outs = [ROOT / "a2perf-runs" / "baselines" / spec.stem]
        session.run("a2perf", "sweep", str(spec), "--out", str(outs[0]))
        offline = spec.with_name(f"{spec.stem}_bc.toml")
        if offline.is_file():
            collect_missing_datasets(session, spec.stem)
            outs.append(ROOT / "a2perf-runs" / "baselines" / offline.stem)
            session.run("a2perf", "sweep", str(offline), "--out", str(outs[-1]))
        report = ROOT / "docs" / "baselines" / spec.stem
        session.run("a2perf", "report", *map(str, outs), "--format", "markdown", "--out", str(report))


@nox.session
@nox.parametrize("plugin", PLUGINS)
def plugin(session: nox.Session, plugin: str) -> None:
    """One plugin's own tests, with only the core and that plugin installed."""
    if plugin == "a2perf-web-navigation":
        ensure_browser(session)
    install_core_and(session, [plugin])
    session.run("pytest", "--runslow", "-p", "no:cacheprovider", f"plugins/{plugin}", *session.posargs)


#: one ruff for CI and everyone's machine: a newer ruff may format differently
RUFF = "ruff==0.17.6"


@nox.session
def lint(session: nox.Session) -> None:
    """ruff's lint rules and its formatter, both as checks (``ruff format .`` fixes the second)."""
    session.install(RUFF)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: each prints its measurements next to a baseline measured in the same run."""
    ensure_browser(session)
    install_core_and(session, PLUGINS)
    session.install("docs/examples/a2perf-example-domain")  # benchmarks/harness.py runs its cheap task
    scripts = session.posargs or sorted(str(p) for p in (ROOT / "benchmarks").glob("*.py"))
    for script in scripts:
        session.run("python", script)
