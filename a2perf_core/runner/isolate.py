"""A submission's own Python environment (``a2perf run --isolate``), and the check of its requirements without one.

With ``--isolate`` the participant's phase processes run in a virtual environment made with ``uv``
that holds the core, the task's plugin and the submission's requirements, and nothing else. The
harness and the metrics stay in the harness's environment; only the interpreter of the phase
processes changes (:func:`participant_interpreter`), so their containment is the same as without it.

Environments are cached in ``<user cache>/a2perf/envs/<key>`` (``A2PERF_ENV_CACHE`` overrides the
folder), keyed by a hash of the requirements, the Python interpreter and how the core and the task's
plugin are installed (version, where from, and a hash of their code), so a second run with the same
key reuses the environment without calling ``uv``. Index settings are the user's pip settings
(``PIP_INDEX_URL``, ``PIP_EXTRA_INDEX_URL``, ``PIP_FIND_LINKS``, ``PIP_NO_INDEX`` and ``pip config``),
translated to ``uv``'s flags, plus explicit ``--find-links``.
"""

from __future__ import annotations

import ast
import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import attrs

from a2perf_core.errors import A2PerfError

if TYPE_CHECKING:
    from a2perf_core.runner.submission import Submission
    from a2perf_core.settings import RunSettings

#: overrides the folder environments are cached in
ENV_CACHE_ENV = "A2PERF_ENV_CACHE"
#: written last into an environment's folder: an environment without it is unfinished
ENVIRONMENT_RECORD = "a2perf-environment.json"
#: names the plugin distributions a process loads (see :mod:`a2perf_core.plugins`)
LOAD_PLUGINS_ENV = "A2PERF_LOAD_PLUGINS"
#: seconds one ``uv`` call may take (a cold build of a large requirement set downloads a lot)
UV_TIMEOUT_S = 3600


class RequirementsError(A2PerfError):
    """A requirement of the submission cannot be met: not installed, or not installable in an isolated environment."""


@attrs.frozen
class Environment:
    """A finished isolated environment."""

    key: str
    folder: Path
    python_version: str
    created: str
    #: distribution name -> version of everything installed in it
    packages: Mapping[str, str]
    #: the import path its interpreter starts with (without ``PYTHONPATH``)
    sys_path: tuple[str, ...]
    #: the a2perf distributions installed from the harness's environment (the core and the task's plugin)
    distributions: tuple[str, ...] = ()
    #: whether this run found it in the cache
    reused: bool = False

    @property
    def python(self) -> str:
        return str(self.folder / "bin" / "python")

    def recorded(self) -> dict[str, Any]:
        """What ``run.json`` holds as ``environment``."""
        return {
            "key": self.key,
            "python": self.python_version,
            "created": self.created,
            "reused": self.reused,
            "packages": dict(self.packages),
        }

    def phase_environ(self) -> dict[str, str]:
        """Variables of the phase processes: they load only the plugins installed in the environment."""
        return {LOAD_PLUGINS_ENV: ",".join(self.distributions)}

    @classmethod
    def read(cls, folder: Path) -> Environment | None:
        """The environment in ``folder`` if it is finished, marked as reused."""
        try:
            data = json.loads((folder / ENVIRONMENT_RECORD).read_text())
            return cls(
                key=data["key"],
                folder=folder,
                python_version=data["python"],
                created=data["created"],
                packages=data["packages"],
                sys_path=tuple(data["sys_path"]),
                distributions=tuple(data["distributions"]),
                reused=True,
            )
        except (OSError, ValueError, KeyError, TypeError):  # unfinished, or written by another version
            return None


def environments_dir() -> Path:
    """Where isolated environments are cached: ``A2PERF_ENV_CACHE``, else the user cache's ``a2perf/envs``."""
    override = os.environ.get(ENV_CACHE_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("a2perf")) / "envs"


# --- the check without --isolate ---------------------------------------------------------------


def unmet_requirements(requirements: Sequence[str]) -> list[str]:
    """Each requirement the current environment does not meet, with what is installed instead."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement

    unmet = []
    for text in requirements:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            unmet.append(f"{text} (not installed)")
            continue
        if requirement.specifier and not requirement.specifier.contains(installed, prereleases=True):
            unmet.append(f"{text} (installed: {installed})")
    return unmet


def check_requirements_installed(requirements: Sequence[str], where: Path) -> None:
    """Before anything starts: every requirement is met here, else one line naming the unmet ones."""
    unmet = unmet_requirements(requirements)
    if unmet:
        raise RequirementsError(
            f"the submission's requirements are not met in this environment: {'; '.join(unmet)}; "
            f"install them (pip install -r {where / 'requirements.txt'}) or run with --isolate"
        )


# --- what goes into an environment -------------------------------------------------------------


@attrs.frozen
class InstalledDistribution:
    """A distribution of the harness's environment, as it is to be installed into an isolated one."""

    name: str
    version: str
    #: arguments of ``uv pip install`` that install the same code
    install_args: tuple[str, ...]
    #: changes whenever the installed code changes: version, origin and a hash of the code
    fingerprint: str


def installed_distribution(name: str) -> InstalledDistribution:
    """How ``name`` is installed here: editable from a folder, from a local folder or file, or from the index."""
    from importlib.metadata import distributions

    found = list(distributions(name=name))
    if not found:
        raise RequirementsError(f"--isolate: {name} is not installed in the harness's environment")
    # a source tree's bare ``*.egg-info`` (on the path when working in the checkout) was not installed
    installed = [d for d in found if d.read_text("RECORD") is not None]
    dist = (installed or found)[0]
    direct = json.loads(dist.read_text("direct_url.json") or "null") or {}
    url = direct.get("url", "")
    local = Path(unquote(urlparse(url).path)) if url.startswith("file:") else None
    code = hashlib.sha256()
    if local is not None and direct.get("dir_info", {}).get("editable"):
        args: tuple[str, ...] = ("-e", str(local))
        for folder in _top_level_folders(dist):
            _hash_tree(code, folder)
        for name_of_file in ("pyproject.toml", "setup.cfg", "setup.py"):
            if (local / name_of_file).is_file():
                code.update((local / name_of_file).read_bytes())
    else:
        args = (str(local),) if local is not None and local.exists() else (f"{dist.metadata['Name']}=={dist.version}",)
        code.update((dist.read_text("RECORD") or "").encode())  # the sha256 of every installed file
    fingerprint = f"{dist.version} {url} {code.hexdigest()}"
    return InstalledDistribution(dist.metadata["Name"], dist.version, args, fingerprint)


def _top_level_folders(dist: Any) -> list[Path]:
    """Where an editable distribution's top-level packages are imported from."""
    import importlib.util

    names = (dist.read_text("top_level.txt") or "").split()
    folders = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.submodule_search_locations:
            folders += [Path(p) for p in spec.submodule_search_locations]
        elif spec is not None and spec.origin:
            folders.append(Path(spec.origin))
    return folders


def _hash_tree(digest: Any, root: Path) -> None:
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    for path in files:
        if "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        digest.update(path.as_posix().encode() + b"\0")
        digest.update(path.read_bytes())


def python_facts() -> dict[str, str]:
    """The interpreter an environment is made from (part of its key)."""
    return {
        "implementation": platform.python_implementation(),
        "version": platform.python_version(),
        "abi": str(sysconfig.get_config_var("SOABI")),
        "machine": platform.machine(),
        "base": os.path.realpath(getattr(sys, "_base_executable", sys.executable)),
    }


def _one_spelling(text: str) -> str:
    """``Tomli_W >=1, <2`` and ``tomli-w<2,>=1`` are one requirement."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    requirement = Requirement(text)
    requirement.name = canonicalize_name(requirement.name)
    return str(requirement)


def environment_key(requirements: Sequence[str], distributions: Sequence[InstalledDistribution]) -> str:
    """The hash that names an environment: the same inputs give the same environment."""
    facts = {
        "requirements": sorted(_one_spelling(r) for r in requirements),
        "python": python_facts(),
        "installed": sorted(d.fingerprint for d in distributions),
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:20]


# --- index settings ----------------------------------------------------------------------------


def pip_settings() -> dict[str, str]:
    """The user's pip settings (``pip config list``: files, then ``PIP_*`` variables), option -> value."""
    values: dict[str, str] = {}
    command = [sys.executable, "-m", "pip"] if _has_pip() else [shutil.which("pip") or ""]
    if command[0]:
        try:
            listed = subprocess.run(
                [*command, "config", "list"], capture_output=True, text=True, timeout=60, check=False
            ).stdout
        except (OSError, subprocess.TimeoutExpired):
            listed = ""
        by_section: dict[str, dict[str, str]] = {}
        for line in listed.splitlines():
            key, sep, raw = line.partition("=")
            section, dot, option = key.rpartition(".")
            if not sep or not dot:
                continue
            try:
                by_section.setdefault(section, {})[option] = str(ast.literal_eval(raw))
            except (ValueError, SyntaxError):
                by_section.setdefault(section, {})[option] = raw.strip("'\"")
        for section in ("global", "install", ":env:"):  # pip's precedence, later wins
            values.update(by_section.get(section, {}))
    for option in ("index-url", "extra-index-url", "find-links", "no-index", "constraint"):
        variable = "PIP_" + option.upper().replace("-", "_")
        if os.environ.get(variable):
            values[option] = os.environ[variable]
    return values


def _has_pip() -> bool:
    import importlib.util

    return importlib.util.find_spec("pip") is not None


def index_arguments(find_links: Sequence[str] = (), settings: Mapping[str, str] | None = None) -> list[str]:
    """``uv pip install`` flags for the pip ``settings`` (default: the user's) and explicit ``find_links``."""
    settings = pip_settings() if settings is None else settings
    args: list[str] = []
    if settings.get("index-url"):
        args += ["--index-url", settings["index-url"]]
    extra = settings.get("extra-index-url", "").split()
    for url in extra:
        args += ["--extra-index-url", url]
    if extra:  # pip takes the best version from all indexes; uv by default only the first that has the package
        args += ["--index-strategy", "unsafe-best-match"]
    for location in [*find_links, *settings.get("find-links", "").split()]:
        args += ["--find-links", location]
    if settings.get("no-index", "").lower() in ("1", "true", "yes", "on"):
        args.append("--no-index")
    for constraint in settings.get("constraint", "").split():
        args += ["--constraint", constraint]
    return args


# --- making an environment ---------------------------------------------------------------------


def find_uv() -> str:
    """The ``uv`` binary: the ``uv`` package's, else one on ``PATH``."""
    try:
        import uv

        return uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found is None:
            raise RequirementsError("--isolate needs uv: pip install uv") from None
        return found


def uv_problem(stderr: str, requirements: Sequence[str]) -> str:
    """One line from ``uv``'s error output, naming the submission's requirements it is about."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    text = re.sub(r"\x1b\[[0-9;]*m", "", stderr)
    kept = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("hint:"):
            break
        if not line or line.startswith(("Using Python", "Using CPython", "Resolved", "Prepared", "Installed")):
            continue
        cause = re.match(r"^(╰─▶|cause:|Caused by:)\s*", line)
        if cause and kept and not kept[-1].endswith((":", ".")):
            kept[-1] += ":"  # uv's "error: X" then "cause: Y" reads "X: Y", as on a terminal
        kept.append(re.sub(r"^(error:|×|╰─▶|cause:|│|Caused by:)\s*", "", line))
    explanation = re.sub(r"\s+", " ", " ".join(kept)).strip() or "uv failed without a message"
    lowered = explanation.lower()
    named = [
        r
        for r in requirements
        if re.search(rf"(?<![\w.-]){re.escape(canonicalize_name(Requirement(r).name))}(?![\w-])", lowered)
    ]
    if named:
        which = ", ".join(repr(r) for r in named)
        return f"requirement {which} of the submission cannot be installed with --isolate: {explanation}"
    return f"--isolate: the submission's environment cannot be made: {explanation}"


def _uv(command: Sequence[str], requirements: Sequence[str]) -> str:
    environ = {**os.environ, "NO_COLOR": "1"}
    environ.pop("VIRTUAL_ENV", None)
    try:
        done = subprocess.run(
            list(command), capture_output=True, text=True, timeout=UV_TIMEOUT_S, env=environ, check=False
        )
    except subprocess.TimeoutExpired:
        raise RequirementsError(f"--isolate: uv did not finish within {UV_TIMEOUT_S} s") from None
    if done.returncode != 0:
        raise RequirementsError(uv_problem(done.stderr, requirements))
    return done.stdout


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One builder per environment at a time, across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prepare_environment(
    requirements: Sequence[str], distributions: Sequence[str], find_links: Sequence[str] = ()
) -> Environment:
    """The environment holding ``distributions`` (as installed here) and ``requirements``: from the cache,
    else made now. A requirement that cannot be installed is a one-line :class:`RequirementsError`."""
    installed = [installed_distribution(name) for name in dict.fromkeys(distributions)]
    key = environment_key(requirements, installed)
    folder = environments_dir() / key
    found = Environment.read(folder)
    if found is not None:
        return found
    with _locked(folder.with_name(f"{key}.lock")):
        found = Environment.read(folder)  # another process made it meanwhile
        if found is not None:
            return found
        shutil.rmtree(folder, ignore_errors=True)  # an unfinished attempt
        print(  # a cold build takes tens of seconds: say what is happening, and that it happens once
            f"--isolate: creating the submission's environment {key[:12]} with uv "
            f"({len(requirements)} requirement(s); cached for later runs) ...",
            file=sys.stderr,
            flush=True,
        )
        try:
            return _build(folder, key, requirements, installed, find_links)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise


def _build(
    folder: Path,
    key: str,
    requirements: Sequence[str],
    installed: Sequence[InstalledDistribution],
    find_links: Sequence[str],
) -> Environment:
    uv = find_uv()
    _uv([uv, "venv", "--quiet", "--python", sys.executable, str(folder)], requirements)
    python = str(folder / "bin" / "python")
    sources = [arg for d in installed for arg in d.install_args]
    _uv(
        [uv, "pip", "install", "--quiet", "--python", python, *index_arguments(find_links), *sources, *requirements],
        requirements,
    )
    listed = json.loads(_uv([uv, "pip", "list", "--format", "json", "--python", python], requirements))
    packages = {row["name"]: row["version"] for row in listed}
    without_pythonpath = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    sys_path = json.loads(
        subprocess.run(
            [python, "-c", "import json, sys; print(json.dumps(sys.path))"],
            capture_output=True,
            text=True,
            check=True,
            env=without_pythonpath,
        ).stdout
    )
    environment = Environment(
        key=key,
        folder=folder,
        python_version=platform.python_version(),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        packages=packages,
        sys_path=tuple(sys_path),
        distributions=tuple(d.name for d in installed),
    )
    from a2perf_core.runner.results import write_json

    record = {
        **environment.recorded(),
        "sys_path": list(sys_path),
        "distributions": list(environment.distributions),
        "requirements": list(requirements),
    }
    del record["reused"]
    write_json(folder / ENVIRONMENT_RECORD, record)
    return environment


def participant_environment(settings: RunSettings, submission: Submission) -> Environment | None:
    """Before anything starts: with ``settings.isolate`` the submission's environment (made or reused);
    without it, a check that the current environment meets the submission's requirements."""
    from a2perf_core.plugins import CORE_DISTRIBUTION, registered

    if not settings.isolate:
        check_requirements_installed(submission.requirements, submission.root)
        return None
    if not submission.sys_path:
        raise RequirementsError(
            f"--isolate runs submission folders; {submission.reference!r} is imported from the harness's "
            "environment, where the isolated one cannot see it"
        )
    task_distribution = registered("tasks")[settings.task_id].plugin.distribution
    return prepare_environment(submission.requirements, [CORE_DISTRIBUTION, task_distribution], settings.find_links)


# --- running in it -----------------------------------------------------------------------------


@contextmanager
def participant_interpreter(context: Any, python: str | None) -> Iterator[None]:
    """While a phase process is spawned: the environment's interpreter, and its import path.

    A spawned process replaces its ``sys.path`` with its parent's before it imports anything, so the
    parent's path is the environment's for the moment of the spawn. ``python`` None: the harness's own.
    """
    if python is None:
        yield
        return
    from multiprocessing import spawn

    environment = Environment.read(Path(python).parent.parent)
    if environment is None:
        raise RequirementsError(f"--isolate: {python} is not the interpreter of a finished a2perf environment")
    previous_executable, previous_path = spawn.get_executable(), sys.path
    context.set_executable(python)
    sys.path = list(environment.sys_path)
    try:
        yield
    finally:
        sys.path = previous_path
        context.set_executable(previous_executable)
