"""Submissions: what a participant hands in, checked before anything runs.

A submission is found by a loader (hook ``a2perf_register_submission_loaders``). The built-in
loaders take an A2Perf submission folder (``train.py``, ``inference.py``, ``requirements.txt``,
``__init__.py``) or an importable package holding ``train`` and ``inference`` modules. Validation
reads the source with :mod:`ast`, so a check never runs participant code.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from typing import Any

import attrs

from a2perf_core.errors import A2PerfError

#: function -> parameters it must accept (any one spelling of each)
REQUIRED_FUNCTIONS: dict[str, dict[str, list[tuple[str, ...]]]] = {
    "train": {"train": []},
    "inference": {
        "load_policy": [("env",)],
        "infer_once": [("policy",), ("observation", "preprocessed_observation", "obs")],
        "preprocess_observation": [("observation", "obs")],
    },
}


class SubmissionError(A2PerfError):
    """The submission is not usable; the message lists every problem found."""

    def __init__(self, reference: str, problems: list[str]) -> None:
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"submission {reference!r} is not valid:\n{listing}")


@attrs.frozen
class Submission:
    """A validated submission: where its code lives and how to import it."""

    reference: str
    loader: str
    #: working directory of the participant's processes
    root: Path
    #: directories prepended to ``sys.path`` in the participant's processes
    sys_path: tuple[str, ...]
    train_module: str
    inference_module: str
    requirements: tuple[str, ...] = ()


def _function_problems(source: str, filename: str, wanted: dict[str, list[tuple[str, ...]]]) -> list[str]:
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        return [f"{filename}: syntax error on line {exc.lineno}: {exc.msg}"]
    defined = {node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    problems = []
    for name, params in wanted.items():
        node = defined.get(name)
        if node is None:
            problems.append(f"{filename}: no top-level function {name}()")
            continue
        args = node.args
        positional = [a.arg for a in args.posonlyargs + args.args]
        names = set(positional) | {a.arg for a in args.kwonlyargs}
        for index, spellings in enumerate(params):
            accepted = any(s in names for s in spellings) or len(positional) > index or args.vararg is not None
            if not accepted:
                problems.append(
                    f"{filename}: {name}() must accept {' or '.join(spellings)!s} "
                    f"(it takes ({', '.join(positional) or 'nothing'}))"
                )
    return problems


def requirement_problems(text: str, filename: str = "requirements.txt") -> tuple[list[str], list[str]]:
    """(requirements, problems) of a requirements file; pip options and comments are allowed."""
    from packaging.requirements import InvalidRequirement, Requirement

    requirements, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#") or line.startswith("-"):
            continue
        try:
            requirements.append(str(Requirement(line)))
        except InvalidRequirement as exc:
            problems.append(f"{filename}, line {number}: {line!r} is not a valid requirement ({exc})")
    return requirements, problems


def _read_requirements(root: Path, problems: list[str]) -> list[str]:
    """The requirements of ``root/requirements.txt`` (if any); its problems are appended."""
    path = root / "requirements.txt"
    if not path.is_file():
        return []
    requirements, found = requirement_problems(path.read_text())
    problems += found
    return requirements


class FolderLoader:
    """An A2Perf submission folder."""

    name = "folder"

    def accepts(self, reference: str) -> bool:
        return Path(reference).is_dir()

    def load(self, reference: str) -> Submission:
        root = Path(reference).resolve()
        problems: list[str] = []
        for required in ("__init__.py", "requirements.txt", "train.py", "inference.py"):
            if not (root / required).is_file():
                problems.append(f"missing file {required}")
        requirements = _read_requirements(root, problems)
        for module, wanted in REQUIRED_FUNCTIONS.items():
            path = root / f"{module}.py"
            if path.is_file():
                problems += _function_problems(path.read_text(), path.name, wanted)
        if problems:
            raise SubmissionError(reference, problems)
        return Submission(
            reference=reference,
            loader=self.name,
            root=root,
            sys_path=(str(root), str(root.parent)),
            train_module="train",
            inference_module="inference",
            requirements=tuple(requirements),
        )


class ModuleLoader:
    """An importable package ``pkg`` with modules ``pkg.train`` and ``pkg.inference``."""

    name = "module"

    def accepts(self, reference: str) -> bool:
        if not reference.replace(".", "").replace("_", "").isalnum():
            return False
        try:
            return importlib.util.find_spec(reference) is not None
        except (ImportError, ValueError):
            return False

    def load(self, reference: str) -> Submission:
        spec = importlib.util.find_spec(reference)
        assert spec is not None
        locations = list(spec.submodule_search_locations or [])
        if not locations:
            problem = f"{reference} is a module, not a package with train and inference modules"
            raise SubmissionError(reference, [problem])
        root = Path(locations[0])
        problems: list[str] = []
        for module, wanted in REQUIRED_FUNCTIONS.items():
            path = root / f"{module}.py"
            if not path.is_file():
                problems.append(f"missing module {reference}.{module}")
                continue
            problems += _function_problems(path.read_text(), f"{reference}.{module}", wanted)
        requirements = _read_requirements(root, problems)
        if problems:
            raise SubmissionError(reference, problems)
        return Submission(
            reference=reference,
            loader=self.name,
            root=root,
            sys_path=(),
            train_module=f"{reference}.train",
            inference_module=f"{reference}.inference",
            requirements=tuple(requirements),
        )


def load_submission(reference: str) -> Submission:
    """Ask the registered loaders, highest priority first; the first that accepts loads it."""
    from a2perf_core.plugins import registered
    from a2perf_core.specs import load_object

    loaders = sorted(registered("loaders").values(), key=lambda r: -r.spec.priority)
    for reg in loaders:
        loader: Any = load_object(reg.spec.factory)()
        if loader.accepts(reference):
            return loader.load(reference)
    names = ", ".join(f"{r.spec.name} ({r.spec.description})" for r in loaders)
    raise SubmissionError(reference, [f"no submission loader accepts it; loaders tried: {names}"])
