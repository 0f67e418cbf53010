"""Submissions: what a participant hands in, checked before anything runs.

A submission is found by a loader (hook ``a2perf_register_submission_loaders``). The built-in
loaders take an A2Perf submission folder (``train.py``, ``inference.py``, ``requirements.txt``,
``__init__.py``) or an importable package holding ``train`` and ``inference`` modules. Validation
reads the source with :mod:`ast`, so a check never runs participant code.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
from collections.abc import Iterable
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
    #: function name -> its signature as read from the source; ``None`` when only running the code
    #: would tell (e.g. ``infer_once = wrap(f)``, or a function from an installed package)
    signatures: dict[str, Signature | None] = attrs.field(factory=dict, eq=False)


@attrs.frozen
class Signature:
    """The parameters of a participant function as its source declares them."""

    #: positional-or-keyword parameters (positional-only ones first), in order
    positional: tuple[str, ...]
    #: how many of ``positional`` are positional-only
    positional_only: int
    keyword_only: tuple[str, ...]
    #: parameters without a default
    required: tuple[str, ...]
    var_positional: bool
    var_keyword: bool

    @classmethod
    def from_ast(cls, args: ast.arguments) -> Signature:
        positional = [a.arg for a in args.posonlyargs + args.args]
        without_default = positional[: len(positional) - len(args.defaults)]
        required_kw = [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None]
        return cls(
            positional=tuple(positional),
            positional_only=len(args.posonlyargs),
            keyword_only=tuple(a.arg for a in args.kwonlyargs),
            required=tuple(without_default + required_kw),
            var_positional=args.vararg is not None,
            var_keyword=args.kwarg is not None,
        )

    def takes_keyword(self, name: str) -> bool:
        """Whether ``name=value`` may be passed."""
        return self.var_keyword or name in self.positional[self.positional_only :] or name in self.keyword_only

    def required_beyond(self, given_positionally: int) -> list[str]:
        """Required parameters left over when the first ``given_positionally`` arguments are passed."""
        filled = set(self.positional[:given_positionally])
        return [name for name in self.required if name not in filled]

    def describe(self) -> str:
        return ", ".join(self.positional + self.keyword_only) or "nothing"


#: how many arguments the harness passes positionally to each function (the rest are keywords)
HARNESS_POSITIONAL = {"train": 0, "load_policy": 1, "infer_once": 2, "preprocess_observation": 1}
#: keyword parameters the harness may pass besides participant arguments
HARNESS_KEYWORDS = {"infer_once": ("policy", "preprocessed_observation"), "preprocess_observation": ("time_step_spec",)}
#: functions whose extra keyword parameters are filled from participant arguments
TAKES_PARTICIPANT_ARGS = ("train", "load_policy")
#: how many ``from x import f`` hops within the submission are followed
MAX_IMPORT_DEPTH = 8


@attrs.frozen
class _Binding:
    """What a module-level name resolves to: a function (its signature), something whose signature
    cannot be read without running code (``signature`` None), or a problem."""

    signature: Signature | None = None
    problem: str | None = None
    #: the file that defines the function
    where: str = ""


@attrs.frozen
class _SourceTree:
    """Where a submission's own modules live, to follow its imports without importing anything."""

    #: directories on the participant's ``sys.path`` (absolute imports are looked up there)
    import_roots: tuple[Path, ...]
    #: only files under this directory are the submission's own
    root: Path

    def module_file(self, importer: Path, module: str | None, level: int) -> Path | None:
        """The submission's file for ``from <level dots><module> import ...`` in ``importer``."""
        parts = module.split(".") if module else []
        if level:
            base = importer.parent
            for _ in range(level - 1):
                base = base.parent
            bases = [base]
        else:
            bases = list(self.import_roots)
        for base in bases:
            target = base.joinpath(*parts)
            for candidate in (target.with_suffix(".py") if parts else None, target / "__init__.py"):
                if candidate is not None and candidate.is_file() and candidate.resolve().is_relative_to(self.root):
                    return candidate
        return None


def _parse(path: Path, label: str) -> tuple[ast.Module | None, str | None]:
    try:
        return ast.parse(path.read_text(), filename=label), None
    except SyntaxError as exc:
        return None, f"{label}: syntax error on line {exc.lineno}: {exc.msg}"
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"{label}: cannot be read ({exc})"


def _top_level_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements run at import, including those inside top-level ``if``/``try``/``with`` blocks."""
    found: list[ast.stmt] = []
    for node in body:
        found.append(node)
        if isinstance(node, ast.If):
            found += _top_level_statements(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            found += _top_level_statements(node.body + node.orelse + node.finalbody)
            for handler in node.handlers:
                found += _top_level_statements(handler.body)
        elif isinstance(node, ast.With):
            found += _top_level_statements(node.body)
    return found


_NOT_CALLABLE = (
    ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.JoinedStr,
    ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp, ast.BinOp, ast.Compare,
)  # fmt: skip


def _value_binding(value: ast.expr, name: str, label: str, resolve: Any) -> _Binding:
    if isinstance(value, ast.Lambda):
        return _Binding(Signature.from_ast(value.args), where=label)
    if isinstance(value, ast.Name):
        return resolve(value.id)
    if isinstance(value, _NOT_CALLABLE):
        return _Binding(problem=f"{label}: {name} is bound to a {type(value).__name__.lower()}, not a function")
    return _Binding()  # a call (a decorator, functools.partial, ...) or an attribute: checked when it runs


def _resolve(name: str, path: Path, label: str, tree: _SourceTree, depth: int = 0) -> _Binding:
    """The last top-level binding of ``name`` in the file ``path``, following imports into the
    submission's own files."""
    module, problem = _parse(path, label)
    if module is None:
        return _Binding(problem=problem)
    binding: _Binding | None = None
    for node in _top_level_statements(module.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            binding = _Binding(Signature.from_ast(node.args), where=label)
        elif isinstance(node, ast.ClassDef) and node.name == name:
            binding = _Binding()
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                binding = _value_binding(
                    node.value, name, label, lambda other: _resolve_local(other, name, path, label, tree, depth)
                )
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if (alias.asname or alias.name.split(".")[0]) == name:
                    binding = _Binding(problem=f"{label}: {name} is bound to the module {alias.name}, not a function")
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*" or (alias.asname or alias.name) == name:
                    binding = _imported(node, alias.name if alias.name != "*" else name, label, path, tree, depth)
                    if alias.name == "*" and binding.problem and "no top-level" in binding.problem:
                        binding = None  # a star import that does not provide the name
    if binding is None:
        return _Binding(problem=f"{label}: no top-level function {name}()")
    return binding


def _resolve_local(other: str, name: str, path: Path, label: str, tree: _SourceTree, depth: int) -> _Binding:
    if other == name or depth >= MAX_IMPORT_DEPTH:
        return _Binding()
    return _resolve(other, path, label, tree, depth + 1)


def _imported(node: ast.ImportFrom, original: str, label: str, path: Path, tree: _SourceTree, depth: int) -> _Binding:
    source = tree.module_file(path, node.module, node.level)
    if source is None:
        return _Binding()  # an installed package (or a name not statically findable): checked when it runs
    if depth >= MAX_IMPORT_DEPTH:
        return _Binding()
    source_label = source.relative_to(tree.root).as_posix() if source.is_relative_to(tree.root) else str(source)
    if source.name == "__init__.py" and tree.module_file(source, original, 1) is not None:
        return _Binding(problem=f"{label}: {original} is imported as a module, not a function")
    return _resolve(original, source, source_label, tree, depth + 1)


def _signature_problems(function: str, signature: Signature, label: str, spellings: list[tuple[str, ...]]) -> list[str]:
    problems = []
    for index, names in enumerate(spellings):
        accepted = (
            any(n in signature.positional or n in signature.keyword_only for n in names)
            or len(signature.positional) > index
            or signature.var_positional
        )
        if not accepted:
            problems.append(
                f"{label}: {function}() must accept {' or '.join(names)!s} (it takes ({signature.describe()}))"
            )
    given = HARNESS_POSITIONAL[function]
    harness_keywords = HARNESS_KEYWORDS.get(function, ())
    extra = [n for n in signature.required_beyond(given) if n not in harness_keywords]
    if function in TAKES_PARTICIPANT_ARGS:
        extra = [n for n in extra if n in signature.positional[: signature.positional_only]]
        how = "positional-only, so no participant argument can fill it"
    else:
        how = "the harness never passes it"
    for name in extra:
        problems.append(f"{label}: {function}() requires the parameter {name!r}, {how}; give it a default")
    return problems


def _function_problems(
    path: Path, label: str, wanted: dict[str, list[tuple[str, ...]]], tree: _SourceTree
) -> tuple[list[str], dict[str, Signature | None]]:
    """Problems of the functions ``wanted`` from ``path``, and the signature of each one found."""
    module, problem = _parse(path, label)
    if module is None:
        return [problem or label], {}
    problems: list[str] = []
    signatures: dict[str, Signature | None] = {}
    for name, spellings in wanted.items():
        binding = _resolve(name, path, label, tree)
        if binding.problem:
            problems.append(binding.problem)
            continue
        signatures[name] = binding.signature
        if binding.signature is not None:
            problems += _signature_problems(name, binding.signature, binding.where or label, spellings)
    return problems, signatures


#: the participant function each phase calls with participant arguments
PHASE_FUNCTIONS = {"train": "train", "inference": "load_policy", "generalization": "load_policy"}


def check_participant_args(submission: Submission, names: Iterable[str], phases: Iterable[str] | None = None) -> None:
    """Before anything starts: every participant argument is a parameter ``train()`` or
    ``load_policy()`` takes (a misspelling would be ignored silently), and every parameter they
    require is given (``phases``: only the functions those phases call; default all)."""
    names = list(names)
    called = {PHASE_FUNCTIONS[p] for p in phases if p in PHASE_FUNCTIONS} if phases is not None else None
    takers = {f: s for f, s in submission.signatures.items() if f in TAKES_PARTICIPANT_ARGS}
    problems = []
    if all(f in takers for f in TAKES_PARTICIPANT_ARGS):
        readable = [s for s in takers.values() if s is not None]
        open_ended = len(readable) < len(takers) or any(s.var_keyword for s in readable)
        for name in names:
            if not open_ended and not any(s.takes_keyword(name) for s in readable):
                close = difflib.get_close_matches(name, [p for s in readable for p in s.positional + s.keyword_only])
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                accepted = "; ".join(f"{f}({s.describe()})" for f, s in takers.items() if s is not None)
                problems.append(
                    f"participant argument {name!r} is not a parameter of train() or load_policy(){hint}: {accepted}"
                )
    for function, signature in takers.items():
        if signature is None or (called is not None and function not in called):
            continue
        for name in signature.required_beyond(HARNESS_POSITIONAL[function]):
            if name not in names:
                problems.append(
                    f"{function}() requires {name!r}, which only a participant argument gives: "
                    f"--participant-arg {name}=VALUE (or give it a default)"
                )
    if problems:
        raise SubmissionError(submission.reference, problems)


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
        tree = _SourceTree(import_roots=(root, root.parent), root=root)
        signatures: dict[str, Signature | None] = {}
        for module, wanted in REQUIRED_FUNCTIONS.items():
            path = root / f"{module}.py"
            if path.is_file():
                found, signatures_found = _function_problems(path, path.name, wanted, tree)
                problems += found
                signatures.update(signatures_found)
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
            signatures=signatures,
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
        tree = _SourceTree(import_roots=(root.parent,), root=root.resolve())
        signatures: dict[str, Signature | None] = {}
        for module, wanted in REQUIRED_FUNCTIONS.items():
            path = root / f"{module}.py"
            if not path.is_file():
                problems.append(f"missing module {reference}.{module}")
                continue
            found, signatures_found = _function_problems(path, f"{reference}.{module}", wanted, tree)
            problems += found
            signatures.update(signatures_found)
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
            signatures=signatures,
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
